// Elementwise activation kernels (see activation.h). Float SiLU and tanh-GELU use the AVX-512
// exp (tanh-GELU through 0.5 (1 + tanh z) = sigmoid(2z)); erf-GELU stays scalar std::erf, which is
// exact and only used by models that ask for it.
#include "kernels/activation.h"

#include <cmath>

#include "kernels/vec_math.h"

namespace seekforge::kernels {
namespace {

constexpr double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kGeluCoef = 0.044715;
constexpr double kInvSqrt2 = 0.7071067811865476;
constexpr double kInvSqrt2Pi = 0.3989422804014327;  // 1 / sqrt(2 pi)

template <typename T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

template <typename T>
T gelu_tanh_inner(T x) {
  return T(kSqrt2OverPi) * (x + T(kGeluCoef) * x * x * x);
}

}  // namespace

template <typename T>
void silu_forward(T* y, const T* x, int64_t n) {
  elementwise<T>(
      n,
      [=](int64_t i, auto k) {
#if defined(SEEKFORGE_SIMD)
        if constexpr (std::is_same_v<T, float>) {
          const simd::vf v = simd::loadu(k, x + i);
          simd::storeu(y + i, k, simd::mul(v, simd::sigmoid(v)));
        }
#endif
        (void)i, (void)k;
      },
      [=](int64_t i) { y[i] = x[i] * sigmoid(x[i]); });
}

template <typename T>
void silu_backward(T* dx, const T* dy, const T* x, int64_t n) {
  // y = x s(x): dy/dx = s (1 + x (1 - s)).
  elementwise<T>(
      n,
      [=](int64_t i, auto k) {
#if defined(SEEKFORGE_SIMD)
        if constexpr (std::is_same_v<T, float>) {
          const simd::vf one = simd::set1(1.0f);
          const simd::vf v = simd::loadu(k, x + i);
          const simd::vf s = simd::sigmoid(v);
          const simd::vf d = simd::mul(s, simd::fmadd(v, simd::sub(one, s), one));
          simd::storeu(dx + i, k, simd::fmadd(simd::loadu(k, dy + i), d, simd::loadu(k, dx + i)));
        }
#endif
        (void)i, (void)k;
      },
      [=](int64_t i) {
        const T s = sigmoid(x[i]);
        dx[i] += dy[i] * (s * (T(1) + x[i] * (T(1) - s)));
      });
}

template <typename T>
void gelu_tanh_forward(T* y, const T* x, int64_t n) {
  // 0.5 (1 + tanh z) = sigmoid(2z): same function, no cancellation in 1 + tanh for z << 0.
  elementwise<T>(
      n,
      [=](int64_t i, auto k) {
#if defined(SEEKFORGE_SIMD)
        if constexpr (std::is_same_v<T, float>) {
          const simd::vf v = simd::loadu(k, x + i);
          const simd::vf z2 = simd::mul(
              simd::set1(float(2 * kSqrt2OverPi)),
              simd::fmadd(simd::mul(simd::set1(float(kGeluCoef)), v), simd::mul(v, v), v));
          simd::storeu(y + i, k, simd::mul(v, simd::sigmoid(z2)));
        }
#endif
        (void)i, (void)k;
      },
      [=](int64_t i) { y[i] = x[i] * sigmoid(T(2) * gelu_tanh_inner(x[i])); });
}

template <typename T>
void gelu_tanh_backward(T* dx, const T* dy, const T* x, int64_t n) {
  // y = x/2 (1 + tanh z) = x s, s = sigmoid(2z), z = k0 (x + c x^3):
  //   dy/dx = s + x * 2 s (1 - s) * k0 (1 + 3 c x^2)      (since 1 - tanh^2 = 4 s (1 - s)).
  elementwise<T>(
      n,
      [=](int64_t i, auto k) {
#if defined(SEEKFORGE_SIMD)
        if constexpr (std::is_same_v<T, float>) {
          const simd::vf one = simd::set1(1.0f);
          const simd::vf k0 = simd::set1(float(kSqrt2OverPi));
          const simd::vf c = simd::set1(float(kGeluCoef));
          const simd::vf v = simd::loadu(k, x + i);
          const simd::vf v2 = simd::mul(v, v);
          const simd::vf z = simd::mul(k0, simd::fmadd(simd::mul(c, v), v2, v));
          const simd::vf s = simd::sigmoid(simd::add(z, z));
          const simd::vf dz = simd::mul(k0, simd::fmadd(simd::mul(simd::set1(3.0f), c), v2, one));
          const simd::vf t = simd::mul(simd::add(s, s), simd::sub(one, s));
          const simd::vf d = simd::fmadd(simd::mul(v, t), dz, s);
          simd::storeu(dx + i, k, simd::fmadd(simd::loadu(k, dy + i), d, simd::loadu(k, dx + i)));
        }
#endif
        (void)i, (void)k;
      },
      [=](int64_t i) {
        const T v = x[i], s = sigmoid(T(2) * gelu_tanh_inner(v));
        const T dz = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCoef) * v * v);
        dx[i] += dy[i] * (s + v * T(2) * s * (T(1) - s) * dz);
      });
}

template <typename T>
void gelu_erf_forward(T* y, const T* x, int64_t n) {
#pragma omp parallel for schedule(dynamic, kChunkElems)
  for (int64_t i = 0; i < n; ++i) y[i] = T(0.5) * x[i] * (T(1) + std::erf(x[i] * T(kInvSqrt2)));
}

template <typename T>
void gelu_erf_backward(T* dx, const T* dy, const T* x, int64_t n) {
  // y = x Phi(x): dy/dx = Phi(x) + x phi(x).
#pragma omp parallel for schedule(dynamic, kChunkElems)
  for (int64_t i = 0; i < n; ++i) {
    const T v = x[i];
    const T cdf = T(0.5) * (T(1) + std::erf(v * T(kInvSqrt2)));
    dx[i] += dy[i] * (cdf + v * T(kInvSqrt2Pi) * std::exp(T(-0.5) * v * v));
  }
}

// ---- naive twins ----
// Evaluated in double with the textbook formulas, so the oracle is more accurate than the
// kernels it checks.

template <typename T>
void silu_forward_naive(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = T(x[i] / (1.0 + std::exp(-double(x[i]))));
}
template <typename T>
void silu_backward_naive(T* dx, const T* dy, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i], s = 1.0 / (1.0 + std::exp(-v));
    dx[i] += T(dy[i] * (s + v * s * (1.0 - s)));
  }
}
template <typename T>
void gelu_tanh_forward_naive(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = T(0.5 * v * (1.0 + std::tanh(kSqrt2OverPi * (v + kGeluCoef * v * v * v))));
  }
}
template <typename T>
void gelu_tanh_backward_naive(T* dx, const T* dy, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    const double th = std::tanh(kSqrt2OverPi * (v + kGeluCoef * v * v * v));
    const double d =
        0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * kSqrt2OverPi * (1.0 + 3 * kGeluCoef * v * v);
    dx[i] += T(dy[i] * d);
  }
}
template <typename T>
void gelu_erf_forward_naive(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = T(0.5 * x[i] * (1.0 + std::erf(x[i] * kInvSqrt2)));
}
template <typename T>
void gelu_erf_backward_naive(T* dx, const T* dy, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    dx[i] += T(dy[i] *
               (0.5 * (1.0 + std::erf(v * kInvSqrt2)) + v * kInvSqrt2Pi * std::exp(-0.5 * v * v)));
  }
}
#define SF_INSTANTIATE_ONE(name, T)                                  \
  template void name##_forward<T>(T*, const T*, int64_t);            \
  template void name##_backward<T>(T*, const T*, const T*, int64_t); \
  template void name##_forward_naive<T>(T*, const T*, int64_t);      \
  template void name##_backward_naive<T>(T*, const T*, const T*, int64_t);
#define SF_INSTANTIATE(T)          \
  SF_INSTANTIATE_ONE(silu, T)      \
  SF_INSTANTIATE_ONE(gelu_tanh, T) \
  SF_INSTANTIATE_ONE(gelu_erf, T)
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE
#undef SF_INSTANTIATE_ONE

}  // namespace seekforge::kernels
