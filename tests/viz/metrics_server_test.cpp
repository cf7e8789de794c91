#include "viz/metrics_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace seekforge::viz {
namespace {

using nlohmann::json;

struct Reply {
  int status = 0;
  std::string body;
};

// One HTTP/1.0 GET on 127.0.0.1:port, read to the end (the server closes after replying).
Reply get(int port, const std::string& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Reply r;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    ADD_FAILURE() << "cannot connect to port " << port;
    return r;
  }
  const std::string req = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  EXPECT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, n);
  ::close(fd);
  const size_t sp = raw.find(' ');
  if (sp != std::string::npos) r.status = std::atoi(raw.c_str() + sp + 1);
  const size_t body = raw.find("\r\n\r\n");
  if (body != std::string::npos) r.body = raw.substr(body + 4);
  return r;
}

json step_line(int64_t step, double loss) {
  return {{"step", step},
          {"loss", loss},
          {"ce_loss", loss},
          {"lr", 0.001},
          {"grad_norm", 0.5},
          {"tokens_per_s", 1000.0},
          {"mfu", 0.25},
          {"tokens", 512 * step},
          {"elapsed_s", 1.5},
          {"moe", {{{"layer", 0}, {"load", {3, 1, 0, 4}}, {"bias", {0.001, -0.001, 0.0, 0.5}},
                    {"dropped", 2}}}}};
}

void fill(MetricsStore& store) {
  store.set_run_info({{"grad_norm_alarm", 2.0},
                      {"out_dir", "runs/a \"b\"\\c\nd"},
                      {"max_steps", 10},
                      {"moe_layers", {1}}});
  store.add_line(step_line(1, 3.0));
  json alarmed = step_line(2, 2.5);
  alarmed["grad_norm"] = 4.0;
  alarmed["grad_norm_alarm"] = true;
  store.add_line(alarmed);
  store.add_line({{"step", 2}, {"val_loss", 2.75}, {"val_ppl", 15.6}});
  json skipped = step_line(3, 2.25);
  skipped["skipped"] = true;
  store.add_line(skipped);
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(MetricsStore, PrometheusTextHasTheLatestValues) {
  MetricsStore store;
  fill(store);
  const std::string t = store.prometheus_text();
  for (const char* l : {"# HELP seekforge_loss Training loss of the latest step.",
                        "# TYPE seekforge_loss gauge", "seekforge_loss 2.25", "seekforge_step 3",
                        "seekforge_validation_loss 2.75", "seekforge_learning_rate 0.001",
                        "seekforge_gradient_norm_alarm_threshold 2",
                        "# TYPE seekforge_gradient_norm_alarms_total counter",
                        "seekforge_gradient_norm_alarms_total 1", "seekforge_skipped_steps_total 1",
                        "seekforge_model_flops_utilization_ratio 0.25",
                        "seekforge_tokens_total 1536",
                        // load 3,1,0,4 of 8; the MoE layer is block 1 of the model
                        "seekforge_expert_load_ratio{layer=\"1\",expert=\"0\"} 0.375",
                        "seekforge_expert_load_ratio{layer=\"1\",expert=\"3\"} 0.5",
                        "seekforge_expert_correction_bias{layer=\"1\",expert=\"1\"} -0.001",
                        "seekforge_dropped_tokens{layer=\"1\"} 2",
                        "seekforge_run_info{out_dir=\"runs/a \\\"b\\\"\\\\c\\nd\",attention=\"\"} 1"})
    EXPECT_TRUE(has_line(t, l)) << "missing line: " << l << "\nin:\n" << t;
  EXPECT_TRUE(t.find("seekforge_resident_memory_bytes ") != std::string::npos);
  EXPECT_TRUE(t.find("seekforge_last_checkpoint_age_seconds") == std::string::npos)
      << "no checkpoint yet";
  store.mark_checkpoint("runs/x/step-000003", 3);
  EXPECT_TRUE(store.prometheus_text().find("\nseekforge_last_checkpoint_age_seconds ") !=
              std::string::npos);
}

TEST(MetricsStore, EmptyStoreStillExposes) {
  MetricsStore store;
  const std::string t = store.prometheus_text();
  EXPECT_TRUE(has_line(t, "seekforge_skipped_steps_total 0")) << t;
  EXPECT_TRUE(t.find("seekforge_loss") == std::string::npos) << t;
}

TEST(MetricsStore, EscapesLabelValues) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escape_label_value("plain"), "plain");
}

TEST(MetricsStore, ApiReturnsTheLinesAfterSince) {
  MetricsStore store;
  fill(store);
  store.set_sample(3, "ab", "c\xff");  // not UTF-8: replaced, not a throw
  json all = json::parse(store.api_json(-1));
  EXPECT_EQ(all["lines"].size(), 4u);
  EXPECT_EQ(all["last_step"], 3);
  EXPECT_EQ(all["run"]["grad_norm_alarm"], 2.0);
  EXPECT_EQ(all["sample"]["prompt"], "ab");
  EXPECT_TRUE(all["checkpoint"].is_null());
  json after1 = json::parse(store.api_json(1));
  ASSERT_EQ(after1["lines"].size(), 3u);
  EXPECT_EQ(after1["lines"][0]["step"], 2);
  EXPECT_EQ(after1["lines"][1]["val_loss"], 2.75);
  EXPECT_EQ(json::parse(store.api_json(3))["lines"].size(), 0u);
}

TEST(MetricsServer, ServesTheEndpoints) {
  MetricsStore store;
  fill(store);
  MetricsServer server(store, "127.0.0.1", 0);
  ASSERT_GT(server.port(), 0);
  Reply m = get(server.port(), "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_TRUE(has_line(m.body, "seekforge_loss 2.25")) << m.body;
  Reply a = get(server.port(), "/api/metrics?since=2");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(json::parse(a.body)["lines"].size(), 1u);
  Reply page = get(server.port(), "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(page.body.find("/api/metrics") != std::string::npos);
  EXPECT_TRUE(page.body.find("src=\"http") == std::string::npos) << "nothing from elsewhere";
  Reply bad = get(server.port(), "/api/metrics?since=abc");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(bad.body.find("'since'") != std::string::npos) << bad.body;
  EXPECT_TRUE(bad.body.find("abc") != std::string::npos) << bad.body;
  Reply missing = get(server.port(), "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(missing.body.find("/nope") != std::string::npos) << missing.body;
}

TEST(MetricsServer, PortInUseNamesHostAndPort) {
  MetricsStore store;
  MetricsServer first(store, "127.0.0.1", 0);
  const std::string where = "127.0.0.1:" + std::to_string(first.port());
  try {
    MetricsServer second(store, "127.0.0.1", first.port());
    FAIL() << "a second server bound " << where;
  } catch (const Error& e) {
    EXPECT_TRUE(std::string(e.what()).find(where) != std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace seekforge::viz
