#include "ops/matmul.h"

#include <gtest/gtest.h>

#include "kernels/gemm.h"
#include "ops/gradcheck.h"
#include "ops/shape.h"

namespace seekforge {
namespace {

using testing::expect_gradcheck;
using testing::rand_leaf;
using testing::rand_leaf_transposed;

// f64 GEMM is a blocked loop: results agree with central differences to ~1e-9.
TEST(MatmulGrad, ShapesTransposesAndBroadcast) {
  auto mm = [](const auto& in) { return ops::matmul(in[0], in[1]); };
  expect_gradcheck(mm, {rand_leaf({3, 5}, 1), rand_leaf({5, 4}, 2)});
  expect_gradcheck(mm, {rand_leaf_transposed({3, 5}, 3), rand_leaf_transposed({5, 2}, 4)});
  expect_gradcheck(mm, {rand_leaf({2, 3, 5}, 5), rand_leaf({5, 4}, 6)});        // folded rows
  expect_gradcheck(mm, {rand_leaf({3, 5}, 7), rand_leaf({2, 5, 4}, 8)});        // a broadcast
  expect_gradcheck(mm, {rand_leaf({2, 1, 3, 5}, 9), rand_leaf({3, 5, 2}, 10)});  // both
  expect_gradcheck(mm, {rand_leaf({5}, 11), rand_leaf({5, 3}, 12)});            // vector @ matrix
  expect_gradcheck(mm, {rand_leaf({2, 4, 5}, 13), rand_leaf({5}, 14)});         // matrix @ vector
  expect_gradcheck(
      [](const auto& in) { return ops::matmul(in[0], ops::transpose(in[1], -1, -2)); },
      {rand_leaf({2, 3, 6}, 15), rand_leaf({2, 4, 6}, 16)});
}

TEST(MatmulGrad, Linear) {
  expect_gradcheck([](const auto& in) { return ops::linear(in[0], in[1], in[2]); },
                   {rand_leaf({2, 3, 7}, 1), rand_leaf({5, 7}, 2), rand_leaf({5}, 3)});
  expect_gradcheck([](const auto& in) { return ops::linear(in[0], in[1]); },
                   {rand_leaf({4, 7}, 4), rand_leaf({3, 7}, 5)});
}

// The f32 path (oneDNN) against the naive twin on the same operands.
TEST(Matmul, Float32MatchesNaive) {
  Generator g(3);
  Tensor a = randn({3, 33, 65}, DType::f32, &g), b = randn({65, 17}, DType::f32, &g);
  Tensor c = ops::matmul(a, b);
  Tensor ref = zeros({99, 17});
  kernels::gemm_naive(kernels::gemm_shape(1, 99, 17, 65), a.data<float>(), b.data<float>(),
                      ref.data<float>(), 1.0f, 0.0f);
  auto x = c.to_vector_f32(), y = ref.to_vector_f32();
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(x[i], y[i], 1e-4f * (1 + std::abs(y[i])));
}

TEST(Matmul, WeightGradientIsContiguous) {
  Generator g(4);
  Tensor x = randn({2, 8, 16}, DType::f32, &g).set_requires_grad(true);
  Tensor w = randn({4, 16}, DType::f32, &g).set_requires_grad(true);
  ops::sum(ops::linear(x, w)).backward();
  EXPECT_TRUE(w.grad().is_contiguous());
  EXPECT_EQ(w.grad().shape(), w.shape());
}

TEST(Matmul, BadShapesNameTheOp) {
  try {
    ops::matmul(zeros({2, 3}), zeros({4, 5}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("matmul: Tensor[2, 3] f32 @ Tensor[4, 5] f32"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ops::matmul(zeros({2, 3}), zeros({3, 5}, DType::f64)), Error);
  EXPECT_THROW(ops::linear(zeros({2, 3}), zeros({4, 5})), Error);
  EXPECT_THROW(ops::matmul(zeros({2, 2, 3}), zeros({3, 3, 5})), Error);
}

}  // namespace
}  // namespace seekforge
