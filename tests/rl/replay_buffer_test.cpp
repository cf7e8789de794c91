// The replay buffer: batch composition (fresh first, then the reuse share of older steps drawn
// without replacement, deterministically), eviction by age and capacity, and the truncated
// importance weights.
#include "rl/replay_buffer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"

namespace seekforge {
namespace {

// n experiences of `step`, told apart by reward = step * 100 + index.
std::vector<rl::Experience> make_step(int64_t step, int n) {
  std::vector<rl::Experience> out(n);
  for (int i = 0; i < n; ++i) {
    out[i].step = step;
    out[i].reward = static_cast<double>(step * 100 + i);
    out[i].completion = {1, 2, 3};
    out[i].behaviour_logp = {-0.5f, -1.0f, -0.25f};
  }
  return out;
}

TEST(ReplayBuffer, BatchIsFreshThenTheReuseShareOfOlderSteps) {
  rl::ReplayBuffer buffer(100, 0.25, 10);  // 0.25 / 0.75 * 6 fresh = 2 replayed
  buffer.add(make_step(0, 6));
  buffer.add(make_step(1, 6));
  EXPECT_EQ(buffer.size(), 12);
  const auto batch = buffer.batch(1, 42);
  ASSERT_EQ(batch.size(), 8u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(batch[i]->reward, 100 + i);  // fresh, in order
  std::set<double> replayed;
  for (int i = 6; i < 8; ++i) {
    EXPECT_EQ(batch[i]->step, 0);  // never the current step
    replayed.insert(batch[i]->reward);
  }
  EXPECT_EQ(replayed.size(), 2u);  // without replacement

  // Deterministic in (seed, step); another seed draws differently somewhere.
  EXPECT_EQ(buffer.batch(1, 42), batch);
  bool differs = false;
  for (uint64_t seed = 0; seed < 20 && !differs; ++seed) differs = buffer.batch(1, seed) != batch;
  EXPECT_TRUE(differs);

  // The first step has nothing older: fresh only.
  rl::ReplayBuffer first(100, 0.5, 10);
  first.add(make_step(0, 4));
  EXPECT_EQ(first.batch(0, 1).size(), 4u);
}

TEST(ReplayBuffer, FewerWhenNotEnoughOlderAndNoneWithoutReuse) {
  rl::ReplayBuffer buffer(100, 0.75, 10);  // 3 replayed per fresh one
  buffer.add(make_step(0, 2));
  buffer.add(make_step(1, 4));  // wants 12 older, only 2 exist
  const auto batch = buffer.batch(1, 3);
  ASSERT_EQ(batch.size(), 6u);
  EXPECT_EQ(batch[4]->step, 0);
  EXPECT_EQ(batch[5]->step, 0);
  EXPECT_NE(batch[4], batch[5]);

  rl::ReplayBuffer no_reuse(100, 0.0, 10);
  no_reuse.add(make_step(0, 3));
  no_reuse.add(make_step(1, 3));
  EXPECT_EQ(no_reuse.batch(1, 3).size(), 3u);
}

TEST(ReplayBuffer, DrawsAreUniformOverOlderExperiences) {
  rl::ReplayBuffer buffer(1000, 0.5, 100);  // one replayed per fresh one
  buffer.add(make_step(0, 10));
  buffer.add(make_step(1, 1));
  std::vector<int> hits(10, 0);
  for (uint64_t seed = 0; seed < 5000; ++seed) {
    const auto batch = buffer.batch(1, seed);
    ASSERT_EQ(batch.size(), 2u);
    ++hits[static_cast<int>(batch[1]->reward)];
  }
  for (int h : hits) EXPECT_NEAR(h, 500, 100);  // ~5 standard deviations
}

TEST(ReplayBuffer, EvictsByAgeAndCapacity) {
  rl::ReplayBuffer buffer(10, 0.5, 2);
  buffer.add(make_step(0, 4));
  buffer.add(make_step(1, 4));
  EXPECT_EQ(buffer.size(), 8);
  buffer.add(make_step(2, 4));  // capacity 10: the two oldest of step 0 go
  EXPECT_EQ(buffer.size(), 10);
  buffer.add(make_step(3, 4));  // age: step 0 is 3 steps old (> max_age 2), and capacity
  EXPECT_EQ(buffer.size(), 10);
  for (const rl::Experience* e : buffer.batch(3, 0)) EXPECT_GE(e->step, 1);
  // Capacity to spare: age alone evicts, and only steps within max_age are replayed.
  rl::ReplayBuffer aged(100, 0.5, 1);
  aged.add(make_step(0, 2));
  aged.add(make_step(1, 2));
  aged.add(make_step(2, 2));
  EXPECT_EQ(aged.size(), 4);
  const auto batch = aged.batch(2, 0);
  ASSERT_EQ(batch.size(), 4u);
  for (size_t i = 2; i < 4; ++i) EXPECT_EQ(batch[i]->step, 1);
}

TEST(ReplayBuffer, Errors) {
  auto expect_error = [](auto f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error([] { rl::ReplayBuffer(0, 0.5, 1); }, "ReplayBuffer: capacity 0 must be > 0");
  expect_error([] { rl::ReplayBuffer(10, 1.0, 1); }, "reuse_fraction 1 outside [0, 1)");
  expect_error([] { rl::ReplayBuffer(10, 0.5, -1); }, "max_age -1 must be >= 0");
  rl::ReplayBuffer buffer(4, 0.5, 1);
  expect_error([&] { buffer.add(make_step(0, 5)); }, "5 fresh experiences exceed the capacity 4");
  auto mixed = make_step(0, 2);
  mixed[1].step = 1;
  expect_error([&] { buffer.add(mixed); }, "experiences of steps 0 and 1 in one call");
  buffer.add(make_step(3, 1));
  expect_error([&] { buffer.add(make_step(2, 1)); },
               "step 2 is older than the newest stored step 3");
}

TEST(ReplayBuffer, ImportanceWeightsAreTruncatedRatios) {
  const std::vector<double> now = {-3.0, -1.0, -2.0, -1000.0, 500.0};
  const std::vector<double> behaviour = {-2.5, -1.5, -2.0, -1.0, -1.0};
  const std::vector<double> w = rl::importance_weights(now, behaviour);
  EXPECT_NEAR(w[0], std::exp(-0.5), 1e-15);
  EXPECT_EQ(w[1], 1.0);  // exp(0.5) truncated at c = 1
  EXPECT_EQ(w[2], 1.0);
  EXPECT_EQ(w[3], 0.0);  // underflows to 0, harmless
  EXPECT_EQ(w[4], 1.0);  // would overflow: the truncation is taken in log space
  const std::vector<double> c2 = rl::importance_weights(now, behaviour, 2.0);
  EXPECT_NEAR(c2[1], std::exp(0.5), 1e-15);
  EXPECT_EQ(c2[4], 2.0);
  EXPECT_THROW(rl::importance_weights({1.0}, {}), Error);
  EXPECT_THROW(rl::importance_weights({1.0}, {1.0}, 0.0), Error);
}

TEST(ReplayBuffer, BatchImportanceWeightsGiveFreshOnesOne) {
  rl::ReplayBuffer buffer(100, 0.5, 5);
  buffer.add(make_step(0, 2));
  buffer.add(make_step(1, 2));
  const auto batch = buffer.batch(1, 9);
  ASSERT_EQ(batch.size(), 4u);
  // Behaviour sums are -1.75 for every experience.
  const std::vector<double> now = {-5.0, -5.0, -2.75, -0.5};
  const std::vector<double> w = rl::batch_importance_weights(batch, 1, now, 1.0);
  EXPECT_EQ(w[0], 1.0);
  EXPECT_EQ(w[1], 1.0);
  EXPECT_NEAR(w[2], std::exp(-1.0), 1e-7);
  EXPECT_EQ(w[3], 1.0);
  EXPECT_THROW(rl::batch_importance_weights(batch, 1, {1.0}, 1.0), Error);
}

}  // namespace
}  // namespace seekforge
