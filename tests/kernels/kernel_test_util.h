// Shared helpers for the kernel tests: seeded random buffers, an elementwise closeness check that
// names the worst element, and a central-difference gradient check in double.
#pragma once

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace seekforge::kernels::testing {

template <typename T>
std::vector<T> randn(size_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> dist(0.0, scale);
  std::vector<T> v(n);
  for (auto& x : v) x = T(dist(rng));
  return v;
}

// Default fast-vs-naive tolerances: float paths differ in summation order and in the vector exp
// (~2 ulp); double paths only in summation order.
template <typename T>
constexpr double kRtol = std::is_same_v<T, float> ? 2e-5 : 1e-11;
template <typename T>
constexpr double kAtol = std::is_same_v<T, float> ? 2e-6 : 1e-13;

// Checks |a - b| <= atol + rtol * |b| everywhere; reports the worst element.
template <typename T>
void expect_close(const std::vector<T>& a, const std::vector<T>& b, double rtol, double atol,
                  const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  size_t worst = 0;
  double worst_excess = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::abs(double(a[i]) - double(b[i]));
    const double excess = diff - (atol + rtol * std::abs(double(b[i])));
    if (!(excess <= 0) && (excess > worst_excess || std::isnan(diff))) {
      worst_excess = std::isnan(diff) ? 1e300 : excess;
      worst = i;
    }
  }
  EXPECT_LT(worst_excess, 0) << what << ": element " << worst << " got " << a[worst] << " want "
                             << b[worst];
}

template <typename T>
void expect_close(const std::vector<T>& a, const std::vector<T>& b, const std::string& what) {
  expect_close(a, b, kRtol<T>, kAtol<T>, what);
}

template <typename T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Central differences of loss() with respect to every element of x (perturbed in place), compared
// with the analytic gradient: |fd - an| <= tol * (1 + |an|). With h = 1e-5 in double the
// truncation error is O(h^2 * f''') ~ 1e-10 and the rounding error O(eps * |f| / h) ~ 1e-11, so
// tol = 1e-7 leaves a wide margin while still catching any wrong term.
inline void expect_grad_fd(std::vector<double>& x, const std::vector<double>& analytic,
                           const std::function<double()>& loss, const std::string& what,
                           double h = 1e-5, double tol = 1e-7) {
  ASSERT_EQ(x.size(), analytic.size()) << what;
  // Hundreds of tiny kernel calls: one thread avoids paying a parallel-region wake-up for each
  // (which dominates when the machine is shared). Threading is covered by the other tests.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double lp = loss();
    x[i] = keep - h;
    const double lm = loss();
    x[i] = keep;
    const double fd = (lp - lm) / (2 * h);
    EXPECT_NEAR(fd, analytic[i], tol * (1 + std::abs(analytic[i]))) << what << " element " << i;
  }
  omp_set_num_threads(threads);
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace seekforge::kernels::testing
