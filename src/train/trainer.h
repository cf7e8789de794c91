// The pretraining loop: gradient accumulation, AdamW with decay on matrices only, the learning-
// rate schedule, clipping, the MoE bias update, evaluation, checkpoints (periodic, at the end and
// on SIGINT/SIGTERM), exact resume, early stopping, and a guard against NaN/inf steps. Writes
// the run directory (config.toml, metrics.jsonl, step-NNNNNN/ checkpoints).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "io/config.h"

namespace seekforge::train {

// Set by the SIGINT/SIGTERM handlers the trainer installs; tests may set it directly.
std::atomic<bool>& stop_requested();

enum class TrainResult { finished, early_stopped, interrupted, diverged };

struct TrainSummary {
  TrainResult result = TrainResult::finished;
  int64_t step = 0;              // optimiser steps taken
  double last_loss = 0;
  double best_val_loss = 0;      // +inf when never evaluated
  int64_t skipped_steps = 0;
  std::string last_checkpoint;
};

struct TrainOptions {
  std::string resume_from;  // a checkpoint directory; empty: a fresh run
  bool quiet = false;       // no progress lines on stdout
};

TrainSummary run_training(const Config& config, const TrainOptions& options = {});

}  // namespace seekforge::train
