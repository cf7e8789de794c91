// Advantage estimators for RL post-training: GRPO's group-relative advantages, GAE over one
// sequence (PPO with a value head), and whitening over a batch. docs/rl_algorithms.md gives the
// formulas and why each choice was made.
//
// What this is not: no tensors and no autograd. These work on plain host vectors of rewards and
// values that the rollout code collected; the loss (ops/policy_loss.h) consumes the result.
#pragma once

#include <cstdint>
#include <vector>

namespace seekforge::rl {

// GRPO: rewards laid out as groups of group_size consecutive completions of one prompt;
// A_i = (r_i - mean_g) / (std_g + eps) with the population std (divide by group_size, not
// group_size - 1: biased, as the GRPO paper's implementations compute it). scale_by_std = false
// gives r_i - mean_g (Dr. GRPO). A group whose rewards are all equal gets zeros, never NaN.
// Errors when rewards.size() is not a multiple of group_size, or a reward is not finite.
std::vector<double> group_advantages(const std::vector<double>& rewards, int64_t group_size,
                                     double eps = 1e-4, bool scale_by_std = true);

// GAE over one sequence: rewards[t] and values[t] for t in [0, T), the value after the last step
// is `last_value` (0 when the sequence ended). delta_t = r_t + gamma*V_{t+1} - V_t;
// A_t = delta_t + gamma*lambda*A_{t+1} (A_T = 0); returns_t = A_t + V_t (the lambda-return,
// the value head's target).
struct GaeResult {
  std::vector<double> advantages, returns;
};
GaeResult gae(const std::vector<double>& rewards, const std::vector<double>& values, double gamma,
              double lambda, double last_value = 0.0);

// Whitening of advantages over a batch: x <- (x - mean) / sqrt(var + 1e-8), population var. The
// caller passes only the entries that count (the masked ones). Empty: no-op; all equal: zeros.
void whiten(std::vector<double>& values);

}  // namespace seekforge::rl
