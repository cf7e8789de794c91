// Float64 gradient checks of the fused ops (one op, one hand-written backward each), and the
// errors they raise on bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/node.h"
#include "kernels/attention.h"

#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/gradcheck.h"
#include "ops/loss.h"
#include "ops/norm.h"
#include "ops/rope.h"
#include "ops/shape.h"
#include "ops/softmax.h"

namespace seekforge {
namespace {

using testing::expect_gradcheck;
using testing::rand_leaf;
using testing::rand_leaf_transposed;

// Tolerances: 1e-6 absolute + 1e-5 relative with eps = 1e-6 central differences in f64
// (truncation error ~eps^2 * f''' and rounding ~1e-16 / eps leave ~1e-9 of room).

TEST(FusedGrad, Norms) {
  expect_gradcheck([](const auto& in) { return ops::rms_norm(in[0], in[1], 1e-6); },
                   {rand_leaf({3, 4, 37}, 1), rand_leaf({37}, 2)});
  expect_gradcheck([](const auto& in) { return ops::rms_norm(in[0], in[1], 1e-6); },
                   {rand_leaf_transposed({5, 6}, 3), rand_leaf({6}, 4)});
  expect_gradcheck([](const auto& in) { return ops::layer_norm(in[0], in[1], in[2], 1e-5); },
                   {rand_leaf({7, 13}, 5), rand_leaf({13}, 6), rand_leaf({13}, 7)});
  expect_gradcheck([](const auto& in) { return ops::layer_norm(in[0], in[1], Tensor(), 1e-5); },
                   {rand_leaf({2, 9}, 8), rand_leaf({9}, 9)});
}

TEST(FusedGrad, Softmax) {
  expect_gradcheck([](const auto& in) { return ops::softmax(in[0], -1); },
                   {rand_leaf({4, 33}, 1, -3, 3)});
  expect_gradcheck([](const auto& in) { return ops::softmax(in[0], 0); },
                   {rand_leaf({5, 3, 2}, 2, -3, 3)});
  expect_gradcheck([](const auto& in) { return ops::log_softmax(in[0], -1); },
                   {rand_leaf_transposed({4, 7}, 3)});
  expect_gradcheck([](const auto& in) { return ops::log_softmax(in[0], 1); },
                   {rand_leaf({2, 6, 3}, 4, -3, 3)});
}

TEST(FusedGrad, CrossEntropy) {
  Tensor targets = from_vector_i64({3, -100, 0, 6, 6, 1}, {2, 3});
  for (double eps : {0.0, 0.1}) {
    for (auto red : {ops::Reduction::mean, ops::Reduction::sum, ops::Reduction::none}) {
      expect_gradcheck(
          [&](const auto& in) { return ops::cross_entropy(in[0], targets, eps, red); },
          {rand_leaf({2, 3, 7}, 5, -2, 2)});
    }
  }
}

TEST(FusedGrad, RopeFullAndPartial) {
  expect_gradcheck([](const auto& in) { return ops::rope(in[0], 3, 10000.0); },
                   {rand_leaf({2, 5, 3, 8}, 1)});
  // MLA style: rotate only dims [6, 10) of a 10-wide head.
  expect_gradcheck([](const auto& in) { return ops::rope(in[0], 0, 500.0, 4, 6); },
                   {rand_leaf({1, 4, 2, 10}, 2)});
  // Non-contiguous input: a permuted view.
  expect_gradcheck(
      [](const auto& in) { return ops::rope(ops::permute(in[0], {0, 2, 1, 3}), 7, 10000.0); },
      {rand_leaf({2, 3, 5, 4}, 3)});
}

TEST(FusedGrad, Swiglu) {
  expect_gradcheck([](const auto& in) { return ops::swiglu(in[0], in[1]); },
                   {rand_leaf({3, 17}, 1, -3, 3), rand_leaf_transposed({3, 17}, 2)});
}

struct AttnCase {
  int64_t B, Tq, Tk, H, KV, Dqk, Dv, window;
  bool mask;
};

TEST(FusedGrad, Attention) {
  const AttnCase cases[] = {
      {2, 7, 7, 2, 2, 8, 8, 0, false},   // causal
      {1, 9, 9, 4, 2, 8, 8, 0, false},   // GQA
      {1, 9, 9, 4, 1, 6, 6, 3, false},   // MQA + window
      {2, 6, 6, 2, 1, 8, 8, 0, true},    // key padding mask (one row sees nothing)
      {1, 5, 5, 2, 2, 12, 4, 0, false},  // Dqk != Dv (latent attention)
      {1, 2, 7, 2, 1, 8, 8, 4, false},   // decoding: 2 queries against 7 keys, window 4
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message() << "B=" << c.B << " Tq=" << c.Tq << " Tk=" << c.Tk
                                      << " H=" << c.H << " KV=" << c.KV << " W=" << c.window);
    ops::AttentionOptions opt;
    opt.window = c.window;
    if (c.mask) {
      Tensor keep = ones({c.B, c.Tk}, DType::u8);
      keep.select(0, c.B - 1).narrow(0, 0, 2).zero_();  // batch B-1: first two keys masked
      opt.key_keep = keep;
    }
    expect_gradcheck([&](const auto& in) { return ops::attention(in[0], in[1], in[2], opt); },
                     {rand_leaf({c.B, c.Tq, c.H, c.Dqk}, 1, -2, 2),
                      rand_leaf({c.B, c.Tk, c.KV, c.Dqk}, 2, -2, 2),
                      rand_leaf({c.B, c.Tk, c.KV, c.Dv}, 3)});
  }
}

TEST(FusedGrad, AttentionNonContiguousInputs) {
  // q, k, v sliced out of one fused projection, as a model does.
  expect_gradcheck(
      [](const auto& in) {
        Tensor qkv = ops::reshape(in[0], {1, 6, 3, 2, 8});
        return ops::attention(ops::select(qkv, 2, 0), ops::select(qkv, 2, 1),
                              ops::select(qkv, 2, 2));
      },
      {rand_leaf({1, 6, 48}, 4)});
}

template <typename F>
void expect_error_mentions(F f, const std::string& needle) {
  try {
    f();
    FAIL() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(FusedOps, BadInputs) {
  expect_error_mentions([] { ops::rms_norm(zeros({2, 4}), zeros({5})); }, "rms_norm: weight");
  expect_error_mentions([] { ops::rms_norm(zeros({2, 4}), zeros({4}, DType::f64)); },
                        "rms_norm: dtypes differ");
  expect_error_mentions(
      [] { ops::cross_entropy(zeros({2, 5}), from_vector_i64({1, 5}, {2})); },
      "cross_entropy: target 5 at row 1 is outside [0, 5)");
  expect_error_mentions([] { ops::cross_entropy(zeros({2, 5}), zeros({2})); },
                        "cross_entropy: targets must be i64");
  expect_error_mentions([] { ops::rope(zeros({1, 2, 3, 5}), 0, 1e4); }, "rope: rotated dims");
  expect_error_mentions(
      [] { ops::attention(zeros({1, 4, 3, 8}), zeros({1, 4, 2, 8}), zeros({1, 4, 2, 8})); },
      "attention: 3 query heads cannot share 2");
  expect_error_mentions(
      [] { ops::attention(zeros({1, 4, 2, 8}), zeros({1, 4, 2, 4}), zeros({1, 4, 2, 8})); },
      "do not agree");
  expect_error_mentions([] { ops::swiglu(zeros({3}), zeros({4})); }, "swiglu: gate");
}

TEST(FusedOps, AttentionReadsANarrowedCacheInPlace) {
  // Decoding reads k and v from a cache of 11 positions filled to 7: the in-place read (no
  // gradient) and the packed copy (with one) must agree to the bit, and with the naive twin
  // reading the cache in place.
  for (int64_t window : {0, 3}) {
    for (int64_t Tq : {1, 4}) {
      const int64_t B = 3, cap = 11, Tk = 7, H = 4, KV = 2, D = 8;
      Generator gen(5);
      Tensor kc = randn({B, cap, KV, D}, DType::f32, &gen);
      Tensor vc = randn({B, cap, KV, D}, DType::f32, &gen);
      Tensor q = randn({B, Tq, H, D}, DType::f32, &gen);
      Tensor k = kc.narrow(1, 0, Tk), v = vc.narrow(1, 0, Tk);
      ASSERT_FALSE(k.is_contiguous());
      ops::AttentionOptions opt;
      opt.window = window;
      std::vector<float> in_place;
      {
        autograd::NoGradGuard no_grad;
        in_place = ops::attention(q, k, v, opt).to_vector_f32();
      }
      Tensor qg = q.detach();
      qg.set_requires_grad(true);
      const auto packed = ops::attention(qg, k, v, opt).to_vector_f32();
      ASSERT_EQ(in_place, packed) << "window " << window << " Tq " << Tq;

      // The naive twin reads the same cache buffers through kv_rows too.
      kernels::AttentionShape s{B, Tq, Tk, H, KV, D, D, window};
      s.kv_rows = cap;
      std::vector<float> naive(in_place.size()), lse(static_cast<size_t>(B * H * Tq));
      kernels::attention_forward_naive(naive.data(), lse.data(), q.data<float>(),
                                       kc.data<float>(), vc.data<float>(), nullptr,
                                       1.0f / std::sqrt(8.0f), s);
      for (size_t i = 0; i < naive.size(); ++i) ASSERT_NEAR(in_place[i], naive[i], 1e-5);
    }
  }
}

TEST(FusedOps, AttentionRowWithNoKeyIsZero) {
  ops::AttentionOptions opt;
  opt.key_keep = zeros({1, 3}, DType::u8);
  Tensor q = randn({1, 3, 1, 4}), k = randn({1, 3, 1, 4}), v = randn({1, 3, 1, 4});
  for (float x : ops::attention(q, k, v, opt).to_vector_f32()) EXPECT_EQ(x, 0.0f);
}

}  // namespace
}  // namespace seekforge
