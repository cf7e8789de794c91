#include "ops/reduce.h"

#include <gtest/gtest.h>

#include "core/threads.h"
#include "ops/gradcheck.h"

namespace seekforge {
namespace {

using testing::expect_gradcheck;
using testing::rand_leaf;
using testing::rand_leaf_transposed;

TEST(ReduceGrad, SumMeanOverDims) {
  expect_gradcheck([](const auto& in) { return ops::sum(in[0], {1}); }, {rand_leaf({3, 4, 5}, 1)});
  expect_gradcheck([](const auto& in) { return ops::sum(in[0], {0, 2}, true); },
                   {rand_leaf({3, 4, 5}, 2)});
  expect_gradcheck([](const auto& in) { return ops::mean(in[0], {-1}); },
                   {rand_leaf_transposed({3, 6}, 3)});
  expect_gradcheck([](const auto& in) { return ops::mean(in[0]); }, {rand_leaf({7}, 4)});
}

TEST(ReduceGrad, MaxAndLogsumexp) {
  expect_gradcheck([](const auto& in) { return ops::max(in[0], 1).values; },
                   {rand_leaf({4, 9}, 5)});
  expect_gradcheck([](const auto& in) { return ops::max(in[0], 0, true).values; },
                   {rand_leaf({4, 3, 2}, 6)});
  expect_gradcheck([](const auto& in) { return ops::logsumexp(in[0], -1); },
                   {rand_leaf({3, 11}, 7, -3, 3)});
  expect_gradcheck([](const auto& in) { return ops::logsumexp(in[0], 0, true); },
                   {rand_leaf_transposed({5, 4}, 8)});
}

TEST(Reduce, Values) {
  Tensor x = from_vector({1, 5, 2, 7, 0, 3}, {2, 3});
  EXPECT_EQ(ops::sum(x, {0}).to_vector_f32(), (std::vector<float>{8, 5, 5}));
  EXPECT_EQ(ops::mean(x, {1}).to_vector_f32(), (std::vector<float>{8.f / 3, 10.f / 3}));
  auto m = ops::max(x, 1);
  EXPECT_EQ(m.values.to_vector_f32(), (std::vector<float>{5, 7}));
  EXPECT_EQ(m.indices.data<int64_t>()[1], 0);
  EXPECT_EQ(ops::argmax(x, 0).data<int64_t>()[1], 0);
  EXPECT_NEAR(ops::logsumexp(x, 1).to_vector_f32()[0], 5.0658841f, 1e-5f);
  EXPECT_THROW(ops::sum(x, {2}), Error);
  EXPECT_THROW(ops::sum(x, {0, 0}), Error);
}

TEST(Reduce, LargeSumIsDeterministicAcrossThreadCounts) {
  Generator g(3);
  Tensor x = randn({1 << 20}, DType::f32, &g);
  const float a = ops::sum(x).item<float>();
  set_num_threads(1);
  const float b = ops::sum(x).item<float>();
  set_num_threads(2);
  EXPECT_EQ(a, b);
}

TEST(Reduce, SumToUndoesBroadcast) {
  Tensor g = ones({2, 3, 4});
  EXPECT_EQ(ops::sum_to(g, {3, 1}).to_vector_f32(), (std::vector<float>{8, 8, 8}));
  EXPECT_EQ(ops::sum_to(g, {4}).to_vector_f32(), (std::vector<float>{6, 6, 6, 6}));
}

}  // namespace
}  // namespace seekforge
