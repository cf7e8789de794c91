#include "autograd/engine.h"

#include <gtest/gtest.h>

#include "autograd/checkpoint.h"
#include "autograd/node.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace seekforge {
namespace {

Tensor leaf(std::vector<float> v, Shape s) {
  Tensor t = from_vector(v, s);
  t.set_requires_grad(true);
  return t;
}

TEST(Autograd, ChainAndAccumulation) {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor y = ops::sum(x * x);  // dy/dx = 2x
  y.backward();
  EXPECT_EQ(x.grad().to_vector_f32(), (std::vector<float>{2, 4, 6}));
  ops::sum(x * 3.0).backward();  // accumulates
  EXPECT_EQ(x.grad().to_vector_f32(), (std::vector<float>{5, 7, 9}));
}

TEST(Autograd, DiamondGraphSumsBothPaths) {
  Tensor x = leaf({2}, {1});
  Tensor a = x * 3.0, b = x * x;
  ops::sum(a + b).backward();  // 3 + 2x
  EXPECT_EQ(x.grad().to_vector_f32()[0], 7.0f);
}

TEST(Autograd, UpstreamGradientAndNonScalarRoot) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = x * 2.0;
  EXPECT_THROW(y.backward(), Error);  // non-scalar needs a gradient
  y.backward(from_vector({10, 100}, {2}));
  EXPECT_EQ(x.grad().to_vector_f32(), (std::vector<float>{20, 200}));
}

TEST(Autograd, NoGradRecordsNothing) {
  Tensor x = leaf({1}, {1});
  Tensor y;
  {
    autograd::NoGradGuard g;
    y = x * 2.0;
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(Autograd, SavedTensorsFreedUnlessRetained) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = ops::sum(x * x);
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();  // allowed: retained
  EXPECT_EQ(x.grad().to_vector_f32(), (std::vector<float>{4, 8}));
  EXPECT_THROW(y.backward(), Error);  // saved tensors are gone now
}

TEST(Autograd, DetachCutsTheGraph) {
  Tensor x = leaf({3}, {1});
  Tensor y = ops::sum(x.detach() * x);  // only the second factor carries gradient
  y.backward();
  EXPECT_EQ(x.grad().to_vector_f32()[0], 3.0f);
}

TEST(Autograd, HooksSeeAndReplaceGradients) {
  Tensor x = leaf({1, 1}, {2});
  Tensor h = x * 2.0;
  Tensor seen;
  h.register_hook([&](const Tensor& g) {
    seen = g;
    return ops::mul(g, 10.0);
  });
  x.register_hook([](const Tensor& g) { return ops::add(g, 1.0); });
  ops::sum(h).backward();
  EXPECT_EQ(seen.to_vector_f32(), (std::vector<float>{1, 1}));
  EXPECT_EQ(x.grad().to_vector_f32(), (std::vector<float>{21, 21}));
}

TEST(Autograd, RetainGradOnIntermediate) {
  Tensor x = leaf({1, 2}, {2});
  Tensor h = x * 3.0;
  h.retain_grad();
  ops::sum(h * h).backward();
  EXPECT_EQ(h.grad().to_vector_f32(), (std::vector<float>{6, 12}));
}

TEST(Autograd, CheckpointMatchesPlainBackward) {
  Tensor w = leaf({0.5f, -1.5f, 2.0f}, {3});
  auto region = [&](const std::vector<Tensor>& in) {
    return std::vector<Tensor>{ops::tanh(in[0] * w) * in[0]};
  };
  Tensor x1 = leaf({0.1f, 0.2f, 0.3f}, {3});
  ops::sum(region({x1})[0]).backward();
  const auto gx = x1.grad().to_vector_f32();
  const auto gw = w.grad().to_vector_f32();
  w.set_grad(Tensor());
  Tensor x2 = leaf({0.1f, 0.2f, 0.3f}, {3});
  Tensor out = autograd::checkpoint(region, {x2})[0];
  EXPECT_EQ(out.grad_fn()->name(), std::string("CheckpointBackward"));
  ops::sum(out).backward();
  EXPECT_EQ(x2.grad().to_vector_f32(), gx);
  EXPECT_EQ(w.grad().to_vector_f32(), gw);
}

}  // namespace
}  // namespace seekforge
