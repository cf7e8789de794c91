#include "kernels/cross_entropy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
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

TEST(CrossEntropy, EveryPathOfTheFloatRow) {
  // The float forward fixes a reference from the first block of 256 logits and raises it when a
  // later block sits far above; rows beyond +-400 (or without a full block) take the per-lane
  // running max. Each row below steers one way; all must match the double oracle, and so must
  // the fused kernel's dlogits, which scale the exps kept under each block's reference.
  const int64_t V = 16 * 256 + 77, N = 9;
  const float ninf = -std::numeric_limits<float>::infinity();
  std::vector<float> logits = randn<float>(N * V, 21, 3.0);
  auto row = [&](int64_t n) { return logits.begin() + n * V; };
  // 0: plain random logits (the reference never moves).
  // 1: a low first block, then blocks 90 and 180 above it: two raises.
  for (int64_t v = 0; v < 256; ++v) row(1)[v] -= 50;
  for (int64_t v = 5 * 256; v < 6 * 256; ++v) row(1)[v] += 40;
  for (int64_t v = 11 * 256; v < 12 * 256; ++v) row(1)[v] += 130;
  // 2: one logit of 450 in block 7: the general path, after the fast one has started.
  row(2)[7 * 256 + 3] = 450;
  // 3: a first block below -400: the general path from the start.
  for (int64_t v = 0; v < V; ++v) row(3)[v] -= 450;
  // 4: masked classes (-inf), the first one in the first block, where the reference comes from.
  for (int64_t v = 0; v < V; v += 7) row(4)[v] = ninf;
  // 5: large logits, well inside the fast range: the reference is hundreds of octaves up.
  for (int64_t v = 0; v < V; ++v) row(5)[v] += 300;
  // 6: the tail far above the blocks: merged in double.
  for (int64_t v = V - 77; v < V; ++v) row(6)[v] += 70;
  // 7: negative throughout, with a raise from a first block near -400.
  for (int64_t v = 0; v < V; ++v) row(7)[v] -= v < 256 ? 399 : 300;
  // 8: a logit 60 above the reference, just within the headroom: no raise, large terms.
  row(8)[9 * 256] = 60;
  std::vector<int64_t> targets(N);
  for (int64_t n = 0; n < N; ++n) targets[n] = (n * 977 + 5) % V;
  targets[4] = 8;  // not a masked class
  const auto dloss = randn<float>(N, 22);
  std::vector<float> loss(N), lse(N), loss0(N), lse0(N), loss1(N), lse1(N);
  cross_entropy_forward(loss.data(), lse.data(), logits.data(), targets.data(), N, V, 0.1f);
  cross_entropy_forward_naive(loss0.data(), lse0.data(), logits.data(), targets.data(), N, V, 0.1f);
  std::vector<float> plain_loss(N), plain_lse(N);
  // Row 4's smoothing term is +inf (PyTorch's too): its finite loss is checked unsmoothed below.
  EXPECT_TRUE(std::isinf(loss[4]) && std::isinf(loss0[4]));
  loss[4] = loss0[4] = 0;
  expect_close(loss, loss0, "loss on every path");
  expect_close(lse, lse0, "lse on every path");
  std::vector<float> d(N * V, 3.0f), d0(N * V);
  cross_entropy_forward_backward(loss1.data(), lse1.data(), d.data(), dloss.data(), logits.data(),
                                 targets.data(), N, V, 0.0f);
  cross_entropy_forward_naive(plain_loss.data(), plain_lse.data(), logits.data(), targets.data(), N,
                              V, 0.0f);
  cross_entropy_backward_naive(d0.data(), dloss.data(), logits.data(), plain_lse.data(),
                               targets.data(), N, V, 0.0f, kIgnoreIndex, false);
  EXPECT_TRUE(std::isfinite(loss1[4])) << "a masked class must not make the unsmoothed loss NaN";
  expect_close(loss1, plain_loss, "fused loss on every path");
  expect_close(lse1, plain_lse, "fused lse on every path");
  expect_close(d, d0, "fused dlogits on every path");
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
