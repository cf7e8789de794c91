#include "kernels/softmax.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernel_test_util.h"
#include "kernels/vec_math.h"

namespace seekforge::kernels {
namespace {

using testing::expect_close;
using testing::randn;

template <typename T>
class SoftmaxTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SoftmaxTest, Types);

TYPED_TEST(SoftmaxTest, FastMatchesNaive) {
  using T = TypeParam;
  for (int64_t C : {1, 7, 33, 385, 1024, 32768}) {
    const int64_t N = C >= 32768 ? 5 : 37;
    const std::string tag = "C=" + std::to_string(C);
    auto x = randn<T>(N * C, 1, 3.0), dy = randn<T>(N * C, 2);
    std::vector<T> y(N * C), y0(N * C), ly(N * C), ly0(N * C);
    softmax_forward(y.data(), x.data(), N, C);
    softmax_forward_naive(y0.data(), x.data(), N, C);
    expect_close(y, y0, "softmax y " + tag);
    log_softmax_forward(ly.data(), x.data(), N, C);
    log_softmax_forward_naive(ly0.data(), x.data(), N, C);
    expect_close(ly, ly0, "log_softmax y " + tag);
    auto dx = randn<T>(N * C, 3), dx0 = dx;
    softmax_backward(dx.data(), y0.data(), dy.data(), N, C);
    softmax_backward_naive(dx0.data(), y0.data(), dy.data(), N, C);
    expect_close(dx, dx0, "softmax dx " + tag);
    dx = randn<T>(N * C, 4), dx0 = dx;
    log_softmax_backward(dx.data(), ly0.data(), dy.data(), N, C);
    log_softmax_backward_naive(dx0.data(), ly0.data(), dy.data(), N, C);
    expect_close(dx, dx0, "log_softmax dx " + tag);
  }
}

TYPED_TEST(SoftmaxTest, MaskedAndLargeLogits) {
  // -inf entries (masks) must give probability exactly 0, and huge logits must not overflow.
  using T = TypeParam;
  const T inf = std::numeric_limits<T>::infinity();
  std::vector<T> x = {T(1000), -inf, T(999), -inf, T(0), T(-1000), T(998), -inf, T(1),
                      T(2),    T(3), T(4),   T(5), T(6), T(7),     T(8),   -inf, T(9)};
  const int64_t C = int64_t(x.size());
  std::vector<T> y(C), y0(C);
  softmax_forward(y.data(), x.data(), 1, C);
  softmax_forward_naive(y0.data(), x.data(), 1, C);
  expect_close(y, y0, "softmax masked");
  for (int64_t c = 0; c < C; ++c) {
    if (x[c] == -inf) {
      EXPECT_EQ(y[c], T(0)) << c;
    }
  }
}

TEST(SoftmaxGrad, FiniteDifferences) {
  const int64_t N = 3, C = 5;
  auto x = randn<double>(N * C, 5), up = randn<double>(N * C, 6);
  std::vector<double> y(N * C);
  auto loss_sm = [&] {
    softmax_forward(y.data(), x.data(), N, C);
    return testing::dot(y, up);
  };
  loss_sm();
  std::vector<double> dx(N * C, 0.0);
  softmax_backward(dx.data(), y.data(), up.data(), N, C);
  testing::expect_grad_fd(x, dx, loss_sm, "softmax dx");

  auto loss_lsm = [&] {
    log_softmax_forward(y.data(), x.data(), N, C);
    return testing::dot(y, up);
  };
  loss_lsm();
  std::fill(dx.begin(), dx.end(), 0.0);
  log_softmax_backward(dx.data(), y.data(), up.data(), N, C);
  testing::expect_grad_fd(x, dx, loss_lsm, "log_softmax dx");
}

#if defined(SEEKFORGE_SIMD)
TEST(VecMath, Exp512Accuracy) {
  // Relative error against double exp over the normal range; exact 0 / inf at the ends.
  double worst = 0;
  for (float x0 = -87.0f; x0 < 88.0f; x0 += 0.37f * 16) {
    alignas(64) float in[16], out[16];
    for (int i = 0; i < 16; ++i) in[i] = x0 + 0.37f * float(i) + 1e-3f * float(i * i);
    simd::store(out, simd::exp(simd::load(in)));
    for (int i = 0; i < 16; ++i) {
      if (in[i] > 88.0f) continue;
      const double want = std::exp(double(in[i]));
      worst = std::max(worst, std::abs(out[i] - want) / want);
    }
  }
  EXPECT_LT(worst, 3e-7);
  alignas(64) float out[16];
  simd::store(out, simd::exp(simd::set1(-std::numeric_limits<float>::infinity())));
  EXPECT_EQ(out[0], 0.0f);
  simd::store(out, simd::exp(simd::set1(100.0f)));
  EXPECT_TRUE(std::isinf(out[0]));
  simd::store(out, simd::exp(simd::set1(0.0f)));
  EXPECT_EQ(out[0], 1.0f);
  // Just below FLT_MAX: 2^n with n = 128 must not overflow early.
  simd::store(out, simd::exp(simd::set1(88.6f)));
  EXPECT_NEAR(out[0] / std::exp(double(88.6f)), 1.0, 3e-7);
  // Down to FLT_MIN the result is a normal float, not flushed early.
  simd::store(out, simd::exp(simd::set1(-87.3f)));
  EXPECT_NEAR(out[0] / std::exp(double(-87.3f)), 1.0, 3e-7);
  // NaN stays NaN (a NaN logit must not turn into a probability of 0).
  simd::store(out, simd::exp(simd::set1(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(out[0]));
}

TEST(VecMath, ExpAccuracyWhereSoftmaxLives) {
  // Softmax and cross-entropy see x - max in [-30, 0]: a sweep of [-30, 1] by float steps
  // (every reduction interval and table entry many times over, and the binades near 0).
  double worst = 0;
  // Walks the floats of [lo, hi) (same sign) by `stride` representable steps.
  auto check = [&](float lo, float hi, uint32_t stride) {
    alignas(64) float in[16], out[16];
    int fill = 0;
    auto flush = [&] {
      simd::store(out, simd::exp(simd::load(in)));
      for (int i = 0; i < fill; ++i) {
        const double want = std::exp(double(in[i]));
        worst = std::max(worst, std::abs(out[i] - want) / want);
      }
      fill = 0;
    };
    uint32_t a, b;
    std::memcpy(&a, &lo, 4);
    std::memcpy(&b, &hi, 4);
    for (uint32_t u = std::min(a, b); u < std::max(a, b); u += stride) {
      std::memcpy(&in[fill++], &u, 4);
      if (fill == 16) flush();
    }
    if (fill > 0) flush();
  };
  check(-1.0f, -0.0f, 2039);
  check(0.0f, 1.0f, 2039);
  check(-30.0f, -1.0f, 211);
  EXPECT_LT(worst, 2e-7);  // ~1.7 float ulps at the bottom of a binade
}

TEST(VecMath, ExpNoOverflowAccuracyAndEnds) {
  // The softmax-kernels' exp: full accuracy from e^-86.6 up to e^88, 0 below (and for -inf).
  double worst = 0;
  alignas(64) float in[16], out[16];
  for (float x0 = -86.6f; x0 < 88.0f; x0 += 0.0137f * 16) {
    for (int i = 0; i < 16; ++i) in[i] = std::min(88.0f, x0 + 0.0137f * float(i));
    simd::store(out, simd::exp_no_overflow(simd::load(in)));
    for (int i = 0; i < 16; ++i) {
      const double want = std::exp(double(in[i]));
      worst = std::max(worst, std::abs(out[i] - want) / want);
    }
  }
  for (float x0 = -1.0f; x0 < 1.0f; x0 += 1e-4f * 16) {
    for (int i = 0; i < 16; ++i) in[i] = x0 + 1e-4f * float(i);
    simd::store(out, simd::exp_no_overflow(simd::load(in)));
    for (int i = 0; i < 16; ++i) {
      const double want = std::exp(double(in[i]));
      worst = std::max(worst, std::abs(out[i] - want) / want);
    }
  }
  EXPECT_LT(worst, 2e-7);
  for (float x : {-87.5f, -1000.0f, -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::lowest()}) {
    simd::store(out, simd::exp_no_overflow(simd::set1(x)));
    EXPECT_EQ(out[0], 0.0f) << x;
  }
  simd::store(out, simd::exp_no_overflow(simd::zero()));
  EXPECT_EQ(out[0], 1.0f);
}

TEST(VecMath, ExpRefAccuracyAndFloor) {
  // exp(x - ref ln2) for references across the cross-entropy's fast range and x from the floor
  // (ref ln2 - 86.5) to 64 above the reference: the bits of 2^((k - steps ref)/steps) are built
  // by one integer add, so every table entry and both signs of k - steps ref are swept.
  double worst = 0;
  alignas(64) float in[16], out[16];
  for (int ref : {-577, -100, -1, 0, 1, 37, 300, 577}) {
    const double at = ref * 0.6931471805599453;
    const float floor = float(at) - 86.5f;
    const simd::vf bias = simd::exp_ref_bias(ref), fl = simd::set1(floor);
    for (double x0 = at - 86.4; x0 < at + 64; x0 += 0.0371 * 16) {
      for (int i = 0; i < 16; ++i) in[i] = float(x0 + 0.0371 * i);
      simd::store(out, simd::exp_ref(simd::load(in), bias, fl));
      for (int i = 0; i < 16; ++i) {
        if (std::abs(in[i]) > 700 || in[i] < floor) continue;
        const double want = std::exp(double(in[i]) - at);
        worst = std::max(worst, std::abs(out[i] - want) / want);
      }
    }
    // Below the floor, -inf and NaN: exactly 0.
    for (float x : {floor - 0.01f, floor - 500.0f, -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()}) {
      simd::store(out, simd::exp_ref(simd::set1(x), bias, fl));
      EXPECT_EQ(out[0], 0.0f) << "ref " << ref << " x " << x;
    }
    // At the reference itself: 1 (k = steps ref, r = 0 up to the rounding of ref ln2).
    simd::store(out, simd::exp_ref(simd::set1(float(at)), bias, fl));
    EXPECT_NEAR(out[0], 1.0, 1e-4 + std::abs(at) * 1.2e-7) << ref;
  }
  EXPECT_LT(worst, 2e-7);
}

TEST(VecMath, SumProductsInDoubleOnEveryTail) {
  // The float path's double accumulators against a plain double loop: every length around the
  // 16- and 32-lane steps, so the masked tail (whose off lanes must add nothing) is covered too.
  for (int64_t C : {0, 1, 15, 16, 17, 31, 32, 33, 47, 64, 1000, 32771}) {
    const std::vector<float> a = randn<float>(size_t(C), 11), w = randn<float>(size_t(C), 12),
                             b = randn<float>(size_t(C), 13);
    double want2 = 0, want3 = 0, scale2 = 0, scale3 = 0;
    for (int64_t c = 0; c < C; ++c) {
      want2 += double(a[c]) * double(b[c]);
      want3 += double(a[c] * w[c]) * double(b[c]);
      scale2 += std::abs(double(a[c]) * double(b[c]));
      scale3 += std::abs(double(a[c] * w[c]) * double(b[c]));
    }
    // Only the summation order differs: error ~ C * 1e-16 of the sum of magnitudes.
    EXPECT_NEAR(sum_products(a.data(), b.data(), C), want2, 1e-13 * (1 + scale2)) << C;
    EXPECT_NEAR(sum_products(a.data(), w.data(), b.data(), C), want3, 1e-13 * (1 + scale3)) << C;
  }
}
#endif

TEST(SoftmaxDeterminism, RepeatsBitwise) {
  const int64_t N = 33, C = 1031;
  auto x = randn<float>(N * C, 7), dy = randn<float>(N * C, 8);
  std::vector<float> y1(N * C), y2(N * C), d1(N * C, 0.f), d2(N * C, 0.f);
  softmax_forward(y1.data(), x.data(), N, C);
  softmax_forward(y2.data(), x.data(), N, C);
  EXPECT_TRUE(testing::bitwise_equal(y1, y2));
  softmax_backward(d1.data(), y1.data(), dy.data(), N, C);
  softmax_backward(d2.data(), y1.data(), dy.data(), N, C);
  EXPECT_TRUE(testing::bitwise_equal(d1, d2));
}

}  // namespace
}  // namespace seekforge::kernels
