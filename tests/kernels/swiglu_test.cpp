#include "kernels/swiglu.h"

#include <gtest/gtest.h>

#include "kernel_test_util.h"
#include "kernels/activation.h"

namespace seekforge::kernels {
namespace {

using testing::expect_close;
using testing::randn;

// Random values plus extremes that probe exp overflow/underflow inside sigmoid and tanh.
template <typename T>
std::vector<T> inputs(int64_t n, uint64_t seed) {
  auto v = randn<T>(n, seed, 3.0);
  const T edges[] = {T(0), T(-100), T(100), T(-30), T(30), T(1e-8), T(-88.5), T(88.5)};
  for (int64_t i = 0; i < n && i < 8; ++i) v[i] = edges[i];
  return v;
}

template <typename T>
class ElementwiseTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ElementwiseTest, Types);

TYPED_TEST(ElementwiseTest, SwigluFastMatchesNaive) {
  using T = TypeParam;
  for (int64_t n : {1, 7, 33, 385, 32768}) {
    const std::string tag = "n=" + std::to_string(n);
    auto g = inputs<T>(n, 1), u = randn<T>(n, 2), dh = randn<T>(n, 3);
    std::vector<T> h(n), h0(n);
    swiglu_forward(h.data(), g.data(), u.data(), n);
    swiglu_forward_naive(h0.data(), g.data(), u.data(), n);
    expect_close(h, h0, "swiglu h " + tag);
    auto dg = randn<T>(n, 4), du = randn<T>(n, 5);
    auto dg0 = dg, du0 = du;
    swiglu_backward(dg.data(), du.data(), dh.data(), g.data(), u.data(), n);
    swiglu_backward_naive(dg0.data(), du0.data(), dh.data(), g.data(), u.data(), n);
    expect_close(dg, dg0, "swiglu dg " + tag);
    expect_close(du, du0, "swiglu du " + tag);
  }
}

template <typename T>
using Fwd = void (*)(T*, const T*, int64_t);
template <typename T>
using Bwd = void (*)(T*, const T*, const T*, int64_t);

TYPED_TEST(ElementwiseTest, ActivationsFastMatchNaive) {
  using T = TypeParam;
  struct Case {
    const char* name;
    Fwd<T> f, f0;
    Bwd<T> b, b0;
  };
  const Case cases[] = {
      {"silu", silu_forward<T>, silu_forward_naive<T>, silu_backward<T>, silu_backward_naive<T>},
      {"gelu_tanh", gelu_tanh_forward<T>, gelu_tanh_forward_naive<T>, gelu_tanh_backward<T>,
       gelu_tanh_backward_naive<T>},
      {"gelu_erf", gelu_erf_forward<T>, gelu_erf_forward_naive<T>, gelu_erf_backward<T>,
       gelu_erf_backward_naive<T>},
  };
  for (const Case& c : cases) {
    for (int64_t n : {1, 7, 33, 385, 32768}) {
      const std::string tag = std::string(c.name) + " n=" + std::to_string(n);
      auto x = inputs<T>(n, 6), dy = randn<T>(n, 7);
      std::vector<T> y(n), y0(n);
      c.f(y.data(), x.data(), n);
      c.f0(y0.data(), x.data(), n);
      expect_close(y, y0, tag + " y");
      auto dx = randn<T>(n, 8), dx0 = dx;
      c.b(dx.data(), dy.data(), x.data(), n);
      c.b0(dx0.data(), dy.data(), x.data(), n);
      expect_close(dx, dx0, tag + " dx");
    }
  }
}

TEST(ElementwiseGrad, FiniteDifferences) {
  const int64_t n = 9;
  auto g = randn<double>(n, 9, 2.0), u = randn<double>(n, 10), up = randn<double>(n, 11);
  std::vector<double> h(n);
  auto loss = [&] {
    swiglu_forward(h.data(), g.data(), u.data(), n);
    return testing::dot(h, up);
  };
  std::vector<double> dg(n, 0.0), du(n, 0.0);
  swiglu_backward(dg.data(), du.data(), up.data(), g.data(), u.data(), n);
  testing::expect_grad_fd(g, dg, loss, "swiglu dg");
  testing::expect_grad_fd(u, du, loss, "swiglu du");

  const std::pair<Fwd<double>, Bwd<double>> acts[] = {
      {silu_forward<double>, silu_backward<double>},
      {gelu_tanh_forward<double>, gelu_tanh_backward<double>},
      {gelu_erf_forward<double>, gelu_erf_backward<double>}};
  for (const auto& [f, b] : acts) {
    auto x = randn<double>(n, 12, 2.0);
    std::vector<double> y(n), dx(n, 0.0);
    auto l = [&] {
      f(y.data(), x.data(), n);
      return testing::dot(y, up);
    };
    b(dx.data(), up.data(), x.data(), n);
    testing::expect_grad_fd(x, dx, l, "activation dx");
  }
}

}  // namespace
}  // namespace seekforge::kernels
