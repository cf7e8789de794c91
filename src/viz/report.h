// The report of a training run: its metrics.jsonl read back, drawn as charts (loss, learning
// rate, gradient norm, throughput, expert load per MoE layer) and gathered with a summary table
// into one self-contained report.html. What `seekforge report RUN_DIR` runs.
//
// It works on finished, early-stopped, interrupted and crashed runs alike: a torn last line
// (a crash mid-write) is skipped with a warning; anything else malformed is an error naming the
// file and line. It reads the run directory only; it never changes it except for the files it
// writes (into --out when given).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "viz/canvas.h"

namespace seekforge::viz {

// One MoE layer's routing at a step: tokens sent to each routed expert, the correction biases,
// tokens dropped by the capacity limit. `layer` counts MoE layers, not transformer layers.
struct MoeLoad {
  int64_t layer = 0;
  std::vector<double> load, bias;
  int64_t dropped = 0;
};

// A training line of metrics.jsonl. Missing or null numbers are NaN (a non-finite loss is
// written as null).
struct TrainLine {
  int64_t step = 0;
  double loss = 0, ce_loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0, mfu = 0, elapsed_s = 0;
  double aux_loss = 0, mtp_loss = 0;
  int64_t tokens = 0;
  bool skipped = false, alarm = false;
  std::vector<MoeLoad> moe;
};

// An evaluation line.
struct EvalLine {
  int64_t step = 0;
  double val_loss = 0, val_ppl = 0;
};

struct RunMetrics {
  std::vector<TrainLine> train;  // in file order
  std::vector<EvalLine> eval;
  std::vector<std::string> warnings;  // e.g. the torn last line that was skipped
};

// Reads a metrics.jsonl. Throws naming the file (and line) when it cannot be read, a line other
// than the last is not a JSON object with a numeric "step", a known key has the wrong type, or
// there are no training or evaluation lines at all. Lines with other keys only are ignored.
RunMetrics read_metrics(const std::string& path);

// One chart of a report: written as NAME.png and NAME.svg, shown under its heading with the
// caption below it.
struct ReportFigure {
  std::string name, heading, caption;
  std::unique_ptr<Canvas> canvas;
};

struct ReportResult {
  std::string html;                // path of report.html
  std::vector<std::string> files;  // every file written, report.html last
  std::vector<std::string> warnings;
};

// Reads run_dir (metrics.jsonl, config.toml if present, step-NNNNNN/ checkpoints) and writes
// report.html plus a PNG and an SVG of each chart into out_dir (default run_dir, created when
// missing). Warnings also go to stderr, each on a line of its own.
ReportResult write_report(const std::string& run_dir, const std::string& out_dir = "");

}  // namespace seekforge::viz
