#include "rl/replay_buffer.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace seekforge::rl {

ReplayBuffer::ReplayBuffer(int64_t capacity, double reuse_fraction, int64_t max_age)
    : capacity_(capacity), reuse_fraction_(reuse_fraction), max_age_(max_age) {
  SF_CHECK(capacity > 0) << "ReplayBuffer: capacity " << capacity << " must be > 0";
  SF_CHECK(reuse_fraction >= 0 && reuse_fraction < 1)
      << "ReplayBuffer: reuse_fraction " << reuse_fraction << " outside [0, 1)";
  SF_CHECK(max_age >= 0) << "ReplayBuffer: max_age " << max_age << " must be >= 0";
}

void ReplayBuffer::add(std::vector<Experience> fresh) {
  if (fresh.empty()) return;
  const int64_t step = fresh.front().step;
  for (const Experience& e : fresh)
    SF_CHECK(e.step == step) << "ReplayBuffer::add: experiences of steps " << step << " and "
                             << e.step << " in one call";
  SF_CHECK(items_.empty() || items_.back().step <= step)
      << "ReplayBuffer::add: step " << step << " is older than the newest stored step "
      << items_.back().step;
  SF_CHECK(static_cast<int64_t>(fresh.size()) <= capacity_)
      << "ReplayBuffer::add: " << fresh.size() << " fresh experiences exceed the capacity "
      << capacity_;
  // Steps only grow, so the too-old experiences are a prefix of the deque.
  while (!items_.empty() && step - items_.front().step > max_age_) items_.pop_front();
  for (Experience& e : fresh) items_.push_back(std::move(e));
  while (size() > capacity_) items_.pop_front();
}

std::vector<const Experience*> ReplayBuffer::batch(int64_t step, uint64_t seed) const {
  std::vector<const Experience*> out, older;
  for (const Experience& e : items_) {
    if (e.step == step) {
      out.push_back(&e);
    } else if (e.step < step && step - e.step <= max_age_) {
      older.push_back(&e);
    }
  }
  const double wanted =
      std::round(reuse_fraction_ / (1.0 - reuse_fraction_) * static_cast<double>(out.size()));
  const size_t n_old = std::min(older.size(), static_cast<size_t>(wanted));
  // Partial Fisher-Yates: position i takes a uniform pick among the not yet taken [i, n). The
  // 64-bit modulo's bias (n / 2^64) is far below anything a batch can show.
  for (size_t i = 0; i < n_old; ++i) {
    const auto r = philox4x32(i, static_cast<uint64_t>(step), seed);
    const uint64_t bits = (uint64_t{r[0]} << 32) | r[1];
    const size_t j = i + static_cast<size_t>(bits % (older.size() - i));
    std::swap(older[i], older[j]);
    out.push_back(older[i]);
  }
  return out;
}

std::vector<double> importance_weights(const std::vector<double>& logp_now_sum,
                                       const std::vector<double>& logp_behaviour_sum,
                                       double clip_c) {
  const char* op = "importance_weights";
  SF_CHECK(logp_now_sum.size() == logp_behaviour_sum.size())
      << op << ": " << logp_now_sum.size() << " current sums but " << logp_behaviour_sum.size()
      << " behaviour sums";
  SF_CHECK(std::isfinite(clip_c) && clip_c > 0) << op << ": clip_c " << clip_c << " must be > 0";
  std::vector<double> w(logp_now_sum.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const double log_ratio = logp_now_sum[i] - logp_behaviour_sum[i];
    SF_CHECK(!std::isnan(log_ratio)) << op << ": sequence " << i << " has log-ratio nan ("
                                     << logp_now_sum[i] << " - " << logp_behaviour_sum[i] << ")";
    // min in log space: exp of a long sequence's log-ratio overflows long before clip_c matters.
    w[i] = log_ratio >= std::log(clip_c) ? clip_c : std::exp(log_ratio);
  }
  return w;
}

std::vector<double> batch_importance_weights(const std::vector<const Experience*>& batch,
                                             int64_t step, const std::vector<double>& logp_now_sum,
                                             double clip_c) {
  SF_CHECK(batch.size() == logp_now_sum.size())
      << "batch_importance_weights: " << batch.size() << " experiences but " << logp_now_sum.size()
      << " current sums";
  std::vector<double> behaviour(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    double s = 0;
    for (float x : batch[i]->behaviour_logp) s += x;
    behaviour[i] = s;
  }
  std::vector<double> w = importance_weights(logp_now_sum, behaviour, clip_c);
  for (size_t i = 0; i < batch.size(); ++i)
    if (batch[i]->step == step) w[i] = 1.0;
  return w;
}

}  // namespace seekforge::rl
