// An RL post-training run: the policy starts from a checkpoint (usually an SFT one), samples
// completions of the task's training problems, scores them with the rule-based rewards, and is
// updated by GRPO or PPO, or searched by evolution strategies. Held-out accuracy is measured at
// the start, every rl.eval_every steps and at the end.
//
// The run directory (rl.out_dir) holds rl.toml, config.toml (the policy's model), tokenizer.json,
// metrics.jsonl (one line per step: reward mean/std and parts, accuracy, format rate, KL, clip
// fraction, response length, rollout/scoring/update seconds; evaluations: test_accuracy ...) and
// checkpoints step-NNNNNN/ in the training format, so eval, generate, viz, sft and another rl
// run all read them.
#pragma once

#include <string>

#include "rl/rl_config.h"
#include "rl/task_eval.h"

namespace seekforge::rl {

struct RlOptions {
  std::string checkpoint;  // the starting policy
  bool quiet = false;
};

struct RlSummary {
  int64_t steps = 0;
  double initial_accuracy = 0, final_accuracy = 0;  // held-out, greedy
  double initial_format_rate = 0, final_format_rate = 0;
  std::string last_checkpoint;
  bool interrupted = false;
};

RlSummary run_rl(const RlConfig& config, const RlOptions& options);

// Held-out accuracy of a checkpoint on the config's task (no training).
TaskScore evaluate_checkpoint(const RlConfig& config, const std::string& checkpoint);

}  // namespace seekforge::rl
