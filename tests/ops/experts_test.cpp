// expert_swiglu: float64 gradient check (an expert with no rows, a non-contiguous input), the
// f32 result and every gradient against the same computation composed from linear / swiglu /
// narrow / concat, and the errors on bad input.
#include "ops/experts.h"

#include <gtest/gtest.h>

#include "autograd/node.h"
#include "ops/activation.h"
#include "ops/elementwise.h"
#include "ops/gradcheck.h"
#include "ops/index.h"
#include "ops/matmul.h"
#include "ops/reduce.h"
#include "ops/shape.h"

namespace seekforge {
namespace {

using testing::expect_gradcheck;
using testing::rand_leaf;

constexpr int64_t kD = 6, kH = 5;

// Splits inputs {xs, gate..., up..., down...} back into the op's arguments.
Tensor apply_op(const std::vector<Tensor>& in, const std::vector<int64_t>& counts) {
  const size_t E = counts.size();
  std::vector<Tensor> g(in.begin() + 1, in.begin() + 1 + E);
  std::vector<Tensor> u(in.begin() + 1 + E, in.begin() + 1 + 2 * E);
  std::vector<Tensor> d(in.begin() + 1 + 2 * E, in.begin() + 1 + 3 * E);
  return ops::expert_swiglu(in[0], counts, g, u, d);
}

std::vector<Tensor> leaves(int64_t rows, size_t E, DType dtype, uint64_t seed) {
  std::vector<Tensor> in{rand_leaf({rows, kD}, seed)};
  for (size_t k = 0; k < 3 * E; ++k)
    in.push_back(rand_leaf(k < 2 * E ? Shape{kH, kD} : Shape{kD, kH}, seed + 1 + k));
  if (dtype != DType::f64) {
    for (Tensor& t : in) {
      t = t.to(dtype);
      t.set_requires_grad(true);
    }
  }
  return in;
}

TEST(ExpertSwiglu, GradcheckF64) {
  const std::vector<int64_t> counts{3, 0, 4};  // the middle expert gets no rows
  std::vector<Tensor> with_empty = leaves(7, counts.size(), DType::f64, 11);
  for (size_t k : {2, 5, 8}) with_empty[k].set_requires_grad(false);  // its weights get none
  expect_gradcheck([&](const auto& in) { return apply_op(in, counts); }, with_empty);
  // A non-contiguous input: the transpose of a [D, rows] tensor.
  std::vector<Tensor> in = leaves(5, 2, DType::f64, 31);
  in[0] = testing::rand_leaf_transposed({5, kD}, 30);
  expect_gradcheck([&](const auto& x) { return apply_op(x, {2, 3}); }, in);
}

TEST(ExpertSwiglu, MatchesComposedLayersF32) {
  const std::vector<int64_t> counts{70, 1, 0, 129};  // tails around the GEMM size quantum
  const size_t E = counts.size();
  std::vector<Tensor> a = leaves(200, E, DType::f32, 41), b = leaves(200, E, DType::f32, 41);
  Tensor ya = apply_op(a, counts);
  std::vector<Tensor> outs;
  int64_t r0 = 0;
  for (size_t e = 0; e < E; ++e) {
    if (counts[e] == 0) continue;
    Tensor xe = ops::narrow(b[0], 0, r0, counts[e]);
    outs.push_back(ops::linear(
        ops::swiglu(ops::linear(xe, b[1 + e]), ops::linear(xe, b[1 + E + e])), b[1 + 2 * E + e]));
    r0 += counts[e];
  }
  Tensor yb = ops::concat(outs, 0);
  Generator gen(7);
  Tensor w = randn({200, kD}, DType::f32, &gen);
  ops::sum(ops::mul(ya, w)).backward();
  ops::sum(ops::mul(yb, w)).backward();
  auto expect_close = [](const Tensor& p, const Tensor& q, const char* what, size_t i) {
    ASSERT_EQ(p.shape(), q.shape()) << what << " " << i;
    const Tensor pc = p.contiguous(), qc = q.contiguous();
    for (int64_t j = 0; j < pc.numel(); ++j) {
      const float x = pc.data<float>()[j], y = qc.data<float>()[j];
      ASSERT_NEAR(x, y, 1e-5f + 1e-5f * std::abs(y)) << what << " " << i << " element " << j;
    }
  };
  expect_close(ya, yb, "output", 0);
  for (size_t i = 0; i < a.size(); ++i) {
    // An expert without rows gets no gradient at all, in both.
    ASSERT_EQ(a[i].grad().defined(), b[i].grad().defined()) << "input " << i;
    if (!b[i].grad().defined()) continue;
    expect_close(a[i].grad(), b[i].grad(), "gradient of input", i);
  }
}

TEST(ExpertSwiglu, RefusesBadInput) {
  std::vector<Tensor> in = leaves(4, 2, DType::f32, 51);
  auto expect_error = [&](const std::vector<int64_t>& counts, const std::vector<Tensor>& args,
                          const std::string& needle) {
    try {
      apply_op(args, counts);
      FAIL() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error({1, 2}, in, "counts sum to 3 but xs has 4 rows");
  expect_error({5, -1}, in, "negative row count");
  std::vector<Tensor> bad = in;
  Generator gen(3);
  bad[3] = randn({kH + 1, kD}, DType::f32, &gen);  // up[0] of the wrong shape
  expect_error({2, 2}, bad, "expert 0 weights");
  bad = in;
  bad[1] = randn({kH, kD}, DType::f64, &gen);
  expect_error({2, 2}, bad, "dtypes differ");
  try {
    ops::expert_swiglu(in[0], {4}, {in[1], in[2]}, {in[3]}, {in[5]});
    FAIL() << "no error for mismatched expert lists";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1 counts for 2 gate"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace seekforge
