// The adaptive PPO clip range: the update rule at each band and the clamps, and the validation.
#include "rl/adaptive_clip.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace seekforge {
namespace {

TEST(AdaptiveClip, TightensWidensAndClamps) {
  rl::AdaptiveClip clip({});  // initial 0.2 in [0.05, 0.3], target 0.05, rate 1.5
  EXPECT_EQ(clip.eps(), 0.2);
  EXPECT_NEAR(clip.update(0.2), 0.2 / 1.5, 1e-15);   // spread > 2 * target: tighter
  EXPECT_NEAR(clip.update(0.05), 0.2 / 1.5, 1e-15);  // inside the band: unchanged
  EXPECT_NEAR(clip.update(0.1), 0.2 / 1.5, 1e-15);   // exactly 2 * target: unchanged
  EXPECT_NEAR(clip.update(0.01), 0.2, 1e-15);        // spread < target / 2: wider
  EXPECT_NEAR(clip.update(0.0), 0.3, 1e-15);         // 0.3 clamped to max
  EXPECT_NEAR(clip.update(0.0), 0.3, 1e-15);
  for (int i = 0; i < 10; ++i) clip.update(1.0);
  EXPECT_NEAR(clip.eps(), 0.05, 1e-15);  // clamped to min
}

TEST(AdaptiveClip, ValidationNamesTheKey) {
  auto expect_key = [](rl::AdaptiveClipOptions o, const std::string& needle) {
    try {
      rl::AdaptiveClip clip(o);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_key({.initial = 0.5}, "rl.ppo.initial = 0.5: must be in [rl.ppo.min, rl.ppo.max]");
  expect_key({.min = 0}, "rl.ppo.min = 0: must be > 0");
  expect_key({.min = 0.4}, "rl.ppo.min = 0.4: must be <= rl.ppo.max (0.3)");
  expect_key({.max = 1.5}, "rl.ppo.max = 1.5: must be < 1");
  expect_key({.target_spread = -1}, "rl.ppo.target_spread = -1: must be > 0");
  expect_key({.rate = 1}, "rl.ppo.rate = 1: must be > 1");
  rl::AdaptiveClip clip({});
  EXPECT_THROW(clip.update(-1), Error);
}

}  // namespace
}  // namespace seekforge
