// The RL post-training losses as fused ops with hand-written backwards: the clipped policy
// surrogate of PPO / GRPO (with the k3 KL penalty to a frozen reference) and PPO's clipped value
// loss. docs/rl_algorithms.md gives every formula as implemented here.
//
// What this is not: no rollouts, no advantage estimation (rl/advantage.h), no optimiser step.
// The inputs are per-token log-probabilities that the caller gathered from the model's logits.
//
// Legend: B sequences, T completion positions (padded; `mask` says which count).
#pragma once

#include "core/tensor.h"

namespace seekforge::ops {

struct PolicyLossOptions {
  double clip_eps = 0.2;       // ratio clipped to [1 - clip_eps, 1 + clip_eps_high]
  double clip_eps_high = -1;   // < 0: same as clip_eps (DAPO's clip-higher when larger)
  double kl_coef = 0.0;        // beta; 0: no KL term (ref_logp may be undefined)
  bool sequence_mean = false;  // false: token-level mean over all completion tokens of the batch
                               // (sum m*l / sum m); true: mean over sequences of each sequence's
                               // token mean (the original GRPO)
};

// Monitoring values of one policy_loss call (no gradient). ratio_* and kl_mean are plain means
// over the counted tokens; surrogate is the surrogate term exactly as the loss reduces it
// (weights and sequence_mean included), so loss = -surrogate + kl_coef * (the KL term).
struct PolicyLossStats {
  double clip_fraction = 0, kl_mean = 0, ratio_mean = 0, ratio_std = 0, ratio_max = 0;
  double surrogate = 0;
};

// logp [B, T] f32 or f64 (requires grad: the current policy's log-probabilities of the taken
// tokens); old_logp [B, T] (the policy that sampled, or the weights before this batch's
// updates); ref_logp [B, T] (the frozen reference; may be undefined when kl_coef is 0);
// advantages [B] (one per sequence, GRPO) or [B, T] (per token, PPO/GAE); mask [B, T] of 0 and 1
// (1 = a completion token that counts); sample_weights [B] optional (importance weights of
// replayed rollouts, multiplying each sequence's terms; undefined = 1).
//
// Per token: r = exp(logp - old_logp), surrogate s = min(r*A, clip(r, 1 - eps, 1 + eps_high)*A),
// KL k = exp(ref - logp) - (ref - logp) - 1 (the k3 estimator: unbiased for KL(pi || ref),
// always >= 0), l = w_b * (-s + kl_coef * k). Token mean: sum m*l / sum m. Sequence mean: the mean
// over sequences with a counted token of sum_t m*l / sum_t m. No counted token: 0 with zero
// gradient. Returns a 0-d tensor of logp's dtype with a gradient to logp only; fills `stats`
// when given. Forward and backward run in double whatever the dtype.
Tensor policy_loss(const Tensor& logp, const Tensor& old_logp, const Tensor& ref_logp,
                   const Tensor& advantages, const Tensor& mask, const PolicyLossOptions& options,
                   PolicyLossStats* stats = nullptr, const Tensor& sample_weights = Tensor());

// PPO value loss: 0.5 * (masked token mean) of max((v - R)^2, (old_v + clamp(v - old_v, -clip,
// clip) - R)^2); clip <= 0: plain 0.5 * (v - R)^2. values [B, T] (requires grad), old_values,
// returns, mask [B, T]. Returns a 0-d tensor of values' dtype with a gradient to values only.
Tensor value_loss(const Tensor& values, const Tensor& old_values, const Tensor& returns,
                  const Tensor& mask, double clip);

}  // namespace seekforge::ops
