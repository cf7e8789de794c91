// The PPO clip range that follows the policy-ratio spread: PPO's adaptive KL penalty rule,
// applied to the clip range instead of a KL coefficient. A policy that moves fast (a wide
// spread of r = pi/pi_old over the batch's tokens) gets a tighter trust region; one that barely
// moves gets a wider one, up to `max`.
//
// What this is not: it does not measure anything. The caller passes the measured spread
// (ops::PolicyLossStats::ratio_std of the last update) and reads eps() for the next one.
//
// Thread safety: a value type; no internal locking.
#pragma once

namespace seekforge::rl {

struct AdaptiveClipOptions {
  double initial = 0.2, min = 0.05, max = 0.3;
  double target_spread = 0.05;
  double rate = 1.5;
};

class AdaptiveClip {
 public:
  // Validates: 0 < min <= initial <= max < 1, target_spread > 0, rate > 1 (errors name
  // "rl.ppo.<key>" with the field's name as the key).
  explicit AdaptiveClip(AdaptiveClipOptions options);
  double eps() const { return eps_; }
  // After an update: measured_spread = the std of the policy ratio over the batch's tokens.
  // Spread above 2*target: eps /= rate; below target/2: eps *= rate; otherwise unchanged; then
  // clamped to [min, max]. Returns the new eps.
  double update(double measured_spread);

 private:
  AdaptiveClipOptions options_;
  double eps_;
};

}  // namespace seekforge::rl
