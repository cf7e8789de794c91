// `seekforge report`: metrics.jsonl back into numbers, numbers into charts, charts into one
// self-contained HTML page.
#include "viz/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "io/config.h"
#include "io/safetensors.h"
#include "viz/canvas.h"
#include "viz/chart.h"
#include "viz/report_parts.h"

namespace seekforge::viz {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace report_parts;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr size_t kMaxHeatmapColumns = 600;  // longer runs are averaged into this many columns

bool flag(const json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  SF_CHECK(it->is_boolean()) << where << ": \"" << key << "\" must be true or false, got "
                             << it->dump();
  return it->get<bool>();
}

std::vector<double> numbers(const json& j, const char* key, const std::string& where) {
  std::vector<double> out;
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  SF_CHECK(it->is_array()) << where << ": \"" << key << "\" must be an array of numbers";
  for (const json& v : *it) {
    SF_CHECK(v.is_number() || v.is_null())
        << where << ": \"" << key << "\" must be an array of numbers, has " << v.dump();
    out.push_back(v.is_null() ? kNaN : v.get<double>());
  }
  return out;
}

TrainLine train_line(const json& j, const std::string& where) {
  TrainLine t;
  t.step = static_cast<int64_t>(number(j, "step", where));
  t.loss = number(j, "loss", where);
  t.ce_loss = number(j, "ce_loss", where);
  t.lr = number(j, "lr", where);
  t.grad_norm = number(j, "grad_norm", where);
  t.tokens_per_s = number(j, "tokens_per_s", where);
  t.mfu = number(j, "mfu", where);
  t.elapsed_s = number(j, "elapsed_s", where);
  t.aux_loss = number(j, "aux_loss", where);
  t.mtp_loss = number(j, "mtp_loss", where);
  const double tokens = number(j, "tokens", where);
  t.tokens = std::isfinite(tokens) ? static_cast<int64_t>(tokens) : 0;
  t.skipped = flag(j, "skipped", where);
  t.alarm = flag(j, "grad_norm_alarm", where);
  if (const auto it = j.find("moe"); it != j.end() && !it->is_null()) {
    SF_CHECK(it->is_array()) << where << ": \"moe\" must be an array of per-layer objects";
    for (const json& l : *it) {
      SF_CHECK(l.is_object()) << where << ": \"moe\" must be an array of per-layer objects";
      MoeLoad m;
      const double layer = number(l, "layer", where);
      m.layer = std::isfinite(layer) ? static_cast<int64_t>(layer) : int64_t(t.moe.size());
      m.load = numbers(l, "load", where);
      m.bias = numbers(l, "bias", where);
      const double dropped = number(l, "dropped", where);
      m.dropped = std::isfinite(dropped) ? static_cast<int64_t>(dropped) : 0;
      t.moe.push_back(std::move(m));
    }
  }
  return t;
}

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return v < 0 ? "-" + out : out;
}

// Trainable parameters in the newest checkpoint (the correction biases are buffers).
std::optional<int64_t> checkpoint_parameters(const std::string& run_dir, int64_t step,
                                             std::vector<std::string>& warnings) {
  const std::string path = run_dir + "/" + checkpoint_name(step) + "/model.safetensors";
  try {
    const SafetensorsFile f(path);
    int64_t n = 0;
    for (const SafetensorsEntry& e : f.entries()) {
      const std::string& s = e.name;
      const std::string buffer = "e_score_correction_bias";
      if (s.size() >= buffer.size() &&
          s.compare(s.size() - buffer.size(), buffer.size(), buffer) == 0)
        continue;
      n += e.numel();
    }
    return n;
  } catch (const Error& e) {
    warnings.push_back(std::string("parameters not counted: ") + e.what());
    return std::nullopt;
  }
}

Marker marker(double x, const std::string& label, Color color) {
  Marker m;
  m.x = x;
  m.label = label;
  m.color = color;
  return m;
}

// One series over the training steps; the title names it, so there is no legend.
LineChart per_step_chart(const std::string& title, const std::string& y_label,
                         const std::vector<double>& steps, const std::vector<double>& values) {
  LineChart ch;
  ch.title = title;
  ch.x_label = "step";
  ch.y_label = y_label;
  ch.series.push_back(series(title, steps, values));
  return ch;
}

}  // namespace

RunMetrics read_metrics(const std::string& path) {
  RunMetrics m;
  const size_t lines = read_metrics_lines(
      path,
      [&m](const json& j, const std::string& where) {
        if (j.contains("loss")) {
          m.train.push_back(train_line(j, where));
        } else if (j.contains("val_loss")) {
          EvalLine e;
          e.step = j["step"].get<int64_t>();
          e.val_loss = number(j, "val_loss", where);
          e.val_ppl = number(j, "val_ppl", where);
          m.eval.push_back(e);
        }
      },
      m.warnings);
  SF_CHECK(!m.train.empty() || !m.eval.empty())
      << "no metrics in '" << path << "': it has no training or evaluation lines (" << lines
      << " lines); has the run taken a step yet?";
  return m;
}

// metrics.jsonl numbers MoE layers among MoE layers; the dashboard and `viz` speak of blocks.
// Both are named when the config says which block a MoE layer is.
std::string moe_layer_name(int64_t moe_index, const std::optional<Config>& cfg) {
  const std::string moe = "MoE layer " + std::to_string(moe_index);
  if (!cfg || !cfg->model.moe) return moe;
  const int64_t block = cfg->model.first_dense_layers + moe_index;
  if (block >= cfg->model.n_layers) return moe + " (multi-token prediction)";
  return "layer " + std::to_string(block) + " (" + moe + ")";
}

ReportResult write_report(const std::string& run_dir, const std::string& out_dir_arg) {
  SF_CHECK(fs::is_directory(run_dir)) << "run directory '" << run_dir << "' does not exist";
  const std::string metrics_path = run_dir + "/metrics.jsonl";
  SF_CHECK(fs::exists(metrics_path))
      << "'" << metrics_path << "' not found: '" << run_dir
      << "' is not a run directory (seekforge train writes metrics.jsonl there)";
  RunMetrics m = read_metrics(metrics_path);
  std::vector<std::string> warnings = m.warnings;

  std::optional<Config> cfg;
  const std::string cfg_path = run_dir + "/config.toml";
  if (fs::exists(cfg_path)) {
    try {
      std::ifstream f(cfg_path);
      std::stringstream ss;
      ss << f.rdbuf();
      cfg = parse_config(ss.str(), cfg_path);
    } catch (const Error& e) {
      warnings.push_back(std::string("config not used: ") + e.what());
    }
  } else {
    warnings.push_back("'" + cfg_path + "' not found: no alarm threshold or patience");
  }
  const std::vector<int64_t> ckpts = checkpoint_steps(run_dir);
  std::optional<int64_t> params;
  if (!ckpts.empty()) params = checkpoint_parameters(run_dir, ckpts.back(), warnings);

  const std::string out_dir = report_dir(run_dir, out_dir_arg);

  // What happened: the best evaluation, and whether patience ran out at the last one.
  const EvalLine* best = nullptr;
  for (const EvalLine& e : m.eval)
    if (std::isfinite(e.val_loss) && (best == nullptr || e.val_loss < best->val_loss)) best = &e;
  const int64_t last_step =
      std::max(m.train.empty() ? 0 : m.train.back().step, m.eval.empty() ? 0 : m.eval.back().step);
  bool early_stopped = false;
  if (cfg && best != nullptr && cfg->train.early_stop_patience > 0 &&
      last_step < cfg->train.max_steps) {
    const int64_t evals_after = static_cast<int64_t>(&m.eval.back() - best);
    early_stopped =
        evals_after >= cfg->train.early_stop_patience && m.eval.back().step == last_step;
  }
  std::string status;
  if (cfg && last_step >= cfg->train.max_steps)
    status = "finished (" + std::to_string(last_step) + " of " +
             std::to_string(cfg->train.max_steps) + " steps)";
  else if (early_stopped)
    status = "stopped early at step " + std::to_string(last_step) +
             ": validation loss did not improve for " +
             std::to_string(cfg->train.early_stop_patience) + " evaluations";
  else if (cfg)
    status = "stopped at step " + std::to_string(last_step) + " of " +
             std::to_string(cfg->train.max_steps) + " (interrupted, crashed or still running)";
  else
    status = "last step " + std::to_string(last_step);

  std::vector<double> steps, loss, lr, gnorm, tps;
  for (const TrainLine& t : m.train) {
    steps.push_back(double(t.step));
    loss.push_back(t.loss);
    lr.push_back(t.lr);
    gnorm.push_back(t.grad_norm);
    tps.push_back(t.tokens_per_s);
  }
  std::vector<double> eval_steps, val;
  for (const EvalLine& e : m.eval) eval_steps.push_back(double(e.step)), val.push_back(e.val_loss);

  std::vector<ReportFigure> figs;
  {
    LineChart ch;
    ch.title = "Loss";
    ch.x_label = "step";
    ch.y_label = "loss (nats/token)";
    // A loss that falls by orders of magnitude (a task the model learns) is only readable on a
    // log scale; the ordinary few-fold fall of pretraining stays linear.
    double lo = INFINITY, hi = 0;
    for (const auto* v : {&loss, &val})
      for (double x : *v)
        if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
    ch.log_y = lo > 0 && hi / lo >= 50;
    if (!m.train.empty()) ch.series.push_back(series("train loss", steps, loss));
    if (!m.eval.empty()) {
      Series v = series("val loss", eval_steps, val);
      v.dots = true;
      ch.series.push_back(v);
    }
    // One marker per step, its label naming everything that happened there.
    if (early_stopped)
      ch.markers.push_back(marker(double(last_step), "early stop", Color{0.84, 0.15, 0.16, 1}));
    if (best != nullptr)
      ch.markers.push_back(marker(double(best->step), "best val", Color{0.17, 0.63, 0.17, 1}));
    for (int64_t s : ckpts) {
      auto same = std::find_if(ch.markers.begin(), ch.markers.end(),
                               [&](const Marker& mk) { return mk.x == double(s); });
      if (same != ch.markers.end())
        same->label += ", checkpoint";
      else
        ch.markers.push_back(marker(double(s), "checkpoint", Color{0.35, 0.35, 0.35, 1}));
    }
    figs.push_back(
        {"loss", "Loss",
         "Training loss at every step and validation loss at every evaluation; dashed lines mark "
         "checkpoints on disk and the best validation step.",
         drawn(ch)});
  }
  if (!m.train.empty()) {
    figs.push_back({"lr", "Learning rate", "The schedule's learning rate at each step.",
                    drawn(per_step_chart("Learning rate", "learning rate", steps, lr))});
    LineChart g =
        per_step_chart("Gradient norm", "global gradient norm (before clipping)", steps, gnorm);
    g.log_y = true;
    if (cfg) {
      Threshold t;
      t.y = cfg->train.grad_norm_alarm;
      t.label = "alarm threshold (" + format_tick(t.y, t.y) + ")";
      g.thresholds.push_back(t);
    }
    figs.push_back({"grad_norm", "Gradient norm",
                    "The global gradient norm on a log scale; gaps are skipped steps (NaN/inf).",
                    drawn(g)});
    figs.push_back({"throughput", "Throughput", "Training tokens per second at each step.",
                    drawn(per_step_chart("Throughput", "throughput (tokens/s)", steps, tps))});
  }

  // Expert load per MoE layer: share of the layer's routed tokens per expert over the steps,
  // and the total per expert over the run.
  int64_t n_moe_layers = 0;
  for (const TrainLine& t : m.train)
    for (const MoeLoad& l : t.moe) n_moe_layers = std::max(n_moe_layers, l.layer + 1);
  for (int64_t layer = 0; layer < n_moe_layers; ++layer) {
    std::vector<int64_t> at;
    std::vector<std::vector<double>> loads;
    for (const TrainLine& t : m.train)
      for (const MoeLoad& l : t.moe)
        if (l.layer == layer && !l.load.empty()) {
          SF_CHECK(loads.empty() || l.load.size() == loads.front().size())
              << metrics_path << ": step " << t.step << ": MoE layer " << layer << " has "
              << l.load.size() << " experts, earlier steps " << loads.front().size();
          at.push_back(t.step);
          loads.push_back(l.load);
        }
    if (loads.empty()) continue;
    const size_t E = loads.front().size();
    const size_t group = (loads.size() + kMaxHeatmapColumns - 1) / kMaxHeatmapColumns;
    const size_t cols = (loads.size() + group - 1) / group;
    const std::string name = moe_layer_name(layer, cfg);
    Heatmap h;
    h.title = "Expert load, " + name;
    h.x_label = group > 1 ? "step (" + std::to_string(group) + " steps a column)" : "step";
    h.y_label = "routed expert";
    h.value_label = "share of the layer's tokens";
    h.rows = static_cast<int>(E);
    h.cols = static_cast<int>(cols);
    h.values.assign(E * cols, 0.0);
    std::vector<double> total(E, 0.0);
    for (size_t c = 0; c < cols; ++c) {
      std::vector<double> sum(E, 0.0);
      for (size_t k = c * group; k < std::min(loads.size(), (c + 1) * group); ++k)
        for (size_t e = 0; e < E; ++e)
          if (std::isfinite(loads[k][e])) sum[e] += loads[k][e], total[e] += loads[k][e];
      double all = 0;
      for (double v : sum) all += v;
      for (size_t e = 0; e < E; ++e) h.values[e * cols + c] = all > 0 ? sum[e] / all : kNaN;
      h.col_labels.push_back(std::to_string(at[c * group]));
    }
    for (size_t e = 0; e < E; ++e) h.row_labels.push_back(std::to_string(e));
    h.vmin = 0;
    auto hc = std::make_unique<Canvas>(kChartWidth, kChartHeight);
    draw(*hc, h);
    const std::string L = std::to_string(layer);
    figs.push_back(
        {"expert_load_layer" + L, "Expert load, " + name,
         "Each column is a logged step, each row a routed expert; the colour is the share of "
         "the layer's routed tokens the expert received (balanced: " +
             fixed(1.0 / double(E), 3) + ").",
         std::move(hc)});

    BarChart b;
    b.title = "Tokens per expert, " + name + " (whole run)";
    b.x_label = "routed expert";
    b.y_label = "tokens routed";
    double mean = 0;
    for (size_t e = 0; e < E; ++e) {
      b.categories.push_back(std::to_string(e));
      b.values.push_back(total[e]);
      mean += total[e] / double(E);
    }
    b.reference = mean;
    b.reference_label = "balanced load (mean)";
    auto bc = std::make_unique<Canvas>(kChartWidth, kChartHeight);
    draw(*bc, b);
    figs.push_back(
        {"expert_tokens_layer" + L, "Tokens per expert, " + name,
         "Tokens routed to each expert over all logged steps; the dashed line is the mean.",
         std::move(bc)});
  }

  // The summary table.
  SummaryTable table;
  auto row = [&table](const std::string& key, const std::string& value) { table.row(key, value); };
  row("run directory", run_dir);
  row("status", status);
  row("steps logged", std::to_string(m.train.size()) + " training, " +
                          std::to_string(m.eval.size()) + " evaluation lines");
  double final_loss = kNaN, best_loss = kNaN;
  for (const TrainLine& t : m.train)
    if (std::isfinite(t.loss)) {
      final_loss = t.loss;
      best_loss = std::isfinite(best_loss) ? std::min(best_loss, t.loss) : t.loss;
    }
  row("final train loss", fixed(final_loss, 4) + " (lowest " + fixed(best_loss, 4) + ")");
  if (!m.eval.empty())
    row("final val loss", fixed(m.eval.back().val_loss, 4) + " at step " +
                              std::to_string(m.eval.back().step) + " (perplexity " +
                              fixed(m.eval.back().val_ppl, 2) + ")");
  if (best != nullptr)
    row("best val loss", fixed(best->val_loss, 4) + " at step " + std::to_string(best->step));
  if (!m.train.empty()) {
    const TrainLine& t = m.train.back();
    row("tokens", with_commas(t.tokens));
    row("time", duration(t.elapsed_s));
    double tps_sum = 0;
    int64_t n = 0, skipped = 0, alarms = 0;
    for (const TrainLine& x : m.train) {
      if (std::isfinite(x.tokens_per_s)) tps_sum += x.tokens_per_s, ++n;
      skipped += x.skipped;
      alarms += x.alarm;
    }
    row("mean throughput",
        n ? with_commas(std::llround(tps_sum / double(n))) + " tokens/s" : "n/a");
    row("skipped steps / gradient alarms",
        std::to_string(skipped) + " / " + std::to_string(alarms));
  }
  if (params) row("parameters", with_commas(*params));
  if (cfg) {
    const ModelConfig& mc = cfg->model;
    std::string model = std::to_string(mc.n_layers) + " layers, d_model " +
                        std::to_string(mc.d_model) + ", vocabulary " +
                        std::to_string(mc.vocab_size) + ", attention " + mc.attention;
    if (mc.moe)
      model += ", MoE " + std::to_string(mc.moe->n_routed_experts) + " routed experts (top-" +
               std::to_string(mc.moe->top_k) + ") + " + std::to_string(mc.moe->n_shared_experts) +
               " shared";
    row("model", model);
  }
  std::string ck;
  for (int64_t s : ckpts) ck += (ck.empty() ? "" : ", ") + std::to_string(s);
  row("checkpoints", ckpts.empty() ? "none" : "steps " + ck);

  return write_page(out_dir, "seekforge run report: " + run_dir, "Run report", table, figs,
                    warnings);
}

}  // namespace seekforge::viz
