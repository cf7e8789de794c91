// The fp16 loss scaler: growth after a window of clean steps, halving and a skipped step on each
// injected overflow, the counters, restore, and refused options.
#include "train/loss_scaler.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace seekforge::train {
namespace {

TEST(LossScaler, GrowsAfterACleanWindow) {
  LossScaler s({1024.0, 2.0, 0.5, 3});
  EXPECT_EQ(s.scale(), 1024.0);
  EXPECT_TRUE(s.update(false));
  EXPECT_TRUE(s.update(false));
  EXPECT_EQ(s.scale(), 1024.0);
  EXPECT_TRUE(s.update(false));
  EXPECT_EQ(s.scale(), 2048.0) << "the third clean step in a row doubles it";
  EXPECT_EQ(s.clean_streak(), 0);
  for (int i = 0; i < 3; ++i) s.update(false);
  EXPECT_EQ(s.scale(), 4096.0);
  EXPECT_EQ(s.overflow_steps(), 0);
}

TEST(LossScaler, AnOverflowSkipsTheStepHalvesAndRestartsTheWindow) {
  LossScaler s({1024.0, 2.0, 0.5, 3});
  s.update(false);
  s.update(false);
  EXPECT_FALSE(s.update(true)) << "the overflowed step must be skipped";
  EXPECT_EQ(s.scale(), 512.0);
  EXPECT_EQ(s.overflow_steps(), 1);
  EXPECT_EQ(s.clean_streak(), 0);
  // Two clean steps are not a window any more: the streak started again at the overflow.
  s.update(false);
  s.update(false);
  EXPECT_EQ(s.scale(), 512.0);
  EXPECT_FALSE(s.update(true));
  EXPECT_FALSE(s.update(true));
  EXPECT_EQ(s.scale(), 128.0);
  EXPECT_EQ(s.overflow_steps(), 3);
}

TEST(LossScaler, NeverReachesZeroOrInfinity) {
  LossScaler down({1.0, 2.0, 0.5, 1});
  for (int i = 0; i < 5000; ++i) down.update(true);
  EXPECT_GT(down.scale(), 0.0);
  LossScaler up({1e300, 2.0, 0.5, 1});
  for (int i = 0; i < 10; ++i) up.update(false);
  EXPECT_TRUE(std::isfinite(up.scale()));
}

TEST(LossScaler, RestoreContinuesTheSameSchedule) {
  LossScaler a({1024.0, 2.0, 0.5, 4}), b({1024.0, 2.0, 0.5, 4});
  for (bool o : {false, true, false, false}) a.update(o);
  b.restore(a.scale(), a.clean_streak(), a.overflow_steps());
  for (int i = 0; i < 6; ++i) {
    a.update(false);
    b.update(false);
    EXPECT_EQ(a.scale(), b.scale());
  }
  EXPECT_EQ(b.overflow_steps(), 1);
  EXPECT_THROW(b.restore(0.0, 0, 0), Error);
}

TEST(LossScaler, RefusesBadOptions) {
  EXPECT_THROW(LossScaler({0.0, 2.0, 0.5, 10}), Error);
  EXPECT_THROW(LossScaler({INFINITY, 2.0, 0.5, 10}), Error);
  EXPECT_THROW(LossScaler({1.0, 1.0, 0.5, 10}), Error);
  EXPECT_THROW(LossScaler({1.0, 2.0, 1.0, 10}), Error);
  EXPECT_THROW(LossScaler({1.0, 2.0, 0.5, 0}), Error);
}

}  // namespace
}  // namespace seekforge::train
