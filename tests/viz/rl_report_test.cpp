// Tests for the RL run report: a GRPO run directory written by hand (rl.toml, step lines with two
// reward terms, evaluations at step 0, every 10 steps and at the end, a checkpoint) becomes
// report.html and the charts, whose drawn texts name every series and the held-out accuracy; an
// evolution-strategies run has no KL chart; a torn last line is skipped with a warning; a corrupt
// line before it is an error naming the line.
#include "viz/rl_report.h"

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

std::string num(double v) { return std::to_string(v); }

std::string grpo_line(int step) {
  const double acc = 0.2 + 0.6 * (1 - std::exp(-step / 12.0));
  const double fmt = 0.5 + 0.45 * (1 - std::exp(-step / 5.0));
  return "{\"step\":" + std::to_string(step) +
         ",\"lr\":1e-05,\"reward_mean\":" + num(acc + 0.2 * fmt) +
         ",\"reward_std\":" + num(0.3 - 0.002 * step) + ",\"reward_accuracy\":" + num(acc) +
         ",\"reward_format\":" + num(0.2 * fmt) + ",\"accuracy\":" + num(acc) +
         ",\"format_rate\":" + num(fmt) + ",\"response_len\":" + num(30 - 0.3 * step) +
         ",\"kl\":" + (step == 5 ? std::string("null") : num(0.0005 * step)) +
         ",\"clip_fraction\":" + num(0.01 + 0.001 * (step % 4)) +
         ",\"ratio_std\":0.02,\"loss\":-0.01,\"grad_norm\":0.8,\"rollout_s\":" +
         num(1.2 + 0.01 * (step % 3)) +
         ",\"score_s\":0.01,\"update_s\":0.9,\"future_key\":\"x\"}\n";
}

std::string rl_eval_line(int step, double acc) {
  return "{\"step\":" + std::to_string(step) + ",\"test_accuracy\":" + num(acc) +
         ",\"test_format_rate\":" + num(0.6 + 0.01 * step) +
         ",\"test_response_len\":" + num(28 - 0.2 * step) + ",\"eval_s\":3.1}\n";
}

// A GRPO run of 30 steps, evaluated at step 0, 10, 20 and 30, with a checkpoint at 30.
void write_grpo_run(const TempDir& dir, const std::string& tail = "") {
  std::string metrics = rl_eval_line(0, 0.25);
  for (int s = 1; s <= 30; ++s) {
    metrics += grpo_line(s);
    if (s % 10 == 0) metrics += rl_eval_line(s, 0.25 + 0.009 * s);
  }
  write_bytes(dir.file("metrics.jsonl"), metrics + tail);
  write_bytes(dir.file("rl.toml"),
              "[rl]\nalgo = \"grpo\"\nsteps = 30\n[task]\nname = \"arithmetic\"\n");
  std::filesystem::create_directories(dir.file("step-000030"));
  write_bytes(dir.file("step-000030/state.json"), "{}");
}

bool has_text(const Canvas& c, const std::string& text) {
  for (const TextItem& t : c.texts())
    if (t.text == text) return true;
  return false;
}

const ReportFigure* figure(const std::vector<ReportFigure>& figs, const std::string& name) {
  for (const ReportFigure& f : figs)
    if (f.name == name) return &f;
  return nullptr;
}

TEST(RlReport, ReadsStepAndEvaluationLines) {
  TempDir dir;
  write_grpo_run(dir);
  const RlMetrics m = read_rl_metrics(dir.file("metrics.jsonl"));
  ASSERT_EQ(m.steps.size(), 30u);
  ASSERT_EQ(m.evals.size(), 4u);
  EXPECT_TRUE(m.warnings.empty());
  EXPECT_EQ(m.reward_terms, (std::vector<std::string>{"accuracy", "format"}));
  EXPECT_EQ(m.steps[0].step, 1);
  EXPECT_NEAR(m.steps[0].rewards.at("accuracy"), m.steps[0].accuracy, 1e-9);
  EXPECT_TRUE(std::isnan(m.steps[4].kl));           // null
  EXPECT_TRUE(std::isnan(m.steps[0].reward_best));  // absent: not an ES run
  EXPECT_DOUBLE_EQ(m.steps[0].update_s, 0.9);
  EXPECT_EQ(m.evals[0].step, 0);
  EXPECT_DOUBLE_EQ(m.evals[0].test_accuracy, 0.25);
  EXPECT_EQ(m.evals[3].step, 30);
  EXPECT_EQ(held_out_accuracy_summary(m), "held-out accuracy 25.0% -> 52.0%");
}

TEST(RlReport, ChartsNameEverySeriesAndTheHeldOutAccuracy) {
  TempDir dir;
  write_grpo_run(dir);
  const std::vector<ReportFigure> figs = rl_figures(read_rl_metrics(dir.file("metrics.jsonl")));
  ASSERT_EQ(figs.size(), 5u);
  EXPECT_EQ(figs[0].name, "reward");
  EXPECT_EQ(figs[4].name, "time");
  const ReportFigure* reward = figure(figs, "reward");
  ASSERT_NE(reward, nullptr);
  for (const char* s : {"Reward", "reward mean", "mean ± std", "accuracy term", "format term"})
    EXPECT_TRUE(has_text(*reward->canvas, s)) << s;
  const ReportFigure* accuracy = figure(figs, "accuracy");
  ASSERT_NE(accuracy, nullptr);
  EXPECT_TRUE(has_text(*accuracy->canvas, "Held-out accuracy 25.0% -> 52.0%"));
  EXPECT_TRUE(has_text(*accuracy->canvas, "training rollouts"));
  EXPECT_TRUE(has_text(*accuracy->canvas, "held-out test"));
  const ReportFigure* length = figure(figs, "response_length");
  ASSERT_NE(length, nullptr);
  EXPECT_TRUE(has_text(*length->canvas, "response length (tokens)"));
  const ReportFigure* kl = figure(figs, "kl_clip");
  ASSERT_NE(kl, nullptr);
  EXPECT_TRUE(has_text(*kl->canvas, "KL divergence from the reference model"));
  EXPECT_TRUE(has_text(*kl->canvas, "Clipping"));
  EXPECT_FALSE(has_text(*kl->canvas, "clip ε"));  // GRPO logs no clip bound
  const ReportFigure* time = figure(figs, "time");
  ASSERT_NE(time, nullptr);
  for (const char* s : {"rollout", "score", "update", "total"})
    EXPECT_TRUE(has_text(*time->canvas, s)) << s;
}

TEST(RlReport, WritesHtmlAndEveryChart) {
  TempDir dir;
  write_grpo_run(dir);
  EXPECT_TRUE(is_rl_run(dir.path()));
  const std::string out = dir.file("report");
  const ReportResult r = write_rl_report(dir.path(), out);
  EXPECT_EQ(r.html, out + "/report.html");
  EXPECT_EQ(r.files.size(), 11u);  // 5 charts x (PNG, SVG) + report.html
  EXPECT_TRUE(r.warnings.empty());
  for (const char* name : {"reward", "accuracy", "response_length", "kl_clip", "time"}) {
    for (const char* ext : {".png", ".svg"}) {
      const std::string path = out + "/" + name + ext;
      EXPECT_TRUE(std::filesystem::exists(path)) << path;
    }
    EXPECT_EQ(read_bytes(out + "/" + name + ".png").substr(0, 8), "\x89PNG\r\n\x1a\n") << name;
    EXPECT_NE(read_bytes(out + "/" + name + ".svg").find("<svg"), std::string::npos) << name;
  }
  const std::string html = read_bytes(r.html);
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, nothing fetched
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_NE(html.find("RL run report"), std::string::npos);
  EXPECT_NE(html.find("<td>GRPO</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>arithmetic</td>"), std::string::npos);
  EXPECT_NE(html.find("25.0% -&gt; 52.0% (step 0 -&gt; 30)"), std::string::npos);
  EXPECT_NE(html.find("60.0% -&gt; 90.0%"), std::string::npos);  // held-out format rate
  EXPECT_NE(html.find("30 (30 step lines, 4 evaluations)"), std::string::npos);
  EXPECT_NE(html.find("rollout 1.21s, score 0.01s, update 0.90s"), std::string::npos);
  EXPECT_NE(html.find("step-000030"), std::string::npos);
}

TEST(RlReport, EvolutionRunHasNoKlChart) {
  TempDir dir;
  std::string metrics = rl_eval_line(0, 0.1);
  for (int g = 1; g <= 12; ++g)
    metrics += "{\"step\":" + std::to_string(g) + ",\"reward_mean\":" + num(0.1 + 0.02 * g) +
               ",\"reward_std\":0.05,\"reward_best\":" + num(0.2 + 0.03 * g) +
               ",\"best_fitness\":" + num(0.2 + 0.03 * g) + ",\"accuracy\":" + num(0.1 + 0.02 * g) +
               ",\"format_rate\":0.9,\"response_len\":12,\"rollout_s\":0.5,\"score_s\":0.01," +
               "\"update_s\":0.02}\n";
  metrics += rl_eval_line(12, 0.3);
  write_bytes(dir.file("metrics.jsonl"), metrics);
  write_bytes(dir.file("rl.toml"), "[rl]\nalgo = \"es\"\n");  // no [task]
  const ReportResult r = write_rl_report(dir.path());
  EXPECT_FALSE(std::filesystem::exists(dir.file("kl_clip.png")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("kl_clip.svg")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("reward.png")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("time.png")));
  EXPECT_EQ(r.files.size(), 9u);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("no [task] name"), std::string::npos);
  const std::string html = read_bytes(r.html);
  EXPECT_NE(html.find("<td>ES</td>"), std::string::npos);
  EXPECT_NE(html.find("10.0% -&gt; 30.0%"), std::string::npos);
  EXPECT_NE(html.find("best of the generation 0.560"), std::string::npos);
  EXPECT_NE(html.find("<td>none</td>"), std::string::npos);  // no checkpoint

  const std::vector<ReportFigure> figs = rl_figures(read_rl_metrics(dir.file("metrics.jsonl")));
  const ReportFigure* reward = figure(figs, "reward");
  ASSERT_NE(reward, nullptr);
  EXPECT_TRUE(has_text(*reward->canvas, "best of the generation"));

  RlMetrics one;
  one.evals.push_back({0, 0.4, 0.5, 20, 1});
  EXPECT_EQ(held_out_accuracy_summary(one), "held-out accuracy 40.0% (one evaluation)");
  one.evals[0].test_accuracy = std::nan("");
  EXPECT_EQ(held_out_accuracy_summary(one), "");
}

TEST(RlReport, TornLastLineIsSkippedWithAWarning) {
  TempDir dir;
  write_grpo_run(dir, "{\"step\":31,\"reward_mean\":0.5,\"kl");
  ::testing::internal::CaptureStderr();
  const ReportResult r = write_rl_report(dir.path());
  const std::string err = ::testing::internal::GetCapturedStderr();
  const std::string where = dir.file("metrics.jsonl") + ":35";  // 30 step + 4 evaluation lines
  EXPECT_NE(err.find(where), std::string::npos) << err;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find(where), std::string::npos);
  EXPECT_NE(r.warnings[0].find("incomplete last line"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir.file("report.html")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("reward.png")));
}

TEST(RlReport, CorruptMiddleLineIsAnErrorNamingTheLine) {
  TempDir dir;
  write_grpo_run(dir);
  std::string text = read_bytes(dir.file("metrics.jsonl"));
  const size_t third = text.find('\n', text.find('\n', text.find('\n') + 1) + 1);  // end of line 3
  text.insert(third + 1, "{\"step\":3,\"reward_mean\":oops}\n");
  write_bytes(dir.file("metrics.jsonl"), text);
  expect_error([&] { write_rl_report(dir.path()); }, {dir.file("metrics.jsonl") + ":4", "JSON"});
  EXPECT_FALSE(std::filesystem::exists(dir.file("report.html")));

  write_bytes(dir.file("metrics.jsonl"),
              grpo_line(1) + "{\"step\":2,\"reward_format\":\"good\"}\n" + grpo_line(3));
  expect_error([&] { read_rl_metrics(dir.file("metrics.jsonl")); },
               {dir.file("metrics.jsonl") + ":2", "\"reward_format\""});
  write_bytes(dir.file("metrics.jsonl"), grpo_line(1) + "{\"test_accuracy\":0.5}\n" + grpo_line(3));
  expect_error([&] { read_rl_metrics(dir.file("metrics.jsonl")); },
               {dir.file("metrics.jsonl") + ":2", "\"step\""});
}

TEST(RlReport, MissingOrUnreadableRlTomlOnlyWarns) {
  TempDir dir;
  write_grpo_run(dir);
  write_bytes(dir.file("rl.toml"), "[rl\nalgo = ");
  const ReportResult r = write_rl_report(dir.path());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find(dir.file("rl.toml") + ":1"), std::string::npos) << r.warnings[0];
  EXPECT_NE(read_bytes(r.html).find("<th>algorithm</th><td>n/a</td>"), std::string::npos);

  std::filesystem::remove(dir.file("rl.toml"));
  EXPECT_FALSE(is_rl_run(dir.path()));
  EXPECT_FALSE(is_rl_run(dir.file("nope")));
}

TEST(RlReport, EmptyOrMissingMetricsIsAnError) {
  TempDir dir;
  write_bytes(dir.file("rl.toml"), "[rl]\nalgo = \"ppo\"\n");
  write_bytes(dir.file("metrics.jsonl"), "{\"step\":0,\"unknown\":1}\n");
  expect_error([&] { write_rl_report(dir.path()); }, {dir.file("metrics.jsonl"), "no metrics"});
  std::filesystem::remove(dir.file("metrics.jsonl"));
  expect_error([&] { write_rl_report(dir.path()); }, {dir.file("metrics.jsonl"), "not found"});
  expect_error([&] { write_rl_report(dir.file("nope")); }, {dir.file("nope"), "does not exist"});
}

}  // namespace
}  // namespace seekforge::viz
