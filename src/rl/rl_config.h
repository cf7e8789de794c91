// The configuration of an RL post-training run (`seekforge rl --config FILE`): the algorithm and
// its settings ([rl], [rl.ppo], [rl.es]), the task ([task]) and the rewards ([[rl.reward]]).
// The policy's model comes from the starting checkpoint, not from this file.
//
// Errors name the file, the line and the key ("rl.toml:4:1: rl.group_size = 1: must be in
// [2, 1024]"); an unknown key is refused with the closest known one. Overrides
// "section.key=value" (rl.lr=1e-5, task.max_digits=3, rl.ppo.gamma=0.99) are applied before
// validation, as train's --set does. docs/rl.md lists every key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rl/rewards.h"
#include "rl/tasks.h"

namespace seekforge::rl {

struct PpoConfig {
  double gamma = 1.0;
  double lambda = 0.95;
  double vf_coef = 0.5;
  double value_clip = 0.2;     // <= 0: unclipped value loss
  bool adaptive_clip = true;   // the clip range follows the policy-ratio spread
  double clip_min = 0.05, clip_max = 0.3, target_spread = 0.05, clip_rate = 1.5;
  double replay_fraction = 0.25;  // share of each update batch replayed from older steps
  int64_t replay_capacity = 1024;
  int64_t replay_max_age = 4;
  double importance_clip = 1.0;  // truncation of replayed sequences' importance weights
  bool operator==(const PpoConfig&) const = default;
};

struct EsConfig {
  int64_t population = 8;
  int64_t elite = 2;
  double sigma = 0.002;  // weights are ~0.02: larger noise destroys what SFT taught
  double mutation_rate = 1.0;
  double crossover_rate = 0.5;
  int64_t problems = 64;  // the fixed problems every member is scored on
  bool operator==(const EsConfig&) const = default;
};

struct RlConfig {
  std::string algo = "grpo";  // "grpo" | "ppo" | "es"
  uint64_t seed = 0;
  int64_t steps = 100;  // RL steps (ES: generations)
  int64_t prompts_per_step = 16;
  int64_t group_size = 8;  // completions per prompt (GRPO's G; PPO samples this many too)
  int64_t max_tokens = 32;
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t top_k = 0;
  double lr = 1e-5;
  double min_lr = 1e-5;
  int64_t warmup_steps = 0;
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double clip_grad_norm = 1.0;
  int64_t epochs = 1;       // optimisation passes over each batch of rollouts
  int64_t minibatches = 1;  // optimiser steps per pass
  double clip_eps = 0.2;
  double clip_eps_high = -1.0;  // < 0: clip_eps
  double kl_coef = 0.04;
  std::string loss_mean = "token";  // "token" | "sequence"
  bool scale_by_std = true;
  double adv_eps = 1e-4;
  int64_t eval_every = 10;  // 0: only at the start and the end
  int64_t eval_problems = 200;
  int64_t checkpoint_every = 0;  // 0: only at the end
  int64_t keep_checkpoints = 2;
  int64_t log_every = 1;
  std::string out_dir = "runs/rl";
  PpoConfig ppo;
  EsConfig es;
  TaskConfig task;
  std::vector<RewardSpec> rewards;  // none in the file: default_reward_specs()
};

RlConfig parse_rl_config(const std::string& toml_text, const std::string& source,
                         const std::vector<std::string>& overrides = {});
RlConfig load_rl_config(const std::string& path, const std::vector<std::string>& overrides = {});
// Throws naming the key when a value is out of range.
void validate(const RlConfig& config);
// Every key, defaults included (what a run directory stores as rl.toml).
std::string rl_config_to_toml(const RlConfig& config);

}  // namespace seekforge::rl
