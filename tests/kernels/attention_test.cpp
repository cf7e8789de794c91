// Tests of the fused attention kernels: the tiled forward and backward against their naive
// twins (float and double, every masking feature, odd sizes), the naive backward against
// central finite differences in double, and bitwise determinism.
#include "kernels/attention.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace seekforge::kernels {
namespace {

template <typename T>
std::vector<T> random_vec(size_t n, std::mt19937& rng, double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> x(n);
  for (auto& e : x) e = T(dist(rng));
  return x;
}

// All buffers of one attention call, sized from the shape.
template <typename T>
struct Buffers {
  std::vector<T> q, k, v, dout, out, lse, dq, dk, dv;
  std::vector<uint8_t> keep;
};

template <typename T>
Buffers<T> make_buffers(const AttentionShape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  Buffers<T> b;
  b.q = random_vec<T>(s.B * s.Tq * s.H * s.Dqk, rng);
  b.k = random_vec<T>(s.B * s.Tk * s.KV * s.Dqk, rng);
  b.v = random_vec<T>(s.B * s.Tk * s.KV * s.Dv, rng);
  b.dout = random_vec<T>(s.B * s.Tq * s.H * s.Dv, rng);
  b.out.assign(s.B * s.Tq * s.H * s.Dv, T(0));
  b.lse.assign(s.B * s.H * s.Tq, T(0));
  // Nonzero starting gradients: backward must accumulate, not overwrite.
  b.dq = random_vec<T>(b.q.size(), rng);
  b.dk = random_vec<T>(b.k.size(), rng);
  b.dv = random_vec<T>(b.v.size(), rng);
  return b;
}

// |got - want| <= rtol * |want| + atol * max|want|, elementwise; also no NaN.
template <typename T>
void expect_close_scaled(const std::vector<T>& got, const std::vector<T>& want, double rtol,
                         double atol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double maxabs = 0;
  for (T w : want)
    if (std::isfinite(double(w))) maxabs = std::max(maxabs, std::abs(double(w)));
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_FALSE(std::isnan(double(got[i]))) << what << " NaN at " << i;
    if (std::isinf(double(want[i]))) {
      ASSERT_EQ(got[i], want[i]) << what << " at " << i;
      continue;
    }
    const double err = std::abs(double(got[i]) - double(want[i]));
    if (err > rtol * std::abs(double(want[i])) + atol * maxabs) {
      if (++bad <= 5) {
        ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << " want " << want[i] << " err "
                      << err;
      }
    }
  }
  EXPECT_EQ(bad, 0u) << what;
}

// Float: ~1e-5 relative (float accumulation over Dqk and over up to Tk keys against a double
// oracle). Double: 1e-11, far above rounding (~1e-15) yet far below any indexing mistake.
template <typename T>
constexpr double tol() {
  return sizeof(T) == 4 ? 1e-5 : 1e-11;
}

// Runs the tiled kernels and the naive twins on the same inputs and compares every output.
template <typename T>
void check_against_naive(const AttentionShape& s, bool with_keep, uint32_t seed,
                         const std::vector<uint8_t>& keep_override = {}) {
  Buffers<T> fast = make_buffers<T>(s, seed);
  if (with_keep) {
    std::mt19937 rng(seed + 1);
    fast.keep.resize(s.B * s.Tk);
    for (auto& e : fast.keep) e = (rng() % 4) != 0;  // a quarter of keys padded out
    if (!keep_override.empty()) fast.keep = keep_override;
  }
  Buffers<T> ref = fast;
  const uint8_t* keep_f = with_keep ? fast.keep.data() : nullptr;
  const uint8_t* keep_r = with_keep ? ref.keep.data() : nullptr;
  const T scale = T(1) / std::sqrt(T(s.Dqk));

  attention_forward(fast.out.data(), fast.lse.data(), fast.q.data(), fast.k.data(), fast.v.data(),
                    keep_f, scale, s);
  attention_forward_naive(ref.out.data(), ref.lse.data(), ref.q.data(), ref.k.data(), ref.v.data(),
                          keep_r, scale, s);
  expect_close_scaled(fast.out, ref.out, tol<T>(), tol<T>(), "out");
  expect_close_scaled(fast.lse, ref.lse, tol<T>(), tol<T>(), "lse");

  // Both backwards read the naive forward's out and lse, so only the backward is compared.
  attention_backward(fast.dq.data(), fast.dk.data(), fast.dv.data(), fast.dout.data(),
                     fast.q.data(), fast.k.data(), fast.v.data(), ref.out.data(), ref.lse.data(),
                     keep_f, scale, s);
  attention_backward_naive(ref.dq.data(), ref.dk.data(), ref.dv.data(), ref.dout.data(),
                           ref.q.data(), ref.k.data(), ref.v.data(), ref.out.data(), ref.lse.data(),
                           keep_r, scale, s);
  expect_close_scaled(fast.dq, ref.dq, tol<T>(), tol<T>(), "dq");
  expect_close_scaled(fast.dk, ref.dk, tol<T>(), tol<T>(), "dk");
  expect_close_scaled(fast.dv, ref.dv, tol<T>(), tol<T>(), "dv");
}

template <typename T>
class AttentionVsNaive : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(AttentionVsNaive, Types);

// Shape fields: B, Tq, Tk, H, KV, Dqk, Dv, window.
TYPED_TEST(AttentionVsNaive, CausalSquare) {
  check_against_naive<TypeParam>({2, 130, 130, 3, 3, 64, 64, 0}, false, 1);
}

TYPED_TEST(AttentionVsNaive, GroupedQueryKv2) {
  check_against_naive<TypeParam>({2, 70, 70, 4, 2, 32, 32, 0}, false, 2);
}

TYPED_TEST(AttentionVsNaive, GroupedQueryKv1) {
  check_against_naive<TypeParam>({1, 70, 70, 4, 1, 32, 32, 0}, false, 3);
}

TYPED_TEST(AttentionVsNaive, SlidingWindow) {
  // Window not a multiple of either tile size, several query blocks: partial and skipped tiles.
  check_against_naive<TypeParam>({1, 300, 300, 2, 1, 64, 64, 70}, false, 4);
}

TYPED_TEST(AttentionVsNaive, WindowOfOne) {
  check_against_naive<TypeParam>({1, 40, 40, 2, 2, 16, 16, 1}, false, 5);
}

TYPED_TEST(AttentionVsNaive, KeyPaddingMask) {
  check_against_naive<TypeParam>({2, 90, 90, 2, 1, 32, 32, 0}, true, 6);
}

TYPED_TEST(AttentionVsNaive, KeyPaddingWithWindow) {
  check_against_naive<TypeParam>({2, 90, 90, 2, 2, 32, 32, 20}, true, 7);
}

TYPED_TEST(AttentionVsNaive, MlaHeadDims) {  // Dqk != Dv, as in multi-head latent attention
  check_against_naive<TypeParam>({2, 50, 50, 3, 3, 48, 32, 0}, false, 8);
}

TYPED_TEST(AttentionVsNaive, DecodeOneQuery) {
  check_against_naive<TypeParam>({2, 1, 77, 4, 2, 64, 64, 0}, false, 9);
}

TYPED_TEST(AttentionVsNaive, DecodeThreeQueriesWithWindow) {
  check_against_naive<TypeParam>({2, 3, 77, 4, 2, 64, 64, 40}, true, 10);
}

TYPED_TEST(AttentionVsNaive, OddSizes) {  // T=37, hd=24: no tile or vector divides evenly
  check_against_naive<TypeParam>({3, 37, 37, 3, 1, 24, 24, 0}, false, 11);
}

// Head dims that no vector width divides (20 and 12): the packing's column tail and masked rows.
TYPED_TEST(AttentionVsNaive, HeadDimsOffTheVectorWidth) {
  check_against_naive<TypeParam>({2, 45, 45, 2, 1, 20, 12, 0}, false, 14);
}

TYPED_TEST(AttentionVsNaive, HeadDimAboveTileLimitFallsBack) {
  check_against_naive<TypeParam>({1, 5, 5, 1, 1, kAttentionMaxHeadDim + 4, 8, 0}, false, 12);
}

// Queries before the first key (Tq > Tk) see nothing: zeros, lse = -inf, zero gradient.
TYPED_TEST(AttentionVsNaive, MoreQueriesThanKeys) {
  check_against_naive<TypeParam>({1, 5, 3, 2, 1, 8, 8, 0}, false, 13);
}

// B * KV = 1 on 2 threads takes the two-pass backward schedule (dk/dv per key block, then dq
// per query block); on 1 thread the normal one. Both must match the oracle and each other
// bitwise.
TYPED_TEST(AttentionVsNaive, TwoPassBackwardSchedule) {
  using T = TypeParam;
  const AttentionShape s{1, 150, 150, 2, 1, 40, 24, 50};
  const int threads = omp_get_max_threads();
  omp_set_num_threads(2);
  check_against_naive<T>(s, true, 16);
  auto grads = [&](int nthreads) {
    omp_set_num_threads(nthreads);
    Buffers<T> b = make_buffers<T>(s, 17);
    std::vector<uint8_t> keep(s.B * s.Tk, 1);
    keep[7] = keep[100] = 0;
    attention_forward(b.out.data(), b.lse.data(), b.q.data(), b.k.data(), b.v.data(), keep.data(),
                      T(0.2), s);
    attention_backward(b.dq.data(), b.dk.data(), b.dv.data(), b.dout.data(), b.q.data(), b.k.data(),
                       b.v.data(), b.out.data(), b.lse.data(), keep.data(), T(0.2), s);
    return b;
  };
  const Buffers<T> two = grads(2), one = grads(1);
  omp_set_num_threads(threads);
  EXPECT_EQ(std::memcmp(two.dq.data(), one.dq.data(), two.dq.size() * sizeof(T)), 0);
  EXPECT_EQ(std::memcmp(two.dk.data(), one.dk.data(), two.dk.size() * sizeof(T)), 0);
  EXPECT_EQ(std::memcmp(two.dv.data(), one.dv.data(), two.dv.size() * sizeof(T)), 0);
}

// A fully masked query row: key 0 of batch row 0 is padded out, so query 0 (which sees only
// key 0) sees nothing. It must give out = 0, lse = -inf and contribute no gradient.
TYPED_TEST(AttentionVsNaive, FullyMaskedRow) {
  using T = TypeParam;
  const AttentionShape s{2, 33, 33, 2, 1, 16, 16, 0};
  std::vector<uint8_t> keep(s.B * s.Tk, 1);
  keep[0] = 0;
  keep[5] = 0;
  check_against_naive<T>(s, true, 14, keep);

  Buffers<T> b = make_buffers<T>(s, 15);
  const T scale = T(0.25);
  attention_forward(b.out.data(), b.lse.data(), b.q.data(), b.k.data(), b.v.data(), keep.data(),
                    scale, s);
  for (int64_t h = 0; h < s.H; ++h) {
    EXPECT_TRUE(std::isinf(b.lse[h * s.Tq]) && b.lse[h * s.Tq] < 0);
    for (int64_t d = 0; d < s.Dv; ++d) EXPECT_EQ(b.out[h * s.Dv + d], T(0));
  }
  // Gradient from query 0 only: dout is zero elsewhere; dq, dk, dv must stay exactly zero.
  std::vector<T> dout(b.dout.size(), T(0));
  for (int64_t i = 0; i < s.H * s.Dv; ++i) dout[i] = T(1);
  std::vector<T> dq(b.q.size(), T(0)), dk(b.k.size(), T(0)), dv(b.v.size(), T(0));
  attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), b.q.data(), b.k.data(),
                     b.v.data(), b.out.data(), b.lse.data(), keep.data(), scale, s);
  for (T x : dq) ASSERT_EQ(x, T(0));
  for (T x : dk) ASSERT_EQ(x, T(0));
  for (T x : dv) ASSERT_EQ(x, T(0));
}

// Central differences of L = sum(out * w) in double, straight on the tiled kernel, on a tiny
// case with GQA, a window, a padding mask and Dqk != Dv.
TEST(Attention, FiniteDifferencesDouble) {
  const AttentionShape s{1, 5, 7, 2, 1, 3, 2, 4};
  Buffers<double> b = make_buffers<double>(s, 21);
  const std::vector<uint8_t> keep = {1, 1, 0, 1, 1, 1, 1};
  const double scale = 0.7;
  const std::vector<double>& w = b.dout;
  auto loss = [&]() {
    std::vector<double> out(b.out.size()), lse(b.lse.size());
    attention_forward(out.data(), lse.data(), b.q.data(), b.k.data(), b.v.data(), keep.data(),
                      scale, s);
    double l = 0;
    for (size_t i = 0; i < out.size(); ++i) l += out[i] * w[i];
    return l;
  };
  attention_forward(b.out.data(), b.lse.data(), b.q.data(), b.k.data(), b.v.data(), keep.data(),
                    scale, s);
  std::vector<double> dq(b.q.size(), 0.0), dk(b.k.size(), 0.0), dv(b.v.size(), 0.0);
  attention_backward(dq.data(), dk.data(), dv.data(), w.data(), b.q.data(), b.k.data(), b.v.data(),
                     b.out.data(), b.lse.data(), keep.data(), scale, s);
  const double eps = 1e-6;
  auto check = [&](std::vector<double>& x, const std::vector<double>& grad, const char* name) {
    for (size_t i = 0; i < x.size(); ++i) {
      const double x0 = x[i];
      x[i] = x0 + eps;
      const double lp = loss();
      x[i] = x0 - eps;
      const double lm = loss();
      x[i] = x0;
      const double fd = (lp - lm) / (2 * eps);
      // Central differences: truncation ~eps^2, cancellation ~1e-16/eps = 1e-10.
      EXPECT_NEAR(grad[i], fd, 1e-8) << name << "[" << i << "]";
    }
  };
  check(b.q, dq, "dq");
  check(b.k, dk, "dk");
  check(b.v, dv, "dv");
  // The padded-out key gets no gradient at all.
  for (int64_t d = 0; d < s.Dqk; ++d) EXPECT_EQ(dk[2 * s.Dqk + d], 0.0);
}

// Two runs give bitwise identical outputs and gradients, and so does a run on one thread
// (every output element is computed by one task in a fixed order).
TEST(Attention, Deterministic) {
  const AttentionShape s{2, 200, 200, 4, 2, 64, 64, 0};
  auto run = [&]() {
    Buffers<float> b = make_buffers<float>(s, 31);
    const float scale = 0.125f;
    attention_forward(b.out.data(), b.lse.data(), b.q.data(), b.k.data(), b.v.data(), nullptr,
                      scale, s);
    attention_backward(b.dq.data(), b.dk.data(), b.dv.data(), b.dout.data(), b.q.data(), b.k.data(),
                       b.v.data(), b.out.data(), b.lse.data(), nullptr, scale, s);
    return b;
  };
  const Buffers<float> a = run(), c = run();
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const Buffers<float> one = run();
  omp_set_num_threads(threads);
  auto same = [](const std::vector<float>& x, const std::vector<float>& y) {
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
  };
  EXPECT_TRUE(same(a.out, c.out));
  EXPECT_TRUE(same(a.lse, c.lse));
  EXPECT_TRUE(same(a.dq, c.dq));
  EXPECT_TRUE(same(a.dk, c.dk));
  EXPECT_TRUE(same(a.dv, c.dv));
  EXPECT_TRUE(same(a.out, one.out));
  EXPECT_TRUE(same(a.dq, one.dq));
  EXPECT_TRUE(same(a.dk, one.dk));
  EXPECT_TRUE(same(a.dv, one.dv));
}

}  // namespace
}  // namespace seekforge::kernels
