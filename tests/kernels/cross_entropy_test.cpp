#include "kernels/cross_entropy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "kernel_test_util.h"

namespace seekforge::kernels {
namespace {

using testing::expect_close;
using testing::randn;

// Random targets in [0, V) with every third row (and row 1) ignored.
std::vector<int64_t> make_targets(int64_t N, int64_t V, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> t(N);
  for (int64_t n = 0; n < N; ++n) t[n] = (n % 3 == 2 || n == 1) ? kIgnoreIndex : int64_t(rng() % V);
  return t;
}

template <typename T>
class CrossEntropyTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CrossEntropyTest, Types);

TYPED_TEST(CrossEntropyTest, FastMatchesNaive) {
  using T = TypeParam;
  for (int64_t V : {1, 7, 33, 385, 32768}) {
    for (double eps : {0.0, 0.1}) {
      const int64_t N = V >= 32768 ? 7 : 23;
      const std::string tag = "V=" + std::to_string(V) + " eps=" + std::to_string(eps);
      auto logits = randn<T>(N * V, 1, 3.0), dloss = randn<T>(N, 2);
      const auto targets = make_targets(N, V, 3);
      std::vector<T> loss(N), lse(N), loss0(N), lse0(N);
      cross_entropy_forward(loss.data(), lse.data(), logits.data(), targets.data(), N, V, T(eps));
      cross_entropy_forward_naive(loss0.data(), lse0.data(), logits.data(), targets.data(), N, V,
                                  T(eps));
      expect_close(loss, loss0, "ce loss " + tag);
      expect_close(lse, lse0, "ce lse " + tag);
      for (int64_t n = 0; n < N; ++n) {
        if (targets[n] == kIgnoreIndex) {
          EXPECT_EQ(loss[n], T(0)) << tag << " row " << n;
        }
      }
      for (bool acc : {true, false}) {
        auto d = randn<T>(N * V, 4), d0 = d;
        cross_entropy_backward(d.data(), dloss.data(), logits.data(), lse0.data(), targets.data(),
                               N, V, T(eps), kIgnoreIndex, acc);
        cross_entropy_backward_naive(d0.data(), dloss.data(), logits.data(), lse0.data(),
                                     targets.data(), N, V, T(eps), kIgnoreIndex, acc);
        expect_close(d, d0, "ce dlogits " + tag + (acc ? " accumulate" : " overwrite"));
      }
      // The one-pass forward+backward against the naive forward then backward.
      auto d = randn<T>(N * V, 5), d0 = d;
      std::vector<T> loss1(N), lse1(N);
      cross_entropy_forward_backward(loss1.data(), lse1.data(), d.data(), dloss.data(),
                                     logits.data(), targets.data(), N, V, T(eps));
      cross_entropy_backward_naive(d0.data(), dloss.data(), logits.data(), lse0.data(),
                                   targets.data(), N, V, T(eps), kIgnoreIndex, false);
      expect_close(loss1, loss0, "fused ce loss " + tag);
      expect_close(lse1, lse0, "fused ce lse " + tag);
      expect_close(d, d0, "fused ce dlogits " + tag);
    }
  }
}

TEST(CrossEntropyGrad, FiniteDifferences) {
  // L = sum_n dloss_n loss_n; with label smoothing and an ignored row.
  const int64_t N = 4, V = 6;
  auto logits = randn<double>(N * V, 5, 2.0), dloss = randn<double>(N, 6);
  const std::vector<int64_t> targets = {2, kIgnoreIndex, 0, 5};
  for (double eps : {0.0, 0.2}) {
    std::vector<double> loss(N), lse(N);
    auto f = [&] {
      cross_entropy_forward(loss.data(), lse.data(), logits.data(), targets.data(), N, V, eps);
      return testing::dot(loss, dloss);
    };
    f();
    std::vector<double> d(N * V, 0.0);
    cross_entropy_backward(d.data(), dloss.data(), logits.data(), lse.data(), targets.data(), N, V,
                           eps);
    testing::expect_grad_fd(logits, d, f, "ce dlogits eps=" + std::to_string(eps));
    for (int64_t v = 0; v < V; ++v) EXPECT_EQ(d[1 * V + v], 0.0);  // ignored row
  }
}

TEST(CrossEntropy, KnownValue) {
  // Uniform logits: -log p = log V for every class; smoothing does not change it.
  const int64_t V = 8;
  std::vector<float> logits(V, 0.5f), loss(1), lse(1);
  const int64_t t = 3;
  cross_entropy_forward(loss.data(), lse.data(), logits.data(), &t, 1, V, 0.1f);
  EXPECT_NEAR(loss[0], std::log(8.0), 1e-6);
  EXPECT_NEAR(lse[0], 0.5 + std::log(8.0), 1e-6);
}

TEST(CrossEntropy, LargeOverwriteUsesStreamingPathCorrectly) {
  // 520 x 32768 floats = 68 MB, 64-byte aligned: the overwrite goes through non-temporal stores.
  const int64_t N = 520, V = 32768;
  float* logits = static_cast<float*>(std::aligned_alloc(64, N * V * sizeof(float)));
  float* d = static_cast<float*>(std::aligned_alloc(64, N * V * sizeof(float)));
  const auto row = randn<float>(V, 10, 2.0);
  for (int64_t n = 0; n < N; ++n) std::copy(row.begin(), row.end(), logits + n * V);
  auto targets = make_targets(N, V, 11);
  std::vector<float> loss(N), lse(N), dloss = randn<float>(N, 12);
  cross_entropy_forward(loss.data(), lse.data(), logits, targets.data(), N, V, 0.1f);
  std::fill(d, d + N * V, 7.0f);  // garbage that must be overwritten
  cross_entropy_backward(d, dloss.data(), logits, lse.data(), targets.data(), N, V, 0.1f,
                         kIgnoreIndex, /*accumulate=*/false);
  for (int64_t n : {int64_t(0), int64_t(1), int64_t(3), N - 1}) {
    std::vector<float> want(V), got(d + n * V, d + (n + 1) * V);
    cross_entropy_backward_naive(want.data(), &dloss[n], logits + n * V, &lse[n], &targets[n], 1, V,
                                 0.1f, kIgnoreIndex, false);
    expect_close(got, want, "streamed dlogits row " + std::to_string(n));
  }
  // The training kernel streams too, from the exps it kept in the forward half.
  std::fill(d, d + N * V, 7.0f);
  std::vector<float> loss1(N), lse1(N);
  cross_entropy_forward_backward(loss1.data(), lse1.data(), d, dloss.data(), logits, targets.data(),
                                 N, V, 0.1f);
  expect_close(loss1, loss, "fused loss");
  for (int64_t n : {int64_t(0), int64_t(1), int64_t(3), N - 1}) {
    std::vector<float> want(V), got(d + n * V, d + (n + 1) * V);
    cross_entropy_backward_naive(want.data(), &dloss[n], logits + n * V, &lse[n], &targets[n], 1, V,
                                 0.1f, kIgnoreIndex, false);
    expect_close(got, want, "fused streamed dlogits row " + std::to_string(n));
  }
  std::free(logits);
  std::free(d);
}

TEST(CrossEntropyDeterminism, RepeatsBitwise) {
  const int64_t N = 9, V = 4099;
  auto logits = randn<float>(N * V, 7), dloss = randn<float>(N, 8);
  const auto targets = make_targets(N, V, 9);
  std::vector<float> l1(N), s1(N), l2(N), s2(N), d1(N * V, 0.f), d2(N * V, 0.f);
  cross_entropy_forward(l1.data(), s1.data(), logits.data(), targets.data(), N, V, 0.1f);
  cross_entropy_forward(l2.data(), s2.data(), logits.data(), targets.data(), N, V, 0.1f);
  EXPECT_TRUE(testing::bitwise_equal(l1, l2));
  cross_entropy_backward(d1.data(), dloss.data(), logits.data(), s1.data(), targets.data(), N, V,
                         0.1f);
  cross_entropy_backward(d2.data(), dloss.data(), logits.data(), s1.data(), targets.data(), N, V,
                         0.1f);
  EXPECT_TRUE(testing::bitwise_equal(d1, d2));
}

}  // namespace
}  // namespace seekforge::kernels
