// The report of an RL post-training run (GRPO, PPO or evolution strategies): its metrics.jsonl
// read back, drawn as charts (reward and its terms, accuracy on training rollouts and on the
// held-out test set, response length, KL and clipping, time per step) and gathered with a
// summary table into one self-contained report.html. What `seekforge report RUN_DIR` runs when
// RUN_DIR holds rl.toml; report.h is the report of a pretraining run.
//
// The rules for metrics.jsonl are the training report's (report_parts.h): a torn last line is
// skipped with a warning, anything else malformed is an error naming the file and line. Any key
// may be missing or null; unknown keys are ignored. It reads the run directory only and writes
// nothing there but its own files (into out_dir when given).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "viz/report.h"

namespace seekforge::viz {

// A step line: one policy update (GRPO, PPO) or one generation (evolution strategies). Missing
// or null numbers are NaN.
struct RlStepLine {
  int64_t step = 0;
  double lr = 0;
  double reward_mean = 0, reward_std = 0;
  double reward_best = 0, best_fitness = 0;  // evolution strategies
  double accuracy = 0;                       // share of the rollouts that were correct
  double format_rate = 0, response_len = 0;  // response_len in tokens
  double kl = 0, clip_fraction = 0, ratio_std = 0, loss = 0, grad_norm = 0;
  double value_loss = 0, clip_eps = 0;  // PPO
  double rollout_s = 0, score_s = 0, update_s = 0;
  // Each reward term's mean over the rollouts, by name: "reward_format" is rewards["format"].
  std::map<std::string, double> rewards;
};

// An evaluation on the held-out test set (at step 0 before any update, every eval_every steps,
// and at the end).
struct RlEvalLine {
  int64_t step = 0;
  double test_accuracy = 0, test_format_rate = 0, test_response_len = 0, eval_s = 0;
};

struct RlMetrics {
  std::vector<RlStepLine> steps;  // in file order
  std::vector<RlEvalLine> evals;
  std::vector<std::string> reward_terms;  // every name in some step's rewards, sorted
  std::vector<std::string> warnings;      // e.g. the torn last line that was skipped
};

// Reads an RL run's metrics.jsonl. A line with a "test_*" or "eval_s" key is an evaluation; one
// with any step key ("reward_*", "accuracy", "kl", "rollout_s", ...) is a step; a line may be
// both. Throws naming the file and line when a line other than the last is not a JSON object
// with an integer "step" or a known key is not a number, and naming the file when there are no
// step or evaluation lines at all.
RlMetrics read_rl_metrics(const std::string& path);

// The charts of the report, in page order: reward, accuracy, response_length, kl_clip (only when
// some step has a KL or a clip fraction) and time; a chart with no number to draw is left out.
std::vector<ReportFigure> rl_figures(const RlMetrics& m);

// "held-out accuracy 38.0% -> 52.0%" from the first and last evaluation with a test accuracy,
// "held-out accuracy 38.0% (one evaluation)" when there is one, empty when there is none.
std::string held_out_accuracy_summary(const RlMetrics& m);

// Whether run_dir is an RL run: it holds rl.toml.
bool is_rl_run(const std::string& run_dir);

// Reads run_dir (metrics.jsonl, rl.toml, step-NNNNNN/ checkpoints) and writes report.html plus a
// PNG and an SVG of each chart into out_dir (default run_dir, created when missing). A missing
// or unreadable rl.toml, or one without [rl] algo or [task] name, only leaves those rows of the
// summary empty (with a warning). Warnings also go to stderr, each on a line of its own.
ReportResult write_rl_report(const std::string& run_dir, const std::string& out_dir = "");

}  // namespace seekforge::viz
