#include "rl/adaptive_clip.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace seekforge::rl {

AdaptiveClip::AdaptiveClip(AdaptiveClipOptions options) : options_(options), eps_(options.initial) {
  const auto& o = options_;
  SF_CHECK(std::isfinite(o.min) && o.min > 0) << "rl.ppo.min = " << o.min << ": must be > 0";
  SF_CHECK(std::isfinite(o.max) && o.max < 1) << "rl.ppo.max = " << o.max << ": must be < 1";
  SF_CHECK(o.min <= o.max) << "rl.ppo.min = " << o.min << ": must be <= rl.ppo.max (" << o.max
                           << ")";
  SF_CHECK(std::isfinite(o.initial) && o.initial >= o.min && o.initial <= o.max)
      << "rl.ppo.initial = " << o.initial << ": must be in [rl.ppo.min, rl.ppo.max] = [" << o.min
      << ", " << o.max << "]";
  SF_CHECK(std::isfinite(o.target_spread) && o.target_spread > 0)
      << "rl.ppo.target_spread = " << o.target_spread << ": must be > 0";
  SF_CHECK(std::isfinite(o.rate) && o.rate > 1) << "rl.ppo.rate = " << o.rate << ": must be > 1";
}

double AdaptiveClip::update(double measured_spread) {
  SF_CHECK(std::isfinite(measured_spread) && measured_spread >= 0)
      << "AdaptiveClip::update: measured spread " << measured_spread << " must be finite and >= 0";
  if (measured_spread > 2 * options_.target_spread) {
    eps_ /= options_.rate;
  } else if (measured_spread < options_.target_spread / 2) {
    eps_ *= options_.rate;
  }
  eps_ = std::clamp(eps_, options_.min, options_.max);
  return eps_;
}

}  // namespace seekforge::rl
