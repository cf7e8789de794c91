// Tests for the run report: a run directory written by hand (training lines with MoE loads,
// evaluations, a checkpoint, a config) becomes report.html and the charts; a torn last line is
// skipped with a warning; a corrupt line before it is an error naming the line; an empty file
// is an error.
#include "viz/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "data/temp_dir.h"

namespace seekforge::viz {
namespace {

using data::testing::expect_error;
using data::testing::read_bytes;
using data::testing::TempDir;
using data::testing::write_bytes;

std::string train_line(int step, bool moe = true) {
  const double loss = 3.4 * std::exp(-step / 15.0) + 0.4;
  std::string s =
      "{\"step\":" + std::to_string(step) + ",\"loss\":" + std::to_string(loss) +
      ",\"ce_loss\":" + std::to_string(loss) + ",\"lr\":" + std::to_string(1e-3 * step / 40) +
      ",\"grad_norm\":" + (step == 7 ? std::string("null") : std::to_string(0.5 + 1.0 / step)) +
      ",\"tokens_per_s\":" + std::to_string(40000 + 100 * (step % 5)) +
      ",\"mfu\":0.01,\"tokens\":" + std::to_string(512 * step) +
      ",\"elapsed_s\":" + std::to_string(0.1 * step);
  if (step == 7) s += ",\"skipped\":true";
  if (moe) {
    s += ",\"aux_loss\":0.0,\"moe\":[{\"layer\":0,\"load\":[" + std::to_string(200 + step) + "," +
         std::to_string(300 - step) + ",256,268],\"bias\":[0.001,-0.001,0,0],\"dropped\":0}]";
  }
  return s + "}\n";
}

std::string eval_line(int step, double v) {
  return "{\"step\":" + std::to_string(step) + ",\"val_loss\":" + std::to_string(v) +
         ",\"val_ppl\":" + std::to_string(std::exp(v)) + "}\n";
}

// A run of 40 steps with evaluations every 10 and a checkpoint at 20.
void write_run(const TempDir& dir, const std::string& tail = "") {
  std::string metrics;
  for (int s = 1; s <= 40; ++s) {
    metrics += train_line(s);
    if (s % 10 == 0) metrics += eval_line(s, s == 30 ? 0.9 : 1.0 + 0.01 * s);
  }
  write_bytes(dir.file("metrics.jsonl"), metrics + tail);
  write_bytes(dir.file("config.toml"),
              "[data]\nsynthetic = \"copy\"\n[train]\nmax_steps = 40\ngrad_norm_alarm = 2.0\n");
  std::filesystem::create_directories(dir.file("step-000020"));
  write_bytes(dir.file("step-000020/state.json"), "{}");
  std::filesystem::create_directories(dir.file(".tmp-step-000030-1"));  // not a checkpoint
}

TEST(Report, ReadsTrainingAndEvaluationLines) {
  TempDir dir;
  write_run(dir);
  const RunMetrics m = read_metrics(dir.file("metrics.jsonl"));
  ASSERT_EQ(m.train.size(), 40u);
  ASSERT_EQ(m.eval.size(), 4u);
  EXPECT_TRUE(m.warnings.empty());
  EXPECT_EQ(m.train[6].step, 7);
  EXPECT_TRUE(std::isnan(m.train[6].grad_norm));  // null: a non-finite gradient
  EXPECT_TRUE(m.train[6].skipped);
  ASSERT_EQ(m.train[0].moe.size(), 1u);
  EXPECT_EQ(m.train[0].moe[0].load, (std::vector<double>{201, 299, 256, 268}));
  EXPECT_EQ(m.train[39].tokens, 512 * 40);
  EXPECT_DOUBLE_EQ(m.eval[2].val_loss, 0.9);
}

TEST(Report, WritesHtmlAndEveryChart) {
  TempDir dir;
  write_run(dir);
  const std::string out = dir.file("report");
  const ReportResult r = write_report(dir.path(), out);
  EXPECT_EQ(r.html, out + "/report.html");
  for (const char* name :
       {"loss", "lr", "grad_norm", "throughput", "expert_load_layer0", "expert_tokens_layer0"}) {
    for (const char* ext : {".png", ".svg"}) {
      const std::string path = out + "/" + name + ext;
      EXPECT_TRUE(std::filesystem::exists(path)) << path;
    }
    EXPECT_EQ(read_bytes(out + "/" + name + ".png").substr(1, 3), "PNG") << name;
  }
  const std::string html = read_bytes(r.html);
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, nothing fetched
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_NE(html.find("finished (40 of 40 steps)"), std::string::npos);
  EXPECT_NE(html.find("0.9000 at step 30"), std::string::npos);  // best val
  EXPECT_NE(html.find("20,480"), std::string::npos);             // tokens
  EXPECT_NE(html.find("steps 20"), std::string::npos);           // the checkpoint, not .tmp-
  EXPECT_NE(html.find("1 / "), std::string::npos);               // one skipped step
}

TEST(Report, TornLastLineIsSkippedWithAWarning) {
  TempDir dir;
  write_run(dir, "{\"step\":41,\"loss\":0.5,\"ce_lo");
  ::testing::internal::CaptureStderr();
  const ReportResult r = write_report(dir.path());
  const std::string err = ::testing::internal::GetCapturedStderr();
  const std::string where = dir.file("metrics.jsonl") + ":45";  // 40 training + 4 eval lines
  EXPECT_NE(err.find(where), std::string::npos) << err;
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings[0].find(where), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir.file("report.html")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("loss.png")));
}

TEST(Report, CorruptMiddleLineIsAnErrorNamingTheLine) {
  TempDir dir;
  write_run(dir);
  std::string text = read_bytes(dir.file("metrics.jsonl"));
  const size_t third = text.find('\n', text.find('\n', text.find('\n') + 1) + 1);  // end of line 3
  text.insert(third + 1, "{\"step\":3,\"loss\":oops}\n");
  write_bytes(dir.file("metrics.jsonl"), text);
  expect_error([&] { write_report(dir.path()); }, {dir.file("metrics.jsonl") + ":4", "JSON"});
  EXPECT_FALSE(std::filesystem::exists(dir.file("report.html")));

  write_bytes(dir.file("metrics.jsonl"),
              train_line(1) + "{\"step\":2,\"loss\":\"low\"}\n" + train_line(3));
  expect_error([&] { read_metrics(dir.file("metrics.jsonl")); },
               {dir.file("metrics.jsonl") + ":2", "\"loss\""});
}

TEST(Report, EmptyOrMissingMetricsIsAnError) {
  TempDir dir;
  write_bytes(dir.file("metrics.jsonl"), "");
  expect_error([&] { write_report(dir.path()); }, {dir.file("metrics.jsonl"), "no metrics"});
  write_bytes(dir.file("metrics.jsonl"), "\n\n");
  expect_error([&] { read_metrics(dir.file("metrics.jsonl")); }, {"no metrics"});
  std::filesystem::remove(dir.file("metrics.jsonl"));
  expect_error([&] { write_report(dir.path()); }, {dir.file("metrics.jsonl"), "not found"});
  expect_error([&] { write_report(dir.file("nope")); }, {dir.file("nope"), "does not exist"});
}

TEST(Report, EarlyStoppedDenseRunWithoutConfigTable) {
  TempDir dir;
  std::string metrics;
  for (int s = 1; s <= 30; ++s) {
    metrics += train_line(s, false);
    if (s % 5 == 0) metrics += eval_line(s, s <= 10 ? 2.0 - 0.1 * s : 1.5);
  }
  write_bytes(dir.file("metrics.jsonl"), metrics);
  write_bytes(dir.file("config.toml"),
              "[data]\nsynthetic = \"copy\"\n[train]\nmax_steps = 100\nearly_stop_patience = 4\n");
  const ReportResult r = write_report(dir.path());
  const std::string html = read_bytes(r.html);
  EXPECT_NE(html.find("stopped early at step 30"), std::string::npos);
  EXPECT_NE(html.find("1.0000 at step 10"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.file("expert_load_layer0.png")));  // no MoE
}

}  // namespace
}  // namespace seekforge::viz
