// Experience replay for RL post-training: keeps the rollouts of recent steps so that a share of
// each training batch reuses older ones (off-policy, corrected by truncated importance weights).
//
// What this is not: no sampling of the model and no loss. It stores Experience values, picks
// which go in a batch, and computes the importance weights from log-probability sums the caller
// measured.
//
// Ownership: the buffer owns its experiences; batch() returns pointers into it that stay valid
// until the next add(). Thread safety: none; const members may be called concurrently.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "rl/experience.h"

namespace seekforge::rl {

class ReplayBuffer {
 public:
  // capacity: experiences kept (oldest evicted first); reuse_fraction in [0, 1): the share of
  // each training batch taken from older steps' experiences; max_age >= 0: an experience of step
  // s is evicted (and never replayed) once the step is more than s + max_age.
  ReplayBuffer(int64_t capacity, double reuse_fraction, int64_t max_age);
  // All with the same step, no older than the newest step already stored. Evicts what max_age
  // and capacity say; more fresh experiences than capacity is an error.
  void add(std::vector<Experience> fresh);
  // The batch for step `step`: the fresh experiences of that step (in the order added), then
  // round(reuse_fraction / (1 - reuse_fraction) * n_fresh) older ones (step - max_age <= their
  // step < step) drawn without replacement, fewer when not enough. The draw is a partial
  // Fisher-Yates shuffle on Philox numbers keyed by `seed` with `step` in the counter:
  // deterministic.
  std::vector<const Experience*> batch(int64_t step, uint64_t seed) const;
  int64_t size() const { return static_cast<int64_t>(items_.size()); }

 private:
  int64_t capacity_;
  double reuse_fraction_;
  int64_t max_age_;
  std::deque<Experience> items_;  // in insertion order: oldest first
};

// Importance weights of replayed sequences: w = min(exp(sum_t (logp_now - logp_behaviour)),
// clip_c) per sequence (truncated importance sampling, as V-trace and ACER truncate it). Inputs
// are per-sequence sums. Every entry is treated as replayed; the current step's own experiences
// get weight 1 from batch_importance_weights below (or the caller leaves them out).
std::vector<double> importance_weights(const std::vector<double>& logp_now_sum,
                                       const std::vector<double>& logp_behaviour_sum,
                                       double clip_c = 1.0);

// The same for a batch from ReplayBuffer::batch: 1 for experiences of `step` (their behaviour
// policy is the current one), the truncated weight from each experience's behaviour_logp sum
// for the rest. logp_now_sum[i] belongs to batch[i].
std::vector<double> batch_importance_weights(const std::vector<const Experience*>& batch,
                                             int64_t step, const std::vector<double>& logp_now_sum,
                                             double clip_c = 1.0);

}  // namespace seekforge::rl
