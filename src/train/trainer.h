// The training loop of pretraining and of supervised fine-tuning (data.sft is only another data
// source): gradient accumulation, AdamW with decay on matrices only, the learning-rate schedule,
// clipping, the MoE bias update, evaluation, checkpoints (periodic, at the end and on
// SIGINT/SIGTERM), exact resume, starting from another run's weights (train.init_from), early
// stopping, and a guard against NaN/inf steps. Writes the run directory (config.toml,
// metrics.jsonl, step-NNNNNN/ checkpoints, and tokenizer.json when the data has a tokenizer).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "io/config.h"

namespace seekforge::nn {
class Transformer;
}

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

// Observers of a run (live monitoring). All are called on the training thread, between steps,
// never while weights change; each is optional. They must be quick: the loop waits for them.
// An exception thrown by one stops the run like any other error.
struct TrainHooks {
  // Once, after the model is built (and resumed), before the first step.
  std::function<void(const nn::Transformer& model, int64_t step)> on_start;
  // Every metrics.jsonl line, right after it is written (training steps and evaluations).
  std::function<void(const nlohmann::json& line)> on_metrics;
  // After each checkpoint is saved: its directory and step.
  std::function<void(const std::string& dir, int64_t step)> on_checkpoint;
  // After each step's logging, evaluation and checkpoint; the model may be read or run
  // (e.g. to generate a sample), but must be left as it was.
  std::function<void(nn::Transformer& model, int64_t step)> on_step;
};

struct TrainOptions {
  std::string resume_from;  // a checkpoint directory; empty: a fresh run
  bool quiet = false;       // no progress lines on stdout
  TrainHooks hooks;
};

TrainSummary run_training(const Config& config, const TrainOptions& options = {});

}  // namespace seekforge::train
