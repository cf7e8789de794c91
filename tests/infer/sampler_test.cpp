// Tests of the next-token sampler: greedy and its equivalents (top_k = 1, tiny top_p),
// temperature, top-k and top-p kept sets, empirical frequencies against softmax, seed
// determinism and resumption by counter, and option and logit validation.
#include "infer/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"

namespace seekforge::infer {
namespace {

std::vector<double> softmax(const std::vector<float>& l, double temperature = 1.0) {
  double m = -INFINITY, z = 0.0;
  for (float v : l) m = std::max(m, double(v));
  std::vector<double> p(l.size());
  for (size_t i = 0; i < l.size(); ++i) z += p[i] = std::exp((l[i] - m) / temperature);
  for (double& v : p) v /= z;
  return p;
}

SamplingOptions opts(double temperature, int64_t top_k, double top_p, uint64_t seed = 0) {
  SamplingOptions o;
  o.temperature = temperature;
  o.top_k = top_k;
  o.top_p = top_p;
  o.seed = seed;
  return o;
}

template <typename Fn>
void expect_error(Fn&& fn, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

const std::vector<float> kLogits = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f, -INFINITY};

TEST(Sampler, GreedyTakesLowestArgmax) {
  Sampler s(opts(0.0, 0, 1.0));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.sample(kLogits.data(), 6), 1);  // 1 and 3 tie
  EXPECT_EQ(s.counter(), 10u);  // greedy consumes counters too
  const auto p = s.distribution(kLogits.data(), 6);
  EXPECT_EQ(p, (std::vector<double>{0, 1, 0, 0, 0, 0}));
  const std::vector<float> one = {3.0f};
  EXPECT_EQ(s.sample(one.data(), 1), 0);
}

TEST(Sampler, TopKOneAndTinyTopPAreGreedy) {
  for (uint64_t seed : {0u, 1u, 7u}) {
    Sampler k1(opts(1.0, 1, 1.0, seed));
    Sampler p0(opts(1.0, 0, 1e-9, seed));
    Sampler hot(opts(5.0, 1, 1.0, seed));
    for (int i = 0; i < 200; ++i) {
      EXPECT_EQ(k1.sample(kLogits.data(), 6), 1);
      EXPECT_EQ(p0.sample(kLogits.data(), 6), 1);
      EXPECT_EQ(hot.sample(kLogits.data(), 6), 1);
    }
  }
}

TEST(Sampler, KeptSets) {
  const std::vector<float> l = {std::log(0.05f), std::log(0.5f), std::log(0.15f), std::log(0.3f)};
  auto kept = [&](SamplingOptions o) {
    const auto p = Sampler(o).distribution(l.data(), 4);
    std::vector<int> k;
    for (int i = 0; i < 4; ++i) k.push_back(p[size_t(i)] > 0);
    return k;
  };
  EXPECT_EQ(kept(opts(1.0, 2, 1.0)), (std::vector<int>{0, 1, 0, 1}));
  EXPECT_EQ(kept(opts(1.0, 0, 0.75)), (std::vector<int>{0, 1, 0, 1}));  // 0.5 + 0.3 >= 0.75
  EXPECT_EQ(kept(opts(1.0, 0, 0.85)), (std::vector<int>{0, 1, 1, 1}));  // + 0.15
  EXPECT_EQ(kept(opts(1.0, 0, 0.5)), (std::vector<int>{0, 1, 0, 0}));   // 0.5 alone reaches
  EXPECT_EQ(kept(opts(1.0, 3, 0.9)), (std::vector<int>{0, 1, 1, 1}));   // 0.5/.95+0.3/.95 < .9
  EXPECT_EQ(kept(opts(1.0, 0, 1.0)), (std::vector<int>{1, 1, 1, 1}));
  // top-k renormalises before top-p: among {0.5, 0.3}, 0.5/0.8 = 0.625 >= 0.6.
  EXPECT_EQ(kept(opts(1.0, 2, 0.6)), (std::vector<int>{0, 1, 0, 0}));
  // Renormalised values.
  const auto p = Sampler(opts(1.0, 2, 1.0)).distribution(l.data(), 4);
  EXPECT_NEAR(p[1], 0.5 / 0.8, 1e-6);
  EXPECT_NEAR(p[3], 0.3 / 0.8, 1e-6);
  // Ties are kept by lower index: top_k = 1 of two equal logits keeps the first.
  const std::vector<float> tie = {1.0f, 3.0f, 3.0f};
  const auto t = Sampler(opts(1.0, 1, 1.0)).distribution(tie.data(), 3);
  EXPECT_EQ(t, (std::vector<double>{0, 1, 0}));
}

TEST(Sampler, FrequenciesMatchSoftmax) {
  const std::vector<float> l = {1.0f, 0.0f, -0.5f, 2.0f};
  for (double temperature : {1.0, 2.0, 0.5}) {
    const auto want = softmax(l, temperature);
    Sampler s(opts(temperature, 0, 1.0, 123));
    const auto dist = s.distribution(l.data(), 4);
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(dist[size_t(i)], want[size_t(i)], 1e-6);
    std::vector<int> counts(4, 0);
    const int n = 20000;
    for (int i = 0; i < n; ++i) counts[size_t(s.sample(l.data(), 4))]++;
    for (int i = 0; i < 4; ++i) {
      // Standard error <= 0.0036 at n = 20000; 0.015 is over 4 of them.
      EXPECT_NEAR(counts[size_t(i)] / double(n), want[size_t(i)], 0.015)
          << "token " << i << " temperature " << temperature;
    }
  }
  // With top-k the frequencies follow the renormalised survivors.
  Sampler s(opts(1.0, 2, 1.0, 5));
  const auto want = s.distribution(l.data(), 4);
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 20000; ++i) counts[size_t(s.sample(l.data(), 4))]++;
  EXPECT_EQ(counts[1] + counts[2], 0);
  EXPECT_NEAR(counts[3] / 20000.0, want[3], 0.015);
}

TEST(Sampler, SeedDeterminismAndResume) {
  std::vector<float> l(100);
  for (int i = 0; i < 100; ++i) l[size_t(i)] = std::sin(i * 0.37f) * 2.0f;
  auto run = [&](uint64_t seed, int n) {
    Sampler s(opts(0.9, 40, 0.95, seed));
    std::vector<int64_t> out;
    for (int i = 0; i < n; ++i) out.push_back(s.sample(l.data(), 100));
    return out;
  };
  EXPECT_EQ(run(11, 300), run(11, 300));
  EXPECT_NE(run(11, 300), run(12, 300));
  // Resume: a fresh sampler set to counter 200 repeats draws 200..299.
  const auto all = run(11, 300);
  Sampler r(opts(0.9, 40, 0.95, 11));
  r.set_counter(200);
  for (int i = 200; i < 300; ++i) EXPECT_EQ(r.sample(l.data(), 100), all[size_t(i)]);
}

TEST(Sampler, NeverPicksMinusInfinity) {
  const std::vector<float> l = {-INFINITY, 0.0f, -INFINITY, 0.0f};
  Sampler s(opts(1.0, 0, 1.0, 3));
  for (int i = 0; i < 1000; ++i) {
    const int64_t t = s.sample(l.data(), 4);
    EXPECT_TRUE(t == 1 || t == 3);
  }
}

TEST(Sampler, ValidatesOptionsAndLogits) {
  expect_error([] { Sampler s(opts(-0.1, 0, 1.0)); }, "temperature");
  expect_error([] { Sampler s(opts(NAN, 0, 1.0)); }, "temperature");
  expect_error([] { Sampler s(opts(1.0, -1, 1.0)); }, "top_k");
  expect_error([] { Sampler s(opts(1.0, 0, 0.0)); }, "top_p");
  expect_error([] { Sampler s(opts(1.0, 0, 1.5)); }, "top_p");
  Sampler s(opts(1.0, 0, 1.0));
  const std::vector<float> bad = {0.0f, NAN};
  expect_error([&] { s.sample(bad.data(), 2); }, "logit 1");
  const std::vector<float> inf = {INFINITY, 0.0f};
  expect_error([&] { s.sample(inf.data(), 2); }, "logit 0");
  const std::vector<float> none = {-INFINITY, -INFINITY};
  expect_error([&] { s.sample(none.data(), 2); }, "all 2 logits are -inf");
  expect_error([&] { s.sample(bad.data(), 0); }, "vocabulary size 0");
}

}  // namespace
}  // namespace seekforge::infer
