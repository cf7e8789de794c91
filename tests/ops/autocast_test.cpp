// Autocast: under a bf16/f16 scope, linear, matmul, expert_swiglu and attention compute what the
// f32 ops compute on operands (and incoming gradients) rounded to 16 bits; gradients reach the
// f32 masters in f32; the weight cache converts once and follows refresh(); the router-style
// f32 scope inside turns it off; bad precision names are refused.
#include "ops/autocast.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/node.h"
#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/experts.h"
#include "ops/matmul.h"
#include "ops/reduce.h"

namespace seekforge {
namespace {

Tensor rnd(const Shape& s, uint64_t seed, bool grad = true) {
  Generator g(seed);
  Tensor t = randn(s, DType::f32, &g);
  if (grad) t.set_requires_grad(true);
  return t;
}

Tensor rounded(const Tensor& t, DType dt) { return t.detach().to(dt).to(DType::f32); }

// Largest |a - b| over max(|b|) (products of rounded operands may be summed in another order by
// a native 16-bit GEMM: the tolerance covers f32 reassociation, not 16-bit rounding).
double rel_err(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector_f32(), vb = b.to_vector_f32();
  EXPECT_EQ(va.size(), vb.size());
  double num = 0, den = 1e-30;
  for (size_t i = 0; i < va.size(); ++i) {
    num = std::max(num, std::abs(static_cast<double>(va[i]) - vb[i]));
    den = std::max(den, std::abs(static_cast<double>(vb[i])));
  }
  return num / den;
}

class AutocastTest : public ::testing::TestWithParam<DType> {};

TEST_P(AutocastTest, LinearIsTheF32ProductOfRoundedOperands) {
  const DType dt = GetParam();
  Tensor x = rnd({3, 5, 37}, 1), w = rnd({29, 37}, 2), dy = rnd({3, 5, 29}, 3, false);
  Tensor y;
  {
    ops::AutocastScope scope(dt);
    y = ops::linear(x, w);
  }
  EXPECT_EQ(y.dtype(), DType::f32);
  y.backward(dy);
  // The reference: f32 ops on rounded leaves, the upstream gradient rounded too.
  Tensor xr = rounded(x, dt).set_requires_grad(true), wr = rounded(w, dt).set_requires_grad(true);
  Tensor yr = ops::linear(xr, wr);
  yr.backward(rounded(dy, dt));
  EXPECT_LT(rel_err(y, yr), 1e-6);
  EXPECT_EQ(x.grad().dtype(), DType::f32);
  EXPECT_EQ(w.grad().dtype(), DType::f32);
  EXPECT_LT(rel_err(x.grad(), xr.grad()), 1e-6);
  EXPECT_LT(rel_err(w.grad(), wr.grad()), 1e-6);
  // And it is not the f32 product: the rounding happened.
  autograd::NoGradGuard ng;
  EXPECT_GT(rel_err(y, ops::linear(x, w)), 1e-5);
}

TEST_P(AutocastTest, BatchedMatmulOfActivations) {
  const DType dt = GetParam();
  Tensor a = rnd({2, 7, 9}, 4), b = rnd({2, 9, 11}, 5), dy = rnd({2, 7, 11}, 6, false);
  Tensor y;
  {
    ops::AutocastScope scope(dt);
    y = ops::matmul(a, b);
  }
  y.backward(dy);
  Tensor ar = rounded(a, dt).set_requires_grad(true), br = rounded(b, dt).set_requires_grad(true);
  ops::matmul(ar, br).backward(rounded(dy, dt));
  EXPECT_LT(rel_err(y, ops::matmul(ar, br).detach()), 1e-6);
  EXPECT_LT(rel_err(a.grad(), ar.grad()), 1e-6);
  EXPECT_LT(rel_err(b.grad(), br.grad()), 1e-6);
}

TEST_P(AutocastTest, ExpertSwigluRoundsOperandsAndTheHiddenActivation) {
  const DType dt = GetParam();
  const std::vector<int64_t> counts{5, 0, 8};
  const int64_t D = 12, H = 7, A = 13;
  Tensor xs = rnd({A, D}, 7);
  std::vector<Tensor> g, u, d;
  for (int e = 0; e < 3; ++e) {
    g.push_back(rnd({H, D}, 10 + e));
    u.push_back(rnd({H, D}, 20 + e));
    d.push_back(rnd({D, H}, 30 + e));
  }
  Tensor ys;
  {
    ops::AutocastScope scope(dt);
    ys = ops::expert_swiglu(xs, counts, g, u, d);
  }
  // Forward reference: per expert, f32 products of rounded operands, h rounded before down.
  Tensor xr = rounded(xs, dt);
  std::vector<float> want;
  int64_t r0 = 0;
  for (int e = 0; e < 3; ++e) {
    if (counts[e] == 0) continue;
    autograd::NoGradGuard ng;
    Tensor xe = xr.narrow(0, r0, counts[e]);
    Tensor h = ops::mul(ops::silu(ops::linear(xe, rounded(g[e], dt))),
                        ops::linear(xe, rounded(u[e], dt)));
    Tensor ye = ops::linear(rounded(h, dt), rounded(d[e], dt));
    for (float v : ye.to_vector_f32()) want.push_back(v);
    r0 += counts[e];
  }
  EXPECT_LT(rel_err(ys, from_vector(want, {A, D})), 1e-5);
  // Backward: f32 gradients for every master, close to the f32 op's at 16-bit accuracy.
  Tensor dy = rnd({A, D}, 40, false);
  ys.backward(dy);
  std::vector<Tensor> leaves{xs};
  for (auto* l : {&g, &u, &d}) leaves.insert(leaves.end(), l->begin(), l->end());
  std::vector<Tensor> lowp_grads;
  for (Tensor& t : leaves) {
    lowp_grads.push_back(t.grad());
    t.set_grad(Tensor());
  }
  ops::expert_swiglu(xs, counts, g, u, d).backward(dy);
  const double tol = dt == DType::bf16 ? 5e-2 : 5e-3;
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!leaves[i].grad().defined()) {
      EXPECT_FALSE(lowp_grads[i].defined()) << "leaf " << i;  // the expert with no rows
      continue;
    }
    EXPECT_EQ(lowp_grads[i].dtype(), DType::f32);
    EXPECT_LT(rel_err(lowp_grads[i], leaves[i].grad()), tol) << "leaf " << i;
    EXPECT_GT(rel_err(lowp_grads[i], leaves[i].grad()), 0.0) << "leaf " << i;
  }
}

TEST_P(AutocastTest, AttentionReadsRoundedInputsAndRoundsItsOutput) {
  const DType dt = GetParam();
  Tensor q = rnd({2, 6, 4, 8}, 50), k = rnd({2, 6, 2, 8}, 51), v = rnd({2, 6, 2, 8}, 52);
  Tensor dy = rnd({2, 6, 4, 8}, 53, false);
  Tensor o;
  {
    ops::AutocastScope scope(dt);
    o = ops::attention(q, k, v);
  }
  o.backward(dy);
  Tensor qr = rounded(q, dt).set_requires_grad(true), kr = rounded(k, dt).set_requires_grad(true),
         vr = rounded(v, dt).set_requires_grad(true);
  Tensor orf = ops::attention(qr, kr, vr);
  orf.backward(rounded(dy, dt));
  EXPECT_LT(rel_err(o, rounded(orf, dt)), 1e-6);
  // Input gradients are the f32 kernel's on rounded values, rounded once more on the way out.
  EXPECT_LT(rel_err(q.grad(), rounded(qr.grad(), dt)), 1e-6);
  EXPECT_LT(rel_err(v.grad(), rounded(vr.grad(), dt)), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, AutocastTest, ::testing::Values(DType::bf16, DType::f16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(Autocast, ScopesNestAndRestore) {
  EXPECT_EQ(ops::autocast_dtype(), DType::f32);
  {
    ops::AutocastScope outer(DType::bf16);
    EXPECT_EQ(ops::autocast_dtype(), DType::bf16);
    {
      ops::AutocastScope router(DType::f32);
      EXPECT_FALSE(ops::autocast_active());
    }
    EXPECT_EQ(ops::autocast_dtype(), DType::bf16);
  }
  EXPECT_EQ(ops::autocast_dtype(), DType::f32);
  EXPECT_THROW(ops::AutocastScope(DType::i32), Error);
}

TEST(Autocast, WeightCopiesAreCachedAndRefreshed) {
  Tensor w = rnd({8, 16}, 60), x = rnd({4, 16}, 61);
  ops::LowpWeights cache;
  ops::AutocastScope scope(DType::bf16, &cache);
  const Tensor c1 = ops::autocast_operand(w);
  // bf16 itself where the GEMM has bf16, else f32 holding bf16 values.
  const DType stored = ops::lowp_storage_dtype(DType::bf16);
  EXPECT_EQ(c1.dtype(), stored);
  const auto c1v = c1.to(DType::f32).to_vector_f32(), rv = rounded(w, DType::bf16).to_vector_f32();
  EXPECT_EQ(c1v, rv);
  EXPECT_EQ(ops::autocast_operand(w).raw_data(), c1.raw_data()) << "a second use converts again";
  EXPECT_EQ(cache.size(), 1);
  EXPECT_EQ(cache.bytes(), 8 * 16 * static_cast<int64_t>(dtype_size(stored)));
  // Activations (not leaves that require grad) are converted each time, never cached.
  Tensor act = ops::mul(x, 2.0);
  EXPECT_NE(ops::autocast_operand(act).raw_data(), ops::autocast_operand(act).raw_data());
  EXPECT_EQ(cache.size(), 1);
  // The master changes in place (an optimiser step): the copy follows only after refresh().
  Tensor before = ops::linear(x, w).detach();
  {
    autograd::NoGradGuard ng;
    w.copy_(ops::mul(w, -1.0));
  }
  EXPECT_LT(rel_err(ops::linear(x, w).detach(), before), 1e-7) << "stale copy expected";
  cache.refresh();
  Tensor after = ops::linear(x, w).detach();
  EXPECT_LT(rel_err(after, ops::mul(before, -1.0)), 1e-6);
  // The scope nested inside with the same dtype and no cache of its own uses this one.
  {
    ops::AutocastScope eval(DType::bf16);
    EXPECT_EQ(ops::autocast_operand(w).raw_data(), c1.raw_data());
  }
}

TEST(Autocast, RoundIsIdentityOutsideAScope) {
  Tensor x = rnd({5}, 70);
  EXPECT_EQ(ops::autocast_round(x).raw_data(), x.raw_data());
  ops::AutocastScope scope(DType::f16);
  Tensor big = from_vector(std::vector<float>{1e6f, 1.0f + 1e-4f}, {2});
  const auto r = ops::autocast_round(big).to_vector_f32();
  EXPECT_TRUE(std::isinf(r[0])) << "f16 overflows above 65504";
  EXPECT_EQ(r[1], 1.0f) << "f16 keeps 11 significant bits";
}

TEST(Autocast, PrecisionNames) {
  EXPECT_EQ(ops::precision_dtype("fp32"), DType::f32);
  EXPECT_EQ(ops::precision_dtype("bf16"), DType::bf16);
  EXPECT_EQ(ops::precision_dtype("fp16"), DType::f16);
  try {
    ops::precision_dtype("int8");
    FAIL() << "int8 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'int8'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace seekforge
