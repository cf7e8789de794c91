// Advantage estimators: GRPO group advantages by hand, GAE against the textbook double sum, and
// whitening.
#include "rl/advantage.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"

namespace seekforge {
namespace {

TEST(Advantage, GroupValuesByHand) {
  // Group 1: {1, 0, 0, 1}: mean 0.5, population std 0.5. Group 2: all 0.3: zeros, not NaN.
  const std::vector<double> rewards = {1, 0, 0, 1, 0.3, 0.3, 0.3, 0.3};
  const std::vector<double> a = rl::group_advantages(rewards, 4);
  const double d = 0.5 / (0.5 + 1e-4);
  const std::vector<double> want = {d, -d, -d, d, 0, 0, 0, 0};
  ASSERT_EQ(a.size(), want.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], want[i], 1e-12) << i;
  for (size_t i = 4; i < 8; ++i) EXPECT_EQ(a[i], 0.0);

  // Group {3, 1, 2}: mean 2, population std sqrt(2/3) (not the sample std sqrt(1)).
  const std::vector<double> b = rl::group_advantages({3, 1, 2}, 3, 0.0);
  EXPECT_NEAR(b[0], 1 / std::sqrt(2.0 / 3), 1e-12);
  EXPECT_NEAR(b[1], -1 / std::sqrt(2.0 / 3), 1e-12);
  EXPECT_EQ(b[2], 0.0);
  // eps = 0 and an all-equal group: still zeros, also when the rounded mean of the group is not
  // the shared value (0.1 + 0.1 + 0.1 = 0.30000000000000004, / 3 = 0.10000000000000002).
  for (double x : rl::group_advantages({2, 2}, 2, 0.0)) EXPECT_EQ(x, 0.0);
  for (bool scale : {true, false})
    for (double x : rl::group_advantages({0.1, 0.1, 0.1}, 3, 0.0, scale)) EXPECT_EQ(x, 0.0);
}

TEST(Advantage, GroupWithoutStdScaling) {
  const std::vector<double> a = rl::group_advantages({1, 0, 0, 1, 5, 1}, 3, 1e-4, false);
  const std::vector<double> want = {2.0 / 3, -1.0 / 3, -1.0 / 3, -4.0 / 3, 8.0 / 3, -4.0 / 3};
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], want[i], 1e-12) << i;
}

TEST(Advantage, GroupErrors) {
  try {
    rl::group_advantages({1, 2, 3, 4, 5}, 2);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("group_advantages: 5 rewards are not a whole number of "
                                         "groups of 2"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(rl::group_advantages({1, 2}, 0), Error);
  EXPECT_THROW(rl::group_advantages({1, NAN}, 2), Error);
}

// The textbook definition: A_t = sum_{t' >= t} (gamma*lambda)^(t'-t) delta_t'.
rl::GaeResult reference_gae(const std::vector<double>& r, const std::vector<double>& v,
                            double gamma, double lambda, double last_value) {
  const size_t T = r.size();
  std::vector<double> delta(T);
  for (size_t t = 0; t < T; ++t)
    delta[t] = r[t] + gamma * (t + 1 < T ? v[t + 1] : last_value) - v[t];
  rl::GaeResult out{std::vector<double>(T, 0.0), std::vector<double>(T)};
  for (size_t t = 0; t < T; ++t) {
    for (size_t u = t; u < T; ++u)
      out.advantages[t] += std::pow(gamma * lambda, static_cast<double>(u - t)) * delta[u];
    out.returns[t] = out.advantages[t] + v[t];
  }
  return out;
}

TEST(Gae, MatchesTheTextbookDoubleSum) {
  for (int64_t T : {1, 7, 40}) {
    std::vector<double> r(T), v(T);
    fill_normal(r.data(), T, 11, 0, 0.0, 1.0);
    fill_normal(v.data(), T, 12, 0, 0.0, 1.0);
    for (double gamma : {1.0, 0.99}) {
      for (double lambda : {0.0, 0.95, 1.0}) {
        for (double last : {0.0, 0.7}) {
          const rl::GaeResult got = rl::gae(r, v, gamma, lambda, last);
          const rl::GaeResult want = reference_gae(r, v, gamma, lambda, last);
          for (int64_t t = 0; t < T; ++t) {
            EXPECT_NEAR(got.advantages[t], want.advantages[t], 1e-10)
                << "T " << T << " gamma " << gamma << " lambda " << lambda << " t " << t;
            EXPECT_NEAR(got.returns[t], want.returns[t], 1e-10);
          }
        }
      }
    }
  }
}

TEST(Gae, LambdaOneGammaOneGivesRewardToGo) {
  const std::vector<double> r = {0.5, -1.0, 2.0, 0.25}, v = {3.0, -2.0, 0.1, 9.0};
  const rl::GaeResult g = rl::gae(r, v, 1.0, 1.0);
  const std::vector<double> to_go = {1.75, 1.25, 2.25, 0.25};
  for (size_t t = 0; t < r.size(); ++t) {
    EXPECT_NEAR(g.returns[t], to_go[t], 1e-12);
    EXPECT_NEAR(g.advantages[t], to_go[t] - v[t], 1e-12);
  }
  // lambda = 0: the one-step TD error.
  const rl::GaeResult td = rl::gae(r, v, 0.9, 0.0, 4.0);
  EXPECT_NEAR(td.advantages[3], 0.25 + 0.9 * 4.0 - 9.0, 1e-12);
  EXPECT_NEAR(td.advantages[0], 0.5 + 0.9 * -2.0 - 3.0, 1e-12);
}

TEST(Gae, Errors) {
  EXPECT_THROW(rl::gae({1, 2}, {1}, 1, 1), Error);
  EXPECT_THROW(rl::gae({1}, {1}, 1.5, 1), Error);
  EXPECT_THROW(rl::gae({1}, {1}, 1, -0.1), Error);
  EXPECT_TRUE(rl::gae({}, {}, 1, 1).advantages.empty());
}

TEST(Advantage, WhitenGivesMeanZeroStdOne) {
  std::vector<double> x(1000);
  fill_normal(x.data(), 1000, 5, 0, 3.0, 2.5);
  rl::whiten(x);
  double mean = 0, var = 0;
  for (double e : x) mean += e;
  mean /= 1000;
  for (double e : x) var += (e - mean) * (e - mean);
  var /= 1000;
  EXPECT_NEAR(mean, 0.0, 1e-12);
  EXPECT_NEAR(var, 1.0, 1e-8);

  std::vector<double> same = {0.1, 0.1, 0.1};
  rl::whiten(same);
  for (double e : same) EXPECT_EQ(e, 0.0);
  std::vector<double> empty;
  rl::whiten(empty);
  EXPECT_TRUE(empty.empty());
}

}  // namespace
}  // namespace seekforge
