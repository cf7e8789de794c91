#include "ops/shape.h"

#include <gtest/gtest.h>

#include "ops/gradcheck.h"

namespace seekforge {
namespace {

using testing::expect_gradcheck;
using testing::rand_leaf;
using testing::rand_leaf_transposed;

TEST(ShapeGrad, Views) {
  expect_gradcheck([](const auto& in) { return ops::reshape(in[0], {4, -1}); },
                   {rand_leaf({2, 3, 4}, 1)});
  expect_gradcheck([](const auto& in) { return ops::reshape(in[0], {-1}); },
                   {rand_leaf_transposed({3, 5}, 2)});
  expect_gradcheck([](const auto& in) { return ops::permute(in[0], {2, 0, 1}); },
                   {rand_leaf({2, 3, 4}, 3)});
  expect_gradcheck([](const auto& in) { return ops::narrow(in[0], 1, 1, 2); },
                   {rand_leaf({3, 5}, 4)});
  expect_gradcheck([](const auto& in) { return ops::select(in[0], 0, -1); },
                   {rand_leaf({3, 5}, 5)});
  expect_gradcheck([](const auto& in) { return ops::expand(in[0], {4, 3, 5}); },
                   {rand_leaf({3, 1}, 6)});
  expect_gradcheck(
      [](const auto& in) { return ops::squeeze(ops::unsqueeze(in[0], 1), 1); },
      {rand_leaf({3, 5}, 7)});
  expect_gradcheck([](const auto& in) { return ops::contiguous(in[0]); },
                   {rand_leaf_transposed({3, 4}, 8)});
}

TEST(Shape, ViewsDoNotCopy) {
  Tensor x = zeros({4, 6});
  EXPECT_EQ(ops::reshape(x, {2, 12}).storage(), x.storage());
  EXPECT_EQ(ops::transpose(x, 0, 1).storage(), x.storage());
  EXPECT_NE(ops::reshape(ops::transpose(x, 0, 1), {24}).storage(), x.storage());
  EXPECT_THROW(ops::view(ops::transpose(x, 0, 1), {24}), Error);
}

}  // namespace
}  // namespace seekforge
