#include "ops/elementwise.h"

#include <gtest/gtest.h>

#include "ops/gradcheck.h"

namespace seekforge {
namespace {

using testing::expect_gradcheck;
using testing::rand_leaf;
using testing::rand_leaf_transposed;

// Binary ops with broadcasting and non-contiguous operands; tolerance 1e-6 abs + 1e-5 rel.
TEST(ElementwiseGrad, BinaryBroadcast) {
  for (auto op : {ops::add, ops::sub, ops::mul}) {
    expect_gradcheck([&](const auto& in) { return op(in[0], in[1]); },
                     {rand_leaf({3, 5}, 1), rand_leaf({5}, 2)});
    expect_gradcheck([&](const auto& in) { return op(in[0], in[1]); },
                     {rand_leaf_transposed({4, 3}, 3), rand_leaf({4, 1}, 4)});
  }
  expect_gradcheck([](const auto& in) { return ops::div(in[0], in[1]); },
                   {rand_leaf({2, 3, 4}, 5), rand_leaf({3, 1}, 6, 0.5, 2.0)});
}

TEST(ElementwiseGrad, Unary) {
  auto x = [] { return rand_leaf({3, 7}, 11, -2, 2); };
  auto pos = [] { return rand_leaf({3, 7}, 12, 0.2, 3); };
  expect_gradcheck([](const auto& in) { return ops::exp(in[0]); }, {x()});
  expect_gradcheck([](const auto& in) { return ops::log(in[0]); }, {pos()});
  expect_gradcheck([](const auto& in) { return ops::sqrt(in[0]); }, {pos()});
  expect_gradcheck([](const auto& in) { return ops::rsqrt(in[0]); }, {pos()});
  expect_gradcheck([](const auto& in) { return ops::tanh(in[0]); }, {x()});
  expect_gradcheck([](const auto& in) { return ops::sigmoid(in[0]); }, {x()});
  expect_gradcheck([](const auto& in) { return ops::silu(in[0]); }, {x()});
  expect_gradcheck([](const auto& in) { return ops::gelu(in[0]); }, {x()});
  expect_gradcheck([](const auto& in) { return ops::gelu(in[0], ops::GeluApprox::tanh); }, {x()});
  expect_gradcheck([](const auto& in) { return ops::pow(in[0], 3.0); }, {x()});
  expect_gradcheck([](const auto& in) { return ops::neg(ops::add(ops::mul(in[0], 2.5), 1.0)); },
                   {rand_leaf_transposed({5, 2}, 13)});
}

TEST(Elementwise, ValuesMatchScalarMath) {
  Tensor a = from_vector({-1, 0, 2}, {3});
  auto g = ops::gelu(a).to_vector_f32();
  EXPECT_NEAR(g[0], -0.158655254f, 1e-6f);
  EXPECT_NEAR(g[2], 1.954499736f, 1e-6f);
  auto s = ops::silu(a).to_vector_f32();
  EXPECT_NEAR(s[0], -0.268941421f, 1e-6f);
  EXPECT_EQ(ops::relu(a).to_vector_f32(), (std::vector<float>{0, 0, 2}));
}

TEST(Elementwise, BadInputsNameTheOp) {
  Tensor a = zeros({2, 3}), b = zeros({4});
  try {
    ops::add(a, b);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("add: shapes [2, 3] and [4]"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ops::mul(a, zeros({2, 3}, DType::f64)), Error);
  EXPECT_THROW(ops::exp(zeros({2}, DType::i64)), Error);
}

}  // namespace
}  // namespace seekforge
