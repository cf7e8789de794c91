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
#if defined(SEEKFORGE_AVX512)
        if constexpr (std::is_same_v<T, float>) {
          const __m512 gv = _mm512_maskz_loadu_ps(k, g + i);
          const __m512 uv = _mm512_maskz_loadu_ps(k, u + i);
          _mm512_mask_storeu_ps(h + i, k, _mm512_mul_ps(_mm512_mul_ps(gv, sigmoid512(gv)), uv));
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
#if defined(SEEKFORGE_AVX512)
        if constexpr (std::is_same_v<T, float>) {
          const __m512 gv = _mm512_maskz_loadu_ps(k, g + i);
          const __m512 uv = _mm512_maskz_loadu_ps(k, u + i);
          const __m512 dv = _mm512_maskz_loadu_ps(k, dh + i);
          const __m512 s = sigmoid512(gv);
          const __m512 one = _mm512_set1_ps(1.0f);
          const __m512 ds = _mm512_mul_ps(s, _mm512_fmadd_ps(gv, _mm512_sub_ps(one, s), one));
          const __m512 dgv =
              _mm512_fmadd_ps(_mm512_mul_ps(dv, uv), ds, _mm512_maskz_loadu_ps(k, dg + i));
          const __m512 duv =
              _mm512_fmadd_ps(_mm512_mul_ps(dv, gv), s, _mm512_maskz_loadu_ps(k, du + i));
          _mm512_mask_storeu_ps(dg + i, k, dgv);
          _mm512_mask_storeu_ps(du + i, k, duv);
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
