// Tests of the GEMM layer: the oneDNN path against gemm_naive on odd sizes, every transpose,
// batches with padded and broadcast strides, submatrix views, alpha/beta; bf16 and f16 on
// rounded inputs; the double path; the primitive cache; run-to-run bitwise determinism.
#include "kernels/gemm.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "core/error.h"

namespace seekforge::kernels {
namespace {

// Elements an operand spans: `rows` x `cols` as stored, row stride ld, `batch` copies apart by
// batch_stride (0: one copy shared by every batch).
int64_t span(int64_t batch, int64_t batch_stride, int64_t rows, int64_t cols, int64_t ld) {
  return (batch_stride == 0 ? 0 : (batch - 1) * batch_stride) + (rows - 1) * ld + cols;
}
int64_t span_a(const GemmShape& s) {
  return span(s.batch, s.stride_a, s.trans_a ? s.k : s.m, s.trans_a ? s.m : s.k, s.lda);
}
int64_t span_b(const GemmShape& s) {
  return span(s.batch, s.stride_b, s.trans_b ? s.n : s.k, s.trans_b ? s.k : s.n, s.ldb);
}
int64_t span_c(const GemmShape& s) { return span(s.batch, s.stride_c, s.m, s.n, s.ldc); }

// Whether element e of C's buffer is part of the logical [batch, m, n] output.
std::vector<bool> c_mask(const GemmShape& s) {
  std::vector<bool> mask(static_cast<size_t>(span_c(s)), false);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) mask[b * s.stride_c + i * s.ldc + j] = true;
  return mask;
}

template <typename T>
std::vector<T> random_vector(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

// Sum over p of |op(A)(i,p) * op(B)(p,j)| per C element of the logical output, for error bounds.
std::vector<double> abs_products(const GemmShape& s, const std::vector<float>& a,
                                 const std::vector<float>& b) {
  std::vector<double> da(a.begin(), a.end()), db(b.begin(), b.end());
  for (auto& x : da) x = std::fabs(x);
  for (auto& x : db) x = std::fabs(x);
  std::vector<double> out(static_cast<size_t>(span_c(s)), 0.0);
  gemm_naive<double>(s, da.data(), db.data(), out.data(), 1.0, 0.0);
  return out;
}

// Runs gemm (f32) and gemm_naive<float> on the same random operands and compares: the logical
// output within `k * 2^-23 * sum|a||b|` (worst-case fp32 summation, times 4 for slack), padding
// of C bit for bit (neither may touch it).
void check_f32(const GemmShape& s, float alpha, float beta, uint32_t seed = 1) {
  SCOPED_TRACE(::testing::Message() << "batch " << s.batch << " m " << s.m << " n " << s.n
                                    << " k " << s.k << " ta " << s.trans_a << " tb " << s.trans_b
                                    << " lda " << s.lda << " ldb " << s.ldb << " ldc " << s.ldc
                                    << " sa " << s.stride_a << " sb " << s.stride_b << " sc "
                                    << s.stride_c << " alpha " << alpha << " beta " << beta);
  auto a = random_vector<float>(span_a(s), seed);
  auto b = random_vector<float>(span_b(s), seed + 1);
  std::vector<float> c = random_vector<float>(span_c(s), seed + 2);
  if (beta == 0.0f) {  // beta == 0 must not read C: poison it
    for (auto& x : c) x = std::numeric_limits<float>::quiet_NaN();
  }
  std::vector<float> want = c;
  gemm(s, a.data(), b.data(), c.data(), alpha, beta);
  gemm_naive<float>(s, a.data(), b.data(), want.data(), alpha, beta);
  const auto mag = abs_products(s, a, b);
  const auto mask = c_mask(s);
  for (size_t e = 0; e < c.size(); ++e) {
    if (mask[e]) {
      const double tol = 4.0 * (s.k + 2) * std::ldexp(1.0, -23) * (std::fabs(alpha) * mag[e] + 1);
      ASSERT_NEAR(c[e], want[e], tol) << "element " << e;
    } else {
      ASSERT_EQ(std::bit_cast<uint32_t>(c[e]), std::bit_cast<uint32_t>(want[e]))
          << "padding element " << e << " was written";
    }
  }
}

TEST(Gemm, F32OddSizesAllTransposes) {
  const int64_t sizes[] = {1, 7, 33, 130};
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : sizes)
        for (int t = 0; t < 4; ++t) check_f32(gemm_shape(1, m, n, k, t & 1, t & 2), 1.0f, 0.0f);
}

TEST(Gemm, F32BatchedPaddedAndBroadcastStrides) {
  for (int t = 0; t < 4; ++t) {
    GemmShape s = gemm_shape(3, 33, 7, 130, t & 1, t & 2);
    s.stride_a += 5;
    s.stride_b += 11;
    s.stride_c += 3;
    check_f32(s, 1.0f, 0.0f);
    GemmShape sa = gemm_shape(4, 7, 33, 130, t & 1, t & 2);
    sa.stride_a = 0;  // one A for every batch (e.g. shared weights)
    check_f32(sa, 1.0f, 0.0f);
    GemmShape sb = gemm_shape(4, 130, 7, 33, t & 1, t & 2);
    sb.stride_b = 0;
    check_f32(sb, 1.0f, 1.0f);
  }
}

TEST(Gemm, F32SubmatrixViews) {
  // Leading dimensions larger than the logical width, as when A, B and C are column slices of
  // wider matrices (a fused QKV projection split into its parts).
  for (int t = 0; t < 4; ++t) {
    GemmShape s = gemm_shape(1, 33, 130, 7, t & 1, t & 2);
    s.lda += 9;
    s.ldb += 4;
    s.ldc += 17;
    check_f32(s, 1.0f, 0.0f);
    GemmShape sb = gemm_shape(2, 7, 33, 130, t & 1, t & 2);
    sb.lda += 1;
    sb.ldb += 2;
    sb.ldc += 3;
    sb.stride_a = span_a(sb) + 2;
    sb.stride_b = span(1, 0, t & 2 ? sb.n : sb.k, t & 2 ? sb.k : sb.n, sb.ldb);
    sb.stride_c = sb.m * sb.ldc;
    check_f32(sb, 0.5f, 1.0f);
  }
}

TEST(Gemm, F32AlphaBetaAccumulate) {
  for (int t = 0; t < 4; ++t) {
    const GemmShape s = gemm_shape(2, 33, 130, 7, t & 1, t & 2);
    check_f32(s, 1.0f, 1.0f);
    check_f32(s, 0.125f, 1.0f);
    check_f32(s, -2.0f, 0.25f);
    check_f32(s, 0.5f, 0.0f);
  }
}

TEST(Gemm, CheckShapeRejectsBadLayouts) {
  EXPECT_NO_THROW(check_gemm_shape(gemm_shape(3, 7, 33, 130, true, true), "test"));
  EXPECT_NO_THROW(check_gemm_shape(gemm_shape(2, 3, 4, 0), "test"));  // empty product
  GemmShape s = gemm_shape(1, 7, 33, 130, false, true);
  s.ldb = 129;  // B stored [33, 130]: rows need 130
  EXPECT_THROW(check_gemm_shape(s, "test"), Error);
  s = gemm_shape(2, 7, 33, 130);
  s.stride_c = 0;  // two outputs on top of each other
  EXPECT_THROW(check_gemm_shape(s, "test"), Error);
  s = gemm_shape(2, 7, 33, 130);
  s.stride_a = 0;  // broadcast A is fine
  EXPECT_NO_THROW(check_gemm_shape(s, "test"));
  s.m = -1;
  EXPECT_THROW(check_gemm_shape(s, "test"), Error);
}

TEST(Gemm, ZeroKScalesC) {
  GemmShape s = gemm_shape(1, 3, 4, 0);
  std::vector<float> c(12, 2.0f);
  gemm(s, nullptr, nullptr, c.data(), 1.0f, 0.5f);
  for (float x : c) EXPECT_EQ(x, 1.0f);
  std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
  gemm(s, nullptr, nullptr, c.data(), 1.0f, 0.0f);
  for (float x : c) EXPECT_EQ(x, 0.0f);
}

// bf16 / f16: operands rounded to the 16-bit type, the oracle runs in double on the rounded
// values. Products of two bf16 (or f16) values are exact in fp32, so the only error is fp32
// accumulation: |err| <= k * 2^-23 * sum_p |a_ip b_pj| (tolerance: 4x that, plus the final
// rounding of C when C is 16-bit: 2^-8 relative for bf16, 2^-11 for f16).
void check_half(DType ab, DType cd, const GemmShape& s, float alpha, float beta) {
  SCOPED_TRACE(::testing::Message() << dtype_name(ab) << "->" << dtype_name(cd) << " batch "
                                    << s.batch << " m " << s.m << " n " << s.n << " k " << s.k
                                    << " ta " << s.trans_a << " tb " << s.trans_b << " beta "
                                    << beta);
  const bool bf = ab == DType::bf16;
  auto to16 = [bf](float x) { return bf ? float_to_bf16(x) : float_to_f16(x); };
  auto from16 = [bf](uint16_t h) { return bf ? bf16_to_float(h) : f16_to_float(h); };
  auto af = random_vector<float>(span_a(s), 7);
  auto bf32 = random_vector<float>(span_b(s), 8);
  auto cf = random_vector<float>(span_c(s), 9);
  std::vector<uint16_t> a16(af.size()), b16(bf32.size()), c16(cf.size());
  for (size_t i = 0; i < af.size(); ++i) af[i] = from16(a16[i] = to16(af[i]));
  for (size_t i = 0; i < bf32.size(); ++i) bf32[i] = from16(b16[i] = to16(bf32[i]));
  for (size_t i = 0; i < cf.size(); ++i) cf[i] = from16(c16[i] = to16(cf[i]));

  std::vector<double> want(cf.begin(), cf.end());
  std::vector<double> ad(af.begin(), af.end()), bd(bf32.begin(), bf32.end());
  gemm_naive<double>(s, ad.data(), bd.data(), want.data(), alpha, beta);
  const auto mag = abs_products(s, af, bf32);
  const auto mask = c_mask(s);

  std::vector<float> got(cf.size());
  if (cd == DType::f32) {
    got = cf;
    gemm(ab, DType::f32, s, a16.data(), b16.data(), got.data(), alpha, beta);
  } else {
    gemm(ab, cd, s, a16.data(), b16.data(), c16.data(), alpha, beta);
    for (size_t i = 0; i < got.size(); ++i) got[i] = from16(c16[i]);
  }
  const double out_rel = cd == DType::f32 ? 0.0 : (bf ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11));
  for (size_t e = 0; e < got.size(); ++e) {
    if (!mask[e]) continue;
    const double tol = 4.0 * (s.k + 2) * std::ldexp(1.0, -23) * (std::fabs(alpha) * mag[e] + 1) +
                       out_rel * std::fabs(want[e]) * 1.01;
    ASSERT_NEAR(got[e], want[e], tol) << "element " << e;
  }
}

TEST(Gemm, Bf16MatchesNaiveOnRoundedInputs) {
  const int64_t sizes[] = {1, 7, 33, 130};
  for (int64_t m : sizes)
    for (int64_t k : sizes)
      for (int t = 0; t < 4; ++t)
        check_half(DType::bf16, DType::f32, gemm_shape(1, m, 33, k, t & 1, t & 2), 1.0f, 0.0f);
  for (int t = 0; t < 4; ++t) {
    GemmShape s = gemm_shape(3, 33, 130, 257, t & 1, t & 2);
    s.stride_b = 0;
    check_half(DType::bf16, DType::f32, s, 0.5f, 1.0f);
    check_half(DType::bf16, DType::bf16, gemm_shape(2, 130, 7, 33, t & 1, t & 2), 1.0f, 0.0f);
    check_half(DType::bf16, DType::bf16, gemm_shape(2, 130, 7, 33, t & 1, t & 2), 1.0f, 1.0f);
  }
  check_half(DType::bf16, DType::f32, gemm_shape(1, 64, 64, 4096), 1.0f, 0.0f);  // long K
}

TEST(Gemm, F16MatchesNaiveOnRoundedInputs) {
  for (int t = 0; t < 4; ++t) {
    GemmShape s = gemm_shape(2, 33, 7, 130, t & 1, t & 2);
    s.lda += 3;
    s.stride_a = 0;
    check_half(DType::f16, DType::f32, s, 1.0f, 0.0f);
    check_half(DType::f16, DType::f32, gemm_shape(1, 7, 130, 33, t & 1, t & 2), 2.0f, 1.0f);
    check_half(DType::f16, DType::f16, gemm_shape(2, 7, 130, 33, t & 1, t & 2), 1.0f, 1.0f);
  }
}

TEST(Gemm, DoubleMatchesNaive) {
  auto check = [](const GemmShape& s, double alpha, double beta) {
    auto a = random_vector<double>(span_a(s), 3);
    auto b = random_vector<double>(span_b(s), 4);
    auto c = random_vector<double>(span_c(s), 5);
    if (beta == 0.0) std::fill(c.begin(), c.end(), std::numeric_limits<double>::quiet_NaN());
    auto want = c;
    gemm(s, a.data(), b.data(), c.data(), alpha, beta);
    gemm_naive<double>(s, a.data(), b.data(), want.data(), alpha, beta);
    const auto mask = c_mask(s);
    for (size_t e = 0; e < c.size(); ++e) {
      if (mask[e]) {
        ASSERT_NEAR(c[e], want[e], 1e-14 * (s.k + 2)) << "element " << e;
      } else {
        ASSERT_EQ(std::bit_cast<uint64_t>(c[e]), std::bit_cast<uint64_t>(want[e]));
      }
    }
  };
  const int64_t sizes[] = {1, 7, 33, 300};
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int t = 0; t < 4; ++t) check(gemm_shape(1, m, n, 33, t & 1, t & 2), 1.0, 0.0);
  for (int t = 0; t < 4; ++t) {
    GemmShape s = gemm_shape(3, 33, 300, 7, t & 1, t & 2);
    s.lda += 2;
    s.ldc += 5;
    s.stride_a = 0;
    s.stride_c = s.m * s.ldc;
    check(s, 0.5, 1.0);
    GemmShape sb = gemm_shape(3, 7, 33, 130, t & 1, t & 2);
    sb.stride_b = 0;
    check(sb, -1.0, 0.25);
  }
}

TEST(Gemm, CacheReusesPrimitives) {
  gemm_cache_clear();
  GemmShape s = gemm_shape(1, 16, 24, 32);
  std::vector<float> a(16 * 32, 1.0f), b(32 * 24, 1.0f), c(16 * 24);
  gemm(s, a.data(), b.data(), c.data(), 1.0f, 0.0f);
  EXPECT_EQ(gemm_cache_stats().misses, 1);
  EXPECT_EQ(gemm_cache_stats().hits, 0);
  gemm(s, a.data(), b.data(), c.data(), 1.0f, 0.0f);
  EXPECT_EQ(gemm_cache_stats().misses, 1);
  EXPECT_EQ(gemm_cache_stats().hits, 1);
  // Batch strides do not matter for a single matrix; -0 and +0 beta share an entry.
  s.stride_a = 12345;
  gemm(s, a.data(), b.data(), c.data(), 1.0f, -0.0f);
  EXPECT_EQ(gemm_cache_stats().misses, 1);
  EXPECT_EQ(gemm_cache_stats().hits, 2);
  // A different alpha, beta, transpose or dtype is a different primitive.
  gemm(s, a.data(), b.data(), c.data(), 2.0f, 0.0f);
  gemm(s, a.data(), b.data(), c.data(), 1.0f, 1.0f);
  EXPECT_EQ(gemm_cache_stats().misses, 3);
  EXPECT_EQ(gemm_cache_stats().size, 3);
  for (float x : c) EXPECT_EQ(x, 96.0f);  // 32 added by beta = 1 to the 64 of alpha = 2
  gemm_cache_clear();
  EXPECT_EQ(gemm_cache_stats().size, 0);
  EXPECT_EQ(gemm_cache_stats().hits, 0);
}

TEST(Gemm, BitwiseDeterministic) {
  for (DType t : {DType::f32, DType::bf16}) {
    const GemmShape s = gemm_shape(2, 130, 257, 513, false, true);
    auto af = random_vector<float>(span_a(s), 11);
    auto bf = random_vector<float>(span_b(s), 12);
    std::vector<uint16_t> a16(af.size()), b16(bf.size());
    for (size_t i = 0; i < af.size(); ++i) a16[i] = float_to_bf16(af[i]);
    for (size_t i = 0; i < bf.size(); ++i) b16[i] = float_to_bf16(bf[i]);
    const void* a = t == DType::f32 ? static_cast<const void*>(af.data()) : a16.data();
    const void* b = t == DType::f32 ? static_cast<const void*>(bf.data()) : b16.data();
    std::vector<float> c1(span_c(s)), c2(span_c(s));
    gemm(t, s, a, b, c1.data(), 1.0f, 0.0f);
    gemm(t, s, a, b, c2.data(), 1.0f, 0.0f);
    EXPECT_EQ(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)), 0) << dtype_name(t);
  }
}

TEST(Gemm, ConcurrentCallersAgree) {
  const GemmShape s = gemm_shape(1, 64, 96, 128);
  auto a = random_vector<float>(span_a(s), 21);
  auto b = random_vector<float>(span_b(s), 22);
  std::vector<float> want(span_c(s));
  gemm(s, a.data(), b.data(), want.data(), 1.0f, 0.0f);
  std::vector<std::vector<float>> got(2, std::vector<float>(want.size()));
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep) gemm(s, a.data(), b.data(), got[t].data(), 1.0f, 0.0f);
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 2; ++t) EXPECT_EQ(got[t], want);
}

}  // namespace
}  // namespace seekforge::kernels
