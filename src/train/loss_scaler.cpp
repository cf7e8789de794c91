#include "train/loss_scaler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace seekforge::train {

LossScaler::LossScaler(const LossScalerOptions& options) : opt_(options), scale_(options.init_scale) {
  SF_CHECK(std::isfinite(opt_.init_scale) && opt_.init_scale > 0)
      << "loss scaler: initial scale " << opt_.init_scale << " must be positive and finite";
  SF_CHECK(opt_.growth > 1 && opt_.backoff > 0 && opt_.backoff < 1)
      << "loss scaler: growth " << opt_.growth << " must exceed 1 and backoff " << opt_.backoff
      << " lie in (0, 1)";
  SF_CHECK(opt_.growth_interval >= 1)
      << "loss scaler: growth interval " << opt_.growth_interval << " must be at least 1";
}

bool LossScaler::update(bool overflowed) {
  if (overflowed) {
    ++overflows_;
    clean_ = 0;
    // A scale below the smallest normal double would make every loss zero: stop halving there.
    scale_ = std::max(scale_ * opt_.backoff, 1e-300);
    return false;
  }
  if (++clean_ >= opt_.growth_interval) {
    const double grown = scale_ * opt_.growth;
    if (std::isfinite(grown)) scale_ = grown;
    clean_ = 0;
  }
  return true;
}

void LossScaler::restore(double scale, int64_t clean_streak, int64_t overflow_steps) {
  SF_CHECK(std::isfinite(scale) && scale > 0)
      << "loss scaler: saved scale " << scale << " must be positive and finite";
  scale_ = scale;
  clean_ = clean_streak;
  overflows_ = overflow_steps;
}

}  // namespace seekforge::train
