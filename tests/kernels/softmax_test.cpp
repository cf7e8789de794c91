#include "kernels/softmax.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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
