#include "viz/metrics_server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>

#include "core/error.h"

namespace seekforge::viz {

namespace {

using nlohmann::json;

// Shortest text that reads back as the same double; the exposition spellings of NaN and infinity.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

double as_double(const json& v) {
  if (v.is_number()) return v.get<double>();
  return std::nan("");  // the trainer writes NaN/inf losses as null
}

// Builds the exposition text one family at a time: HELP and TYPE, then its samples.
class Exposition {
 public:
  void family(const std::string& name, const char* type, const char* help) {
    name_ = "seekforge_" + name;
    // Appends, not chains of operator+: GCC 12 warns falsely (-Wrestrict) on `"x" + string&&`.
    out_.append("# HELP ").append(name_).append(" ").append(help);
    out_.append("\n# TYPE ").append(name_).append(" ").append(type).append("\n");
  }
  void sample(double v, const std::vector<std::pair<std::string, std::string>>& labels = {}) {
    out_ += name_;
    if (!labels.empty()) {
      out_ += "{";
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i) out_ += ",";
        out_.append(labels[i].first).append("=\"");
        out_.append(escape_label_value(labels[i].second)).append("\"");
      }
      out_ += "}";
    }
    out_.append(" ").append(number(v)).append("\n");
  }
  void gauge(const std::string& name, const char* help, double v) {
    family(name, "gauge", help);
    sample(v);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string name_, out_;
};

}  // namespace

std::string escape_label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

int64_t resident_memory_bytes() {
  std::ifstream f("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (!(f >> size >> resident)) return 0;
  return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

MetricsStore::MetricsStore() : start_(Clock::now()) {}

void MetricsStore::set_run_info(const json& info) {
  std::lock_guard<std::mutex> lock(mu_);
  run_info_.update(info);
}

void MetricsStore::add_line(const json& line) {
  const int64_t step = line.value("step", int64_t{0});
  std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace);
  std::lock_guard<std::mutex> lock(mu_);
  lines_.push_back({step, std::move(text)});
  if (line.contains("val_loss")) {
    val_loss_ = as_double(line["val_loss"]);
  } else {
    last_train_ = line;
    if (line.value("skipped", false)) ++skipped_;
    if (line.value("grad_norm_alarm", false)) ++alarms_;
  }
}

void MetricsStore::mark_checkpoint(const std::string& dir, int64_t step) {
  std::lock_guard<std::mutex> lock(mu_);
  checkpoint_time_ = Clock::now();
  checkpoint_dir_ = dir;
  checkpoint_step_ = step;
}

void MetricsStore::set_sample(int64_t step, const std::string& prompt, const std::string& text) {
  json s = {{"step", step}, {"prompt", prompt}, {"text", text}};
  std::lock_guard<std::mutex> lock(mu_);
  sample_ = std::move(s);
}

std::string MetricsStore::api_json(int64_t since) const {
  std::string lines = "[";
  json head;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Steps only grow along the log, so the lines after `since` are a suffix of it.
    auto first = std::upper_bound(lines_.begin(), lines_.end(), since,
                                  [](int64_t s, const Line& l) { return s < l.step; });
    for (auto it = first; it != lines_.end(); ++it) {
      if (it != first) lines += ",";
      lines += it->json;
    }
    head["run"] = run_info_;
    head["last_step"] = lines_.empty() ? int64_t{0} : lines_.back().step;
    head["sample"] = sample_;
    if (checkpoint_time_)
      head["checkpoint"] = {
          {"dir", checkpoint_dir_},
          {"step", checkpoint_step_},
          {"age_s", std::chrono::duration<double>(Clock::now() - *checkpoint_time_).count()}};
    else
      head["checkpoint"] = nullptr;
  }
  lines += "]";
  // A sample of a partly trained byte-level model is not always valid UTF-8.
  std::string out = head.dump(-1, ' ', false, json::error_handler_t::replace);
  out.pop_back();  // the closing brace: "lines" goes in unparsed
  out += ",\"lines\":" + lines + "}";
  return out;
}

std::string MetricsStore::prometheus_text() const {
  json last, info;
  std::optional<double> val;
  int64_t alarms = 0, skipped = 0;
  std::optional<double> since_checkpoint;
  double uptime = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last = last_train_;
    info = run_info_;
    val = val_loss_;
    alarms = alarms_;
    skipped = skipped_;
    const auto now = Clock::now();
    uptime = std::chrono::duration<double>(now - start_).count();
    if (checkpoint_time_)
      since_checkpoint = std::chrono::duration<double>(now - *checkpoint_time_).count();
  }
  Exposition e;
  e.family("run_info", "gauge", "The run being trained, as labels; always 1.");
  e.sample(1, {{"out_dir", info.value("out_dir", std::string())},
               {"attention", info.value("attention", std::string())}});
  if (info.contains("max_steps"))
    e.gauge("max_steps", "Optimiser steps the run is configured for.", info["max_steps"]);
  if (info.contains("parameters"))
    e.gauge("parameters", "Parameters of the model.", info["parameters"]);
  if (info.contains("grad_norm_alarm"))
    e.gauge("gradient_norm_alarm_threshold",
            "A gradient norm above this is an alarm (train.grad_norm_alarm).",
            info["grad_norm_alarm"]);
  e.gauge("uptime_seconds", "Seconds since the metrics store was created.", uptime);
  e.gauge("resident_memory_bytes", "Resident set size of the training process.",
          static_cast<double>(resident_memory_bytes()));
  if (since_checkpoint)
    e.gauge("last_checkpoint_age_seconds", "Seconds since the last checkpoint was saved.",
            *since_checkpoint);
  e.family("skipped_steps_total", "counter", "Steps skipped for a NaN/inf loss or gradient.");
  e.sample(static_cast<double>(skipped));
  e.family("gradient_norm_alarms_total", "counter",
           "Steps whose gradient norm exceeded the alarm threshold.");
  e.sample(static_cast<double>(alarms));
  if (val) e.gauge("validation_loss", "Validation loss of the latest evaluation.", *val);
  if (last.is_object()) {
    e.gauge("step", "Optimiser steps taken.", as_double(last["step"]));
    e.gauge("loss", "Training loss of the latest step.", as_double(last["loss"]));
    if (last.contains("ce_loss"))
      e.gauge("cross_entropy_loss", "Cross-entropy part of the latest training loss.",
              as_double(last["ce_loss"]));
    e.gauge("learning_rate", "Learning rate of the latest step.", as_double(last["lr"]));
    e.gauge("gradient_norm", "Global gradient norm of the latest step, before clipping.",
            as_double(last["grad_norm"]));
    e.gauge("tokens_per_second", "Training throughput of the latest step.",
            as_double(last["tokens_per_s"]));
    e.gauge("model_flops_utilization_ratio",
            "Model FLOP/s of the latest step over the fp32 GEMM rate measured at start.",
            as_double(last["mfu"]));
    if (last.contains("tokens")) {
      e.family("tokens_total", "counter", "Training tokens seen.");
      e.sample(as_double(last["tokens"]));
    }
    if (last.contains("elapsed_s"))
      e.gauge("training_elapsed_seconds", "Seconds of training in this process.",
              as_double(last["elapsed_s"]));
    if (last.contains("moe") && last["moe"].is_array()) {
      const json& layers = last["moe"];
      const json block = info.value("moe_layers", json::array());
      auto layer_label = [&](size_t i) {
        return std::to_string(i < block.size() ? block[i].get<int64_t>()
                                               : static_cast<int64_t>(i));
      };
      e.family("expert_load_ratio", "gauge",
               "Share of the latest step's token-to-expert assignments that went to the expert.");
      for (size_t i = 0; i < layers.size(); ++i) {
        const json& load = layers[i]["load"];
        double total = 0;
        for (const auto& x : load) total += x.get<double>();
        for (size_t x = 0; x < load.size(); ++x)
          e.sample(total > 0 ? load[x].get<double>() / total : 0.0,
                   {{"layer", layer_label(i)}, {"expert", std::to_string(x)}});
      }
      e.family("expert_correction_bias", "gauge",
               "The expert's routing correction bias after the latest step.");
      for (size_t i = 0; i < layers.size(); ++i) {
        const json& bias = layers[i]["bias"];
        for (size_t x = 0; x < bias.size(); ++x)
          e.sample(as_double(bias[x]), {{"layer", layer_label(i)}, {"expert", std::to_string(x)}});
      }
      e.family("dropped_tokens", "gauge",
               "Token-to-expert assignments dropped by expert capacity in the latest step.");
      for (size_t i = 0; i < layers.size(); ++i)
        e.sample(as_double(layers[i].value("dropped", json(0))), {{"layer", layer_label(i)}});
    }
  }
  return e.take();
}

MetricsServer::MetricsServer(const MetricsStore& store, const std::string& host, int port)
    : store_(store), host_(host), server_(std::make_unique<httplib::Server>()) {
  httplib::Server& s = *server_;
  // A few workers: a page or two and a scraper are the load; more would only wait on the
  // training threads for cores.
  s.new_task_queue = [] { return new httplib::ThreadPool(4); };
  // A browser holds its connection open between polls; a short keep-alive frees the worker for
  // the next client soon after.
  s.set_keep_alive_timeout(2);
  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(dashboard_html(), "text/html; charset=utf-8");
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(store_.prometheus_text(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/api/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    int64_t since = -1;
    if (req.has_param("since")) {
      const std::string v = req.get_param_value("since");
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), since);
      if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
        res.status = 400;
        res.set_content("bad query parameter 'since': '" + v +
                            "' is not an integer step (give since=STEP to get the lines after "
                            "STEP)\n",
                        "text/plain; charset=utf-8");
        return;
      }
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(store_.api_json(since), "application/json");
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler's own message (the 400 above)
    if (res.status == 404)
      res.set_content("not found: " + req.path + " (try /, /metrics or /api/metrics?since=STEP)\n",
                      "text/plain; charset=utf-8");
  });
  // httplib's default also sets SO_REUSEPORT, which lets a second run bind the same port and
  // share its connections; SO_REUSEADDR alone allows a restart right after a stop and refuses a
  // port another process listens on.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  errno = 0;
  bool bound = false;
  if (port == 0) {
    port_ = s.bind_to_any_port(host);
    bound = port_ > 0;
  } else {
    bound = s.bind_to_port(host, port);
    port_ = port;
  }
  const int err = errno;
  SF_CHECK(bound) << "cannot listen on " << host << ":" << port << ": "
                  << (err ? std::strerror(err) : "the address is not available")
                  << " (is another program using the port? pick another with --metrics-port)";
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_.store(true);
  });
  // stop() only ends a loop that has started: wait for it so the destructor cannot miss it.
  while (!server_->is_running() && !listen_returned_.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

MetricsServer::~MetricsServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string MetricsServer::url() const {
  return "http://" + host_ + ":" + std::to_string(port_) + "/";
}

}  // namespace seekforge::viz
