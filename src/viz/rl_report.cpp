// `seekforge report` of an RL run: metrics.jsonl back into step and evaluation lines, those into
// charts, the charts and a summary into one self-contained HTML page.
#include "viz/rl_report.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "core/error.h"
#include "viz/canvas.h"
#include "viz/chart.h"
#include "viz/report_parts.h"

namespace seekforge::viz {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace report_parts;

namespace {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// Keys of a step line other than the reward_* terms; any one of them makes a line a step line.
constexpr const char* kStepKeys[] = {"lr",        "accuracy",      "format_rate", "response_len",
                                     "kl",        "clip_fraction", "ratio_std",   "loss",
                                     "grad_norm", "value_loss",    "clip_eps",    "replayed",
                                     "rollout_s", "score_s",       "update_s",    "best_fitness"};
constexpr const char* kEvalKeys[] = {"test_accuracy", "test_format_rate", "test_response_len",
                                     "eval_s"};

// reward_mean, reward_std and reward_best describe the whole reward; every other reward_<name> is
// a term of it.
bool is_reward_term(const std::string& key) {
  return key.rfind("reward_", 0) == 0 && key.size() > 7 && key != "reward_mean" &&
         key != "reward_std" && key != "reward_best";
}

bool is_step_line(const json& j) {
  for (const char* k : kStepKeys)
    if (j.contains(k)) return true;
  for (const auto& [key, value] : j.items())
    if (key.rfind("reward_", 0) == 0) return true;
  return false;
}

bool is_eval_line(const json& j) {
  for (const char* k : kEvalKeys)
    if (j.contains(k)) return true;
  return false;
}

RlStepLine step_line(const json& j, const std::string& where) {
  RlStepLine s;
  s.step = j["step"].get<int64_t>();
  s.lr = number(j, "lr", where);
  s.reward_mean = number(j, "reward_mean", where);
  s.reward_std = number(j, "reward_std", where);
  s.reward_best = number(j, "reward_best", where);
  s.best_fitness = number(j, "best_fitness", where);
  s.accuracy = number(j, "accuracy", where);
  s.format_rate = number(j, "format_rate", where);
  s.response_len = number(j, "response_len", where);
  s.kl = number(j, "kl", where);
  s.clip_fraction = number(j, "clip_fraction", where);
  s.ratio_std = number(j, "ratio_std", where);
  s.loss = number(j, "loss", where);
  s.grad_norm = number(j, "grad_norm", where);
  s.value_loss = number(j, "value_loss", where);
  s.clip_eps = number(j, "clip_eps", where);
  s.rollout_s = number(j, "rollout_s", where);
  s.score_s = number(j, "score_s", where);
  s.update_s = number(j, "update_s", where);
  for (const auto& [key, value] : j.items())
    if (is_reward_term(key)) s.rewards[key.substr(7)] = number(j, key.c_str(), where);
  return s;
}

RlEvalLine eval_line(const json& j, const std::string& where) {
  RlEvalLine e;
  e.step = j["step"].get<int64_t>();
  e.test_accuracy = number(j, "test_accuracy", where);
  e.test_format_rate = number(j, "test_format_rate", where);
  e.test_response_len = number(j, "test_response_len", where);
  e.eval_s = number(j, "eval_s", where);
  return e;
}

bool any_finite(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

// A key the run never logged would otherwise stand in the legend with no line to show for it.
void without_empty_series(LineChart& ch) {
  std::erase_if(ch.series, [](const Series& s) { return !any_finite(s.y); });
}

Series styled(std::string name, std::vector<double> x, std::vector<double> y, Color color,
              bool dashed = false, bool dots = false) {
  Series s = series(std::move(name), std::move(x), std::move(y));
  s.color = color;
  s.dashed = dashed;
  s.dots = dots;
  return s;
}

Color lighter(Color c, double alpha) { return Color{c.r, c.g, c.b, alpha}; }

std::string percent(double share) {
  return std::isfinite(share) ? fixed(100 * share, 1) + "%" : "n/a";
}

// The first and last evaluation where field is a number (both null when there is none).
std::pair<const RlEvalLine*, const RlEvalLine*> first_and_last(const std::vector<RlEvalLine>& evals,
                                                               double RlEvalLine::*field) {
  const RlEvalLine* first = nullptr;
  const RlEvalLine* last = nullptr;
  for (const RlEvalLine& e : evals)
    if (std::isfinite(e.*field)) {
      if (first == nullptr) first = &e;
      last = &e;
    }
  return {first, last};
}

// "25.0% -> 52.0% (step 0 -> 30)" from the first and last evaluation; empty when there is none.
std::string first_to_last_percent(const std::vector<RlEvalLine>& evals, double RlEvalLine::*field) {
  const auto [first, last] = first_and_last(evals, field);
  if (first == nullptr) return "";
  if (first == last)
    return percent(first->*field) + " (one evaluation, step " + std::to_string(first->step) + ")";
  return percent(first->*field) + " -> " + percent(last->*field) + " (step " +
         std::to_string(first->step) + " -> " + std::to_string(last->step) + ")";
}

double mean_finite(const std::vector<double>& v) {
  double sum = 0;
  int64_t n = 0;
  for (double x : v)
    if (std::isfinite(x)) sum += x, ++n;
  return n > 0 ? sum / double(n) : kNoValue;
}

// What rl.toml says about the run; empty strings where it says nothing.
struct RlToml {
  std::string algo, task;
};

RlToml read_rl_toml(const std::string& path, std::vector<std::string>& warnings) {
  RlToml r;
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    warnings.push_back("cannot open '" + path + "': no algorithm or task in the summary");
    return r;
  }
  std::stringstream text;
  text << in.rdbuf();
  toml::table root;
  try {
    root = toml::parse(text.str(), path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    warnings.push_back("rl.toml not used: " + path + ":" + std::to_string(b.line) + ":" +
                       std::to_string(b.column) +
                       ": invalid TOML: " + std::string(e.description()));
    return r;
  }
  r.algo = root["rl"]["algo"].value_or(std::string());
  r.task = root["task"]["name"].value_or(std::string());
  if (r.algo.empty()) warnings.push_back("'" + path + "' has no [rl] algo");
  if (r.task.empty()) warnings.push_back("'" + path + "' has no [task] name");
  return r;
}

}  // namespace

RlMetrics read_rl_metrics(const std::string& path) {
  RlMetrics m;
  std::set<std::string> terms;
  const size_t lines = read_metrics_lines(
      path,
      [&](const json& j, const std::string& where) {
        if (is_step_line(j)) {
          m.steps.push_back(step_line(j, where));
          for (const auto& [name, value] : m.steps.back().rewards) terms.insert(name);
        }
        if (is_eval_line(j)) m.evals.push_back(eval_line(j, where));
      },
      m.warnings);
  m.reward_terms.assign(terms.begin(), terms.end());
  SF_CHECK(!m.steps.empty() || !m.evals.empty())
      << "no metrics in '" << path << "': it has no step or evaluation lines (" << lines
      << " lines); has the run taken a step yet?";
  return m;
}

std::string held_out_accuracy_summary(const RlMetrics& m) {
  const auto [first, last] = first_and_last(m.evals, &RlEvalLine::test_accuracy);
  if (first == nullptr) return "";
  if (first == last)
    return "held-out accuracy " + percent(first->test_accuracy) + " (one evaluation)";
  return "held-out accuracy " + percent(first->test_accuracy) + " -> " +
         percent(last->test_accuracy);
}

std::vector<ReportFigure> rl_figures(const RlMetrics& m) {
  std::vector<double> steps;
  auto per_step = [&m](double RlStepLine::*field) {
    std::vector<double> v;
    for (const RlStepLine& s : m.steps) v.push_back(s.*field);
    return v;
  };
  for (const RlStepLine& s : m.steps) steps.push_back(double(s.step));
  std::vector<double> eval_steps;
  auto per_eval = [&m](double RlEvalLine::*field) {
    std::vector<double> v;
    for (const RlEvalLine& e : m.evals) v.push_back(e.*field);
    return v;
  };
  for (const RlEvalLine& e : m.evals) eval_steps.push_back(double(e.step));
  // Every chart spans the whole run, evaluations included, so that the charts line up.
  std::pair<double, double> span{INFINITY, -INFINITY};
  for (const auto* v : {&steps, &eval_steps})
    for (double x : *v)
      span.first = std::min(span.first, x), span.second = std::max(span.second, x);

  const Color train_color = palette(0), test_color = palette(1);
  std::vector<ReportFigure> figs;
  auto add = [&figs](const char* name, const char* heading, std::string caption, LineChart ch) {
    without_empty_series(ch);
    if (!ch.series.empty()) figs.push_back({name, heading, std::move(caption), drawn(ch)});
  };

  {
    LineChart ch;
    ch.title = "Reward";
    ch.x_label = "step";
    ch.x_span = span;
    ch.y_label = "reward";
    const std::vector<double> mean = per_step(&RlStepLine::reward_mean);
    const std::vector<double> std_dev = per_step(&RlStepLine::reward_std);
    ch.series.push_back(styled("reward mean", steps, mean, train_color));
    // The spread as two thin dashed lines either side of the mean: one legend entry for both.
    if (any_finite(std_dev)) {
      std::vector<double> hi(mean.size()), lo(mean.size());
      for (size_t i = 0; i < mean.size(); ++i)
        hi[i] = mean[i] + std_dev[i], lo[i] = mean[i] - std_dev[i];
      ch.series.push_back(styled("mean ± std", steps, hi, lighter(train_color, 0.45), true));
      ch.series.push_back(styled("", steps, lo, lighter(train_color, 0.45), true));
    }
    const std::vector<double> best = per_step(&RlStepLine::reward_best);
    if (any_finite(best))
      ch.series.push_back(
          styled("best of the generation", steps, best, Color{0.17, 0.63, 0.17, 1}));
    for (size_t t = 0; t < m.reward_terms.size(); ++t) {
      std::vector<double> v;
      for (const RlStepLine& s : m.steps) {
        const auto it = s.rewards.find(m.reward_terms[t]);
        v.push_back(it == s.rewards.end() ? kNoValue : it->second);
      }
      ch.series.push_back(
          styled(m.reward_terms[t] + " term", steps, v, palette(static_cast<int>(t) + 3)));
    }
    std::string caption =
        "The mean reward of each step's rollouts with its standard deviation either side";
    if (!m.reward_terms.empty())
      caption += ", and the mean of each reward term (reward_<name> in metrics.jsonl)";
    if (any_finite(best)) caption += ", and the best population member's mean reward";
    add("reward", "Reward", caption + ".", ch);
  }
  {
    LineChart ch;
    const std::string summary = held_out_accuracy_summary(m);
    // The number a reader looks for first goes in the title: "Held-out accuracy 25.0% -> 52.0%".
    ch.title = summary.empty() ? "Accuracy" : "H" + summary.substr(1);
    ch.x_label = "step";
    ch.x_span = span;
    ch.y_label = "accuracy (share correct)";
    ch.series.push_back(
        styled("training rollouts", steps, per_step(&RlStepLine::accuracy), train_color));
    ch.series.push_back(styled("held-out test", eval_steps, per_eval(&RlEvalLine::test_accuracy),
                               test_color, false, true));
    add("accuracy", "Accuracy",
        "Share of each step's training rollouts that were correct, and of the held-out test set "
        "at each evaluation (step 0 is before any update).",
        ch);
  }
  {
    LineChart ch;
    ch.title = "Response length";
    ch.x_label = "step";
    ch.x_span = span;
    ch.y_label = "response length (tokens)";
    ch.series.push_back(
        styled("training rollouts", steps, per_step(&RlStepLine::response_len), train_color));
    ch.series.push_back(styled("held-out test", eval_steps,
                               per_eval(&RlEvalLine::test_response_len), test_color, false, true));
    add("response_length", "Response length",
        "Mean tokens per response in each step's rollouts and on the held-out test set.", ch);
  }
  {
    // KL and clipping are on different scales (KL ~1e-3, clip bounds ~0.2), so each gets a
    // panel of its own; with both, the canvas is taller so that each keeps a readable plot.
    LineChart kl;
    kl.title = "KL divergence from the reference model";
    kl.x_label = "step";
    kl.x_span = span;
    kl.y_label = "KL (per token)";
    kl.series.push_back(styled("KL", steps, per_step(&RlStepLine::kl), train_color));
    LineChart clip;
    clip.title = "Clipping";
    clip.x_label = "step";
    clip.x_span = span;
    clip.y_label = "share of tokens / ratio bound";
    clip.series.push_back(
        styled("clip fraction", steps, per_step(&RlStepLine::clip_fraction), palette(1)));
    const std::vector<double> eps = per_step(&RlStepLine::clip_eps);
    if (any_finite(eps)) clip.series.push_back(styled("clip ε", steps, eps, palette(2), true));
    without_empty_series(kl);
    without_empty_series(clip);
    std::vector<const LineChart*> panels;
    if (!kl.series.empty()) panels.push_back(&kl);
    if (!clip.series.empty()) panels.push_back(&clip);
    if (!panels.empty()) {
      const double panel_h = panels.size() == 1 ? kChartHeight : 0.7 * kChartHeight;
      auto c = std::make_unique<Canvas>(kChartWidth, panel_h * double(panels.size()));
      for (size_t i = 0; i < panels.size(); ++i)
        draw(*c, *panels[i], Box{0, panel_h * double(i), kChartWidth, panel_h});
      figs.push_back(
          {"kl_clip", "KL and clipping",
           "The policy's KL divergence from the reference model, and the share of tokens whose "
           "probability ratio was clipped" +
               std::string(any_finite(eps) ? ", with the clip bound ε at each step." : "."),
           std::move(c)});
    }
  }
  {
    LineChart ch;
    ch.title = "Time per step";
    ch.x_label = "step";
    ch.x_span = span;
    ch.y_label = "seconds";
    const std::vector<double> rollout = per_step(&RlStepLine::rollout_s);
    const std::vector<double> score = per_step(&RlStepLine::score_s);
    const std::vector<double> update = per_step(&RlStepLine::update_s);
    std::vector<double> total(steps.size(), kNoValue);
    for (size_t i = 0; i < steps.size(); ++i) {
      double sum = 0;
      bool any = false;
      for (const auto* v : {&rollout, &score, &update})
        if (std::isfinite((*v)[i])) sum += (*v)[i], any = true;
      if (any) total[i] = sum;
    }
    ch.series.push_back(styled("rollout", steps, rollout, palette(0)));
    ch.series.push_back(styled("score", steps, score, palette(1)));
    ch.series.push_back(styled("update", steps, update, palette(2)));
    ch.series.push_back(styled("total", steps, total, Color{0.35, 0.35, 0.35, 1}, true));
    add("time", "Time per step",
        "Seconds each step spent generating rollouts, scoring them with the rewards, and "
        "updating the policy; the dashed line is their sum.",
        ch);
  }
  return figs;
}

bool is_rl_run(const std::string& run_dir) { return fs::is_regular_file(run_dir + "/rl.toml"); }

ReportResult write_rl_report(const std::string& run_dir, const std::string& out_dir_arg) {
  SF_CHECK(fs::is_directory(run_dir)) << "run directory '" << run_dir << "' does not exist";
  const std::string metrics_path = run_dir + "/metrics.jsonl";
  SF_CHECK(fs::exists(metrics_path))
      << "'" << metrics_path << "' not found: '" << run_dir
      << "' is not a run directory (seekforge rl writes metrics.jsonl there)";
  const RlMetrics m = read_rl_metrics(metrics_path);
  std::vector<std::string> warnings = m.warnings;
  const RlToml cfg = read_rl_toml(run_dir + "/rl.toml", warnings);
  const std::vector<int64_t> ckpts = checkpoint_steps(run_dir);
  const std::string out_dir = report_dir(run_dir, out_dir_arg);

  std::vector<ReportFigure> figs = rl_figures(m);

  SummaryTable table;
  table.row("run directory", run_dir);
  std::string algo = cfg.algo;
  for (char& ch : algo) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  table.row("algorithm", algo.empty() ? "n/a" : algo);
  table.row("task", cfg.task.empty() ? "n/a" : cfg.task);
  const int64_t last_step = std::max(m.steps.empty() ? 0 : m.steps.back().step,
                                     m.evals.empty() ? 0 : m.evals.back().step);
  table.row("steps", std::to_string(last_step) + " (" + std::to_string(m.steps.size()) +
                         " step lines, " + std::to_string(m.evals.size()) + " evaluations)");
  const std::string accuracy = first_to_last_percent(m.evals, &RlEvalLine::test_accuracy);
  table.row("held-out accuracy", accuracy.empty() ? "n/a (no evaluation)" : accuracy);
  const std::string format = first_to_last_percent(m.evals, &RlEvalLine::test_format_rate);
  table.row("held-out format rate", format.empty() ? "n/a (no evaluation)" : format);
  const RlStepLine* final_reward = nullptr;
  for (const RlStepLine& s : m.steps)
    if (std::isfinite(s.reward_mean)) final_reward = &s;
  if (final_reward != nullptr) {
    std::string value =
        fixed(final_reward->reward_mean, 3) + " at step " + std::to_string(final_reward->step);
    if (std::isfinite(final_reward->reward_best))
      value += " (best of the generation " + fixed(final_reward->reward_best, 3) + ")";
    table.row("final reward mean", value);
  } else {
    table.row("final reward mean", "n/a");
  }
  std::vector<double> rollout, score, update;
  for (const RlStepLine& s : m.steps)
    rollout.push_back(s.rollout_s), score.push_back(s.score_s), update.push_back(s.update_s);
  const double r = mean_finite(rollout), sc = mean_finite(score), u = mean_finite(update);
  double total = 0;
  for (double v : {r, sc, u})
    if (std::isfinite(v)) total += v;
  table.row("mean time per step", std::isfinite(r) || std::isfinite(sc) || std::isfinite(u)
                                      ? fixed(total, 2) + "s: rollout " + fixed(r, 2) +
                                            "s, score " + fixed(sc, 2) + "s, update " +
                                            fixed(u, 2) + "s"
                                      : "n/a");
  double eval_s = 0;
  for (const RlEvalLine& e : m.evals)
    if (std::isfinite(e.eval_s)) eval_s += e.eval_s;
  if (!m.evals.empty()) table.row("evaluation time", duration(eval_s) + " in all");
  table.row("last checkpoint", ckpts.empty() ? "none" : checkpoint_name(ckpts.back()));

  return write_page(out_dir, "seekforge RL run report: " + run_dir, "RL run report", table, figs,
                    warnings);
}

}  // namespace seekforge::viz
