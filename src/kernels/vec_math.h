// Vector math shared by the row kernels: row max and exp-sum on 16-float vectors (simd.h), and
// the OpenMP partition and scheduling helpers shared by the kernels.
//
// Not a general math library: only what softmax, cross-entropy and the activations need, kept to
// ~1e-7 relative error (a couple of float ulps) so the fast kernels stay within 1e-6 of their
// naive twins. Double never comes here; it runs the generic loops with std::exp.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernels/simd.h"

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

}  // namespace seekforge::kernels

#include <cmath>
#include <limits>

namespace seekforge::kernels {

// Row dot products in double: sum_c a[c] * b[c], and sum_c (a[c] * w[c]) * b[c] with a * w
// rounded to T first (the norms' and softmax's backward statistics). Double because a float sum
// over C = 32768 terms can lose 1e-5 relative.
template <typename T>
inline double sum_products(const T* a, const T* b, int64_t C) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t c = 0; c < C; ++c) s += double(a[c]) * double(b[c]);
  return s;
}
template <typename T>
inline double sum_products(const T* a, const T* w, const T* b, int64_t C) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t c = 0; c < C; ++c) s += double(a[c] * w[c]) * double(b[c]);
  return s;
}

#if defined(SEEKFORGE_SIMD)
// For float, written out: GCC vectorises the widening loops above with gathers and one
// accumulator chain, which made these reductions, not memory, the bound of the RMSNorm backward
// (3x the memory floor from L2). Two 16-lane double accumulators: 4 or 8 independent FMA chains.
template <typename Product>
inline double sum_products_f32(int64_t C, Product product) {
  simd::vd s0 = simd::zero_d(), s1 = simd::zero_d();
  int64_t c = 0;
  for (; c + 32 <= C; c += 32) {
    const auto [a0, b0] = product(c, simd::kAll);
    const auto [a1, b1] = product(c + 16, simd::kAll);
    s0 = simd::fmadd_d(a0, b0, s0);
    s1 = simd::fmadd_d(a1, b1, s1);
  }
  for (; c < C; c += 16) {  // masked-off lanes load as 0
    const auto [a, b] = product(c, simd::tail_mask(C - c));
    s0 = simd::fmadd_d(a, b, s0);
  }
  return simd::reduce_add(simd::add_d(s0, s1));
}
inline double sum_products(const float* a, const float* b, int64_t C) {
  return sum_products_f32(C, [=](int64_t c, simd::mask k) {
    return std::pair{simd::loadu(k, a + c), simd::loadu(k, b + c)};
  });
}
inline double sum_products(const float* a, const float* w, const float* b, int64_t C) {
  return sum_products_f32(C, [=](int64_t c, simd::mask k) {
    return std::pair{simd::mul(simd::loadu(k, a + c), simd::loadu(k, w + c)),
                     simd::loadu(k, b + c)};
  });
}
#endif

// Row primitives used by softmax-like kernels. Generic versions for any T (double runs these);
// float overloads below take the vector path. All are deterministic: fixed lane order.

template <typename T>
inline T row_max(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// Returns sum_i exp(x_i - shift); when out is non-null also stores out_i = exp(x_i - shift).
// shift is at least the row max (no term can overflow).
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

#if defined(SEEKFORGE_SIMD)
inline float row_max(const float* x, int64_t n) {
  simd::vf m = simd::set1(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) m = simd::max(m, simd::loadu(x + i));
  if (i < n) {
    m = simd::max(m, simd::loadu(m, simd::tail_mask(n - i), x + i));
  }
  return simd::reduce_max(m);
}

inline float exp_shift_sum(float* out, const float* x, float shift, int64_t n) {
  const simd::vf sh = simd::set1(shift);
  simd::vf s0 = simd::zero(), s1 = simd::zero();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const simd::vf e0 = simd::exp_no_overflow(simd::sub(simd::loadu(x + i), sh));
    const simd::vf e1 = simd::exp_no_overflow(simd::sub(simd::loadu(x + i + 16), sh));
    if (out != nullptr) {
      simd::storeu(out + i, e0);
      simd::storeu(out + i + 16, e1);
    }
    s0 = simd::add(s0, e0);
    s1 = simd::add(s1, e1);
  }
  for (; i < n; i += 16) {
    const simd::mask k = i + 16 <= n ? simd::kAll : simd::tail_mask(n - i);
    const simd::vf e = simd::exp_no_overflow(simd::sub(simd::loadu(k, x + i), sh));
    if (out != nullptr) simd::storeu(out + i, k, e);
    s0 = simd::add(s0, simd::zero_off(k, e));
  }
  return simd::reduce_add(simd::add(s0, s1));
}
#endif  // SEEKFORGE_SIMD

}  // namespace seekforge::kernels

namespace seekforge::kernels {

// Elementwise driver: hands out blocks of kChunkElems dynamically over the OpenMP threads and
// calls vec(i, mask) on 16-float pieces (float, simd.h) or scalar(i) per element otherwise.
template <typename T, typename Vec, typename Scalar>
inline void elementwise(int64_t n, Vec vec, Scalar scalar) {
  const int64_t blocks = (n + kChunkElems - 1) / kChunkElems;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const Range r = {blk * kChunkElems, std::min(n, (blk + 1) * kChunkElems)};
#if defined(SEEKFORGE_SIMD)
    if constexpr (std::is_same_v<T, float>) {
      for (int64_t i = r.begin; i < r.end; i += 16) {
        vec(i, i + 16 <= r.end ? simd::kAll : simd::tail_mask(r.end - i));
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

}  // namespace seekforge::kernels
