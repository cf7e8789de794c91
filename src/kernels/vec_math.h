// Vector math shared by the row kernels: a fast AVX-512 exp for 16 floats, horizontal
// reductions, and the OpenMP partition and scheduling helpers shared by the kernels.
//
// Not a general math library: only what softmax, cross-entropy and the activations need, kept to
// ~1e-7 relative error (a couple of float ulps) so the fast kernels stay within 1e-6 of their
// naive twins. Double never comes here; it runs the generic loops with std::exp.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#if defined(__AVX512F__)
// GCC 12's intrinsic headers build "undefined" vectors from self-initialised locals, which
// -Wmaybe-uninitialized flags once inlined (GCC bug 105593); the warning points into the header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#define SEEKFORGE_AVX512 1
#endif

namespace seekforge::kernels {

// Contiguous share [begin, end) of `n` items for part `i` of `parts`: equal to within one, fixed
// for fixed (n, parts), so a reduction that adds per-part partials in part order is deterministic.
struct Range {
  int64_t begin;
  int64_t end;
};
inline Range split_range(int64_t n, int parts, int i) {
  const int64_t base = n / parts, rem = n % parts;
  const int64_t begin = i * base + (i < rem ? i : rem);
  return {begin, begin + base + (i < rem ? 1 : 0)};
}

// Scheduling. Kernels whose rows (or elements) are independent use schedule(dynamic) with
// chunks of ~16K elements: the result of a row does not depend on which thread computes it, so
// this is still bitwise repeatable, and a thread that loses its core for a scheduler tick (a
// shared machine) no longer stalls the whole call. Cross-row reductions (weight gradients, sum
// of squares) keep a static split, whose fixed partials give the fixed summation order.
inline constexpr int64_t kChunkElems = 16384;
inline int64_t row_chunk(int64_t C) { return C >= kChunkElems ? 1 : kChunkElems / (C > 0 ? C : 1); }

#if defined(SEEKFORGE_AVX512)

// exp on 16 floats: Cephes expf (range reduction by ln2 in two parts, degree-5 polynomial,
// scalef for 2^n), ~1 ulp. Inputs below ln(FLT_MIN) return exactly 0 (no denormals, and -inf
// from masked scores gives 0); inputs above ~88.7 give +inf.
inline __m512 exp512(__m512 x) {
  const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33f), _CMP_GE_OQ);
  // The maskz forms with a full mask are the plain operations; GCC 12's unmasked forms trip
  // -Wmaybe-uninitialized inside its own header.
  const __mmask16 all = 0xFFFF;
  x = _mm512_maskz_max_ps(all, x, _mm512_set1_ps(-87.33f));
  x = _mm512_maskz_min_ps(all, x, _mm512_set1_ps(89.0f));  // exp(89) rounds to +inf, as it should
  const __m512 n =
      _mm512_maskz_roundscale_ps(all, _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  const __m512 z = _mm512_mul_ps(r, r);
  __m512 y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_fmadd_ps(y, z, r);
  y = _mm512_add_ps(y, _mm512_set1_ps(1.0f));
  return _mm512_maskz_scalef_ps(keep, y, n);
}

// Loads/stores of the first `rem` (< 16) lanes, for row tails.
inline __mmask16 tail_mask(int64_t rem) { return static_cast<__mmask16>((1u << rem) - 1u); }

#endif  // SEEKFORGE_AVX512

}  // namespace seekforge::kernels

#include <cmath>
#include <limits>

namespace seekforge::kernels {

// Row primitives used by softmax-like kernels. Generic versions for any T (double runs these);
// float overloads below take the AVX-512 path. All are deterministic: fixed lane order.

template <typename T>
inline T row_max(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// Returns sum_i exp(x_i - shift); when out is non-null also stores out_i = exp(x_i - shift).
template <typename T>
inline T exp_shift_sum(T* out, const T* x, T shift, int64_t n) {
  T s = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T e = std::exp(x[i] - shift);
    if (out != nullptr) out[i] = e;
    s += e;
  }
  return s;
}

#if defined(SEEKFORGE_AVX512)
inline float row_max(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
  if (i < n) {
    m = _mm512_max_ps(m, _mm512_mask_loadu_ps(m, tail_mask(n - i), x + i));
  }
  return _mm512_reduce_max_ps(m);
}

inline float exp_shift_sum(float* out, const float* x, float shift, int64_t n) {
  const __m512 sh = _mm512_set1_ps(shift);
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 e0 = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), sh));
    const __m512 e1 = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), sh));
    if (out != nullptr) {
      _mm512_storeu_ps(out + i, e0);
      _mm512_storeu_ps(out + i + 16, e1);
    }
    s0 = _mm512_add_ps(s0, e0);
    s1 = _mm512_add_ps(s1, e1);
  }
  for (; i < n; i += 16) {
    const __mmask16 k = i + 16 <= n ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
    const __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), sh));
    if (out != nullptr) _mm512_mask_storeu_ps(out + i, k, e);
    s0 = _mm512_mask_add_ps(s0, k, s0, e);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}
#endif  // SEEKFORGE_AVX512

}  // namespace seekforge::kernels

namespace seekforge::kernels {

// Elementwise driver: hands out blocks of kChunkElems dynamically over the OpenMP threads and
// calls vec(i, mask) on 16-float pieces (float, AVX-512) or scalar(i) per element otherwise.
template <typename T, typename Vec, typename Scalar>
inline void elementwise(int64_t n, Vec vec, Scalar scalar) {
  const int64_t blocks = (n + kChunkElems - 1) / kChunkElems;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const Range r = {blk * kChunkElems, std::min(n, (blk + 1) * kChunkElems)};
#if defined(SEEKFORGE_AVX512)
    if constexpr (std::is_same_v<T, float>) {
      for (int64_t i = r.begin; i < r.end; i += 16) {
        vec(i, i + 16 <= r.end ? static_cast<__mmask16>(0xFFFF) : tail_mask(r.end - i));
      }
    } else {
      for (int64_t i = r.begin; i < r.end; ++i) scalar(i);
    }
#else
    (void)vec;
    for (int64_t i = r.begin; i < r.end; ++i) scalar(i);
#endif
  }
}

#if defined(SEEKFORGE_AVX512)
// sigmoid(x) = 1 / (1 + exp(-x)); exp overflows to inf for x < -89, giving exactly 0.
inline __m512 sigmoid512(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}
#endif

}  // namespace seekforge::kernels
