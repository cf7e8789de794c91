// SwiGLU kernels (see swiglu.h): one pass, 2 reads + 1 write forward, 3 reads + 2 read-modify-
// writes backward; the sigmoid's exp is the only non-trivial arithmetic.
#include "kernels/swiglu.h"

#include <cmath>

#include "kernels/vec_math.h"

namespace seekforge::kernels {

template <typename T>
void swiglu_forward(T* h, const T* g, const T* u, int64_t n) {
  elementwise<T>(
      n,
      [=](int64_t i, auto k) {
#if defined(SEEKFORGE_SIMD)
        if constexpr (std::is_same_v<T, float>) {
          const simd::vf gv = simd::loadu(k, g + i);
          const simd::vf uv = simd::loadu(k, u + i);
          simd::storeu(h + i, k, simd::mul(simd::mul(gv, simd::sigmoid(gv)), uv));
        }
#endif
        (void)i, (void)k;
      },
      [=](int64_t i) { h[i] = g[i] / (T(1) + std::exp(-g[i])) * u[i]; });
}

template <typename T>
void swiglu_backward(T* dg, T* du, const T* dh, const T* g, const T* u, int64_t n) {
  // h = g sig(g) u:  du += dh g sig(g);  dg += dh u sig(g) (1 + g (1 - sig(g))).
  elementwise<T>(
      n,
      [=](int64_t i, auto k) {
#if defined(SEEKFORGE_SIMD)
        if constexpr (std::is_same_v<T, float>) {
          const simd::vf gv = simd::loadu(k, g + i);
          const simd::vf uv = simd::loadu(k, u + i);
          const simd::vf dv = simd::loadu(k, dh + i);
          const simd::vf s = simd::sigmoid(gv);
          const simd::vf one = simd::set1(1.0f);
          const simd::vf ds = simd::mul(s, simd::fmadd(gv, simd::sub(one, s), one));
          const simd::vf dgv = simd::fmadd(simd::mul(dv, uv), ds, simd::loadu(k, dg + i));
          const simd::vf duv = simd::fmadd(simd::mul(dv, gv), s, simd::loadu(k, du + i));
          simd::storeu(dg + i, k, dgv);
          simd::storeu(du + i, k, duv);
        }
#endif
        (void)i, (void)k;
      },
      [=](int64_t i) {
        const T s = T(1) / (T(1) + std::exp(-g[i]));
        dg[i] += dh[i] * u[i] * (s * (T(1) + g[i] * (T(1) - s)));
        du[i] += dh[i] * g[i] * s;
      });
}

// Naive twins in double: the oracle is more accurate than the kernels it checks.
template <typename T>
void swiglu_forward_naive(T* h, const T* g, const T* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) h[i] = T(g[i] / (1.0 + std::exp(-double(g[i]))) * u[i]);
}

template <typename T>
void swiglu_backward_naive(T* dg, T* du, const T* dh, const T* g, const T* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double s = 1.0 / (1.0 + std::exp(-double(g[i])));
    dg[i] += T(double(dh[i]) * u[i] * (s + g[i] * s * (1.0 - s)));
    du[i] += T(double(dh[i]) * g[i] * s);
  }
}

#define SF_INSTANTIATE(T)                                                          \
  template void swiglu_forward<T>(T*, const T*, const T*, int64_t);                \
  template void swiglu_backward<T>(T*, T*, const T*, const T*, const T*, int64_t); \
  template void swiglu_forward_naive<T>(T*, const T*, const T*, int64_t);          \
  template void swiglu_backward_naive<T>(T*, T*, const T*, const T*, const T*, int64_t);
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace seekforge::kernels
