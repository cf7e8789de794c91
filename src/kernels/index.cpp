// Indexing kernels: see index.h for shapes and the determinism contract.
#include "kernels/index.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/rng.h"

namespace seekforge::kernels {

namespace {
constexpr int64_t kInnerChunk = 64;      // columns per task when parallelising over inner
constexpr int64_t kParallelMin = 32768;  // below this many elements one thread is faster
// Outputs larger than this (bytes) are written with streaming stores: they cannot stay in cache
// anyway, and a streaming store skips the read-for-ownership of each destination line, which
// otherwise adds the output's size again to the memory traffic.
constexpr int64_t kStreamBytes = int64_t{8} << 20;

// dst[0, len) = src (src null: zeros), with streaming stores when dst and len allow it.
template <typename T>
inline void store_row(T* __restrict dst, const T* __restrict src, int64_t len, bool stream) {
#ifdef __AVX512F__
  constexpr int64_t kLanes = 64 / sizeof(T);
  if (stream && reinterpret_cast<uintptr_t>(dst) % 64 == 0 && len % kLanes == 0) {
    for (int64_t i = 0; i < len; i += kLanes) {
      if constexpr (sizeof(T) == 4) {
        const __m512 v = src ? _mm512_loadu_ps(src + i) : _mm512_setzero_ps();
        _mm512_stream_ps(dst + i, v);
      } else {
        const __m512d v = src ? _mm512_loadu_pd(src + i) : _mm512_setzero_pd();
        _mm512_stream_pd(dst + i, v);
      }
    }
    return;
  }
#endif
  (void)stream;
  if (src != nullptr) {
    std::memcpy(dst, src, len * sizeof(T));
  } else {
    std::fill_n(dst, len, T(0));
  }
}

inline void stream_fence() {
#ifdef __AVX512F__
  _mm_sfence();  // streaming stores are weakly ordered: publish them before the region ends
#endif
}
}  // namespace

template <typename T>
void gather_forward(T* out, const T* x, const int64_t* idx, int64_t outer, int64_t nx, int64_t n,
                    int64_t inner) {
#pragma omp parallel for collapse(2) schedule(static) if (outer * n * inner > kParallelMin)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t row = (o * n + j) * inner;
      const T* xo = x + o * nx * inner;
      for (int64_t i = 0; i < inner; ++i) out[row + i] = xo[idx[row + i] * inner + i];
    }
}

template <typename T>
void gather_backward(T* dx, const T* dout, const int64_t* idx, int64_t outer, int64_t nx, int64_t n,
                     int64_t inner) {
  // Each (o, column chunk) belongs to one task and walks j in order: no two tasks write the
  // same element, and every element's sum has a fixed order.
  const int64_t chunks = (inner + kInnerChunk - 1) / kInnerChunk;
#pragma omp parallel for collapse(2) schedule(static) if (outer * n * inner > kParallelMin)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t i0 = c * kInnerChunk, i1 = std::min(inner, i0 + kInnerChunk);
      T* dxo = dx + o * nx * inner;
      for (int64_t j = 0; j < n; ++j) {
        const int64_t row = (o * n + j) * inner;
        for (int64_t i = i0; i < i1; ++i) dxo[idx[row + i] * inner + i] += dout[row + i];
      }
    }
}

template <typename T>
void index_select_forward(T* out, const T* x, const int64_t* idx, int64_t outer, int64_t nx,
                          int64_t n, int64_t inner) {
  const bool stream = outer * n * inner * static_cast<int64_t>(sizeof(T)) > kStreamBytes;
#pragma omp parallel if (outer * n * inner > kParallelMin)
  {
#pragma omp for collapse(2) schedule(static)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < n; ++j)
        store_row(out + (o * n + j) * inner, x + (o * nx + idx[j]) * inner, inner, stream);
    if (stream) stream_fence();
  }
}

void group_by_index(int64_t* offsets, int64_t* order, const int64_t* idx, int64_t n, int64_t nx) {
  std::fill_n(offsets, nx + 1, int64_t{0});
  for (int64_t j = 0; j < n; ++j) ++offsets[idx[j] + 1];
  for (int64_t v = 0; v < nx; ++v) offsets[v + 1] += offsets[v];
  // offsets[v] is now the start of group v; use it as group v's cursor, placing positions in
  // ascending order (stable). Afterwards offsets[v] is the end of group v: shift back by one.
  for (int64_t j = 0; j < n; ++j) order[offsets[idx[j]]++] = j;
  for (int64_t v = nx; v > 0; --v) offsets[v] = offsets[v - 1];
  offsets[0] = 0;
}

namespace {
template <typename T>
inline void add_group_row(T* __restrict drow, const T* dout, const int64_t* order, int64_t k0,
                          int64_t k1, int64_t inner) {
  for (int64_t k = k0; k < k1; ++k) {
    const T* __restrict src = dout + order[k] * inner;
#pragma omp simd
    for (int64_t i = 0; i < inner; ++i) drow[i] += src[i];
  }
}

// drow = sum of the group's rows (not +=): summed in an L1-resident buffer, then stored once
// (streaming when large), so the destination row is never read.
template <typename T>
inline void assign_group_row(T* __restrict drow, const T* dout, const int64_t* order, int64_t k0,
                             int64_t k1, int64_t inner, bool stream) {
  constexpr int64_t kAcc = 1024;  // 4 KiB (f32) of accumulators
  alignas(64) T acc[kAcc];
  if (k0 == k1) {
    store_row<T>(drow, nullptr, inner, stream);
    return;
  }
  for (int64_t c0 = 0; c0 < inner; c0 += kAcc) {
    const int64_t len = std::min(kAcc, inner - c0);
    const T* __restrict first = dout + order[k0] * inner + c0;
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) acc[i] = T(0) + first[i];
    for (int64_t k = k0 + 1; k < k1; ++k) {
      const T* __restrict src = dout + order[k] * inner + c0;
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) acc[i] += src[i];
    }
    store_row(drow + c0, acc, len, stream);
  }
}
}  // namespace

template <typename T>
void index_select_backward(T* dx, const T* dout, const int64_t* offsets, const int64_t* order,
                           int64_t outer, int64_t nx, int64_t n, int64_t inner, bool assign) {
  const bool parallel = outer * std::max(n, assign ? nx : 0) * inner > kParallelMin;
  const bool stream = assign && outer * nx * inner * static_cast<int64_t>(sizeof(T)) > kStreamBytes;
  auto do_row = [&](T* drow, const T* dout_o, int64_t v) {
    if (assign) {
      assign_group_row(drow, dout_o, order, offsets[v], offsets[v + 1], inner, stream);
    } else {
      add_group_row(drow, dout_o, order, offsets[v], offsets[v + 1], inner);
    }
  };
  if (outer == 1) {
    // Contiguous row ranges of about equal cost per thread: a contribution costs one row add,
    // zeroing a row (assign) about half of that. Cost is monotone in v: binary search.
    auto cost = [&](int64_t v) { return 2 * offsets[v] + (assign ? v : 0); };
#pragma omp parallel if (parallel)
    {
      const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
      auto row_at = [&](int64_t th) -> int64_t {
        if (th == 0) return 0;
        if (th == nt) return nx;
        const int64_t target = cost(nx) * th / nt;
        int64_t lo = 0, hi = nx;  // first v with cost(v) >= target
        while (lo < hi) {
          const int64_t mid = (lo + hi) / 2;
          if (cost(mid) < target)
            lo = mid + 1;
          else
            hi = mid;
        }
        return lo;
      };
      const int64_t v0 = row_at(t), v1 = row_at(t + 1);
      for (int64_t v = v0; v < v1; ++v) do_row(dx + v * inner, dout, v);
      if (stream) stream_fence();
    }
    return;
  }
#pragma omp parallel if (parallel)
  {
#pragma omp for collapse(2) schedule(static)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t v = 0; v < nx; ++v) do_row(dx + (o * nx + v) * inner, dout + o * n * inner, v);
    if (stream) stream_fence();
  }
}

template <typename T>
void index_select_backward_naive(T* dx, const T* dout, const int64_t* idx, int64_t outer,
                                 int64_t nx, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < inner; ++i)
        dx[(o * nx + idx[j]) * inner + i] += dout[(o * n + j) * inner + i];
}

template <typename T>
void topk_forward(T* values, int64_t* indices, const T* x, int64_t* work, int64_t outer, int64_t n,
                  int64_t k, bool largest) {
  // greater(a, b): a ranks above b when looking for the largest; NaN above every number.
  auto greater = [](T a, T b) { return (std::isnan(a) && !std::isnan(b)) || a > b; };
#pragma omp parallel for schedule(static) if (outer * n > kParallelMin)
  for (int64_t o = 0; o < outer; ++o) {
    const T* row = x + o * n;
    int64_t* w = work + o * n;
    for (int64_t i = 0; i < n; ++i) w[i] = i;
    auto before = [&](int64_t ia, int64_t ib) {
      const T a = row[ia], b = row[ib];
      const bool ab = largest ? greater(a, b) : greater(b, a);
      const bool ba = largest ? greater(b, a) : greater(a, b);
      return ab || (!ba && ia < ib);
    };
    std::partial_sort(w, w + k, w + n, before);
    for (int64_t t = 0; t < k; ++t) {
      indices[o * k + t] = w[t];
      values[o * k + t] = row[w[t]];
    }
  }
}

template <typename T>
void cumsum_forward(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, bool reverse) {
#pragma omp parallel for collapse(2) schedule(static) if (outer * n * inner > kParallelMin)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * n * inner + i;
      double acc = 0;
      for (int64_t s = 0; s < n; ++s) {
        const int64_t j = reverse ? n - 1 - s : s;
        acc += static_cast<double>(x[base + j * inner]);
        out[base + j * inner] = static_cast<T>(acc);
      }
    }
}

template <typename T>
void where_forward(T* out, const uint8_t* cond, const T* a, const T* b,
                   const std::vector<int64_t>& shape, const std::vector<int64_t>& sc,
                   const std::vector<int64_t>& sa, const std::vector<int64_t>& sb) {
  const int nd = static_cast<int>(shape.size());
  if (nd == 0) {
    out[0] = cond[0] ? a[0] : b[0];
    return;
  }
  const int64_t inner = shape[nd - 1];
  const int64_t ic = sc[nd - 1], ia = sa[nd - 1], ib = sb[nd - 1];
  int64_t rows = 1;
  for (int d = 0; d < nd - 1; ++d) rows *= shape[d];
#pragma omp parallel for schedule(static) if (rows * inner > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, oc = 0, oa = 0, ob = 0;
    for (int d = nd - 2; d >= 0; --d) {
      const int64_t k = rem % shape[d];
      rem /= shape[d];
      oc += k * sc[d];
      oa += k * sa[d];
      ob += k * sb[d];
    }
    T* o = out + r * inner;
    const uint8_t* pc = cond + oc;
    const T* pa = a + oa;
    const T* pb = b + ob;
    for (int64_t i = 0; i < inner; ++i) o[i] = pc[i * ic] ? pa[i * ia] : pb[i * ib];
  }
}

namespace {
// Philox-4x32-10 (as core/rng.cpp's philox4x32) on kLanes consecutive counters at once; word 0
// of each result goes to r0. A scalar loop costs ~30 ns per element, which made dropout 10x
// slower than a pass over memory; 16 lanes per AVX-512 register bring it to a few ns.
constexpr int kLanes = 64;
constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

#ifdef __AVX512F__
// hi and lo 32-bit halves of a * m for 16 lanes of 32 bits. (The maskz forms with a full mask
// are the plain instructions; they avoid GCC 12's false "uninitialised" warning on the
// unmasked intrinsics.)
inline void mulhilo16(__m512i a, __m512i m, __m512i& hi, __m512i& lo) {
  constexpr __mmask8 kAll = 0xFF;
  const __m512i even = _mm512_maskz_mul_epu32(kAll, a, m);  // lanes 0, 2, ...
  const __m512i odd = _mm512_maskz_mul_epu32(kAll, _mm512_maskz_srli_epi64(kAll, a, 32), m);
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_maskz_srli_epi64(kAll, even, 32), odd);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_maskz_slli_epi64(kAll, odd, 32));
}

inline void philox_word0(uint32_t* __restrict r0, uint64_t first, uint64_t key) {
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(kM0));
  const __m512i m1 = _mm512_set1_epi32(static_cast<int>(kM1));
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int g = 0; g < kLanes; g += 16) {
    // Counters first + g + l: 64-bit, split into c0 (low) and c1 (high) words.
    const uint64_t base = first + static_cast<uint64_t>(g);
    __m512i c0 =
        _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(base))), lane);
    // Carry into the high word where the low word wrapped (c0 < low(base)).
    const __mmask16 carry = _mm512_cmplt_epu32_mask(
        c0, _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(base))));
    __m512i c1 = _mm512_mask_add_epi32(_mm512_set1_epi32(static_cast<int>(base >> 32)), carry,
                                       _mm512_set1_epi32(static_cast<int>(base >> 32)),
                                       _mm512_set1_epi32(1));
    __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
    uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round) {
      __m512i hi0, lo0, hi1, lo1;
      mulhilo16(c0, m0, hi0, lo0);
      mulhilo16(c2, m1, hi1, lo1);
      c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32(static_cast<int>(k0)));
      c1 = lo1;
      c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32(static_cast<int>(k1)));
      c3 = lo0;
      k0 += kW0;
      k1 += kW1;
    }
    _mm512_storeu_si512(r0 + g, c0);
  }
}
#else
inline void philox_word0(uint32_t* __restrict r0, uint64_t first, uint64_t key) {
  for (int l = 0; l < kLanes; ++l) r0[l] = philox4x32(first + static_cast<uint64_t>(l), 0, key)[0];
}
#endif
}  // namespace

template <typename T>
void dropout_forward(T* out, uint8_t* mask, const T* x, int64_t n, uint64_t seed,
                     uint64_t first_counter, double p, T scale) {
  // u = (r0 >> 8) * 2^-24 is exact in float; u < p  <=>  (r0 >> 8) < p * 2^24, so compare
  // integers: keep when (r0 >> 8) >= ceil(p * 2^24).
  const double scaled = p * 16777216.0;
  const uint64_t threshold = static_cast<uint64_t>(std::ceil(scaled));
  const int64_t blocks = (n + kLanes - 1) / kLanes;
#pragma omp parallel for schedule(static) if (n > kParallelMin / 8)
  for (int64_t b = 0; b < blocks; ++b) {
    alignas(64) uint32_t r0[kLanes];
    const int64_t i0 = b * kLanes;
    philox_word0(r0, first_counter + static_cast<uint64_t>(i0), seed);
    const int64_t len = std::min<int64_t>(kLanes, n - i0);
#pragma omp simd
    for (int64_t l = 0; l < len; ++l) {
      const uint8_t keep = (r0[l] >> 8) >= threshold ? 1 : 0;
      mask[i0 + l] = keep;
      out[i0 + l] = keep ? x[i0 + l] * scale : T(0);
    }
  }
}

template <typename T>
void dropout_apply(T* out, const T* x, const uint8_t* mask, int64_t n, T scale) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) out[i] = mask[i] ? x[i] * scale : T(0);
}

#define SF_INSTANTIATE(T)                                                                        \
  template void gather_forward<T>(T*, const T*, const int64_t*, int64_t, int64_t, int64_t,       \
                                  int64_t);                                                      \
  template void gather_backward<T>(T*, const T*, const int64_t*, int64_t, int64_t, int64_t,      \
                                   int64_t);                                                     \
  template void index_select_forward<T>(T*, const T*, const int64_t*, int64_t, int64_t, int64_t, \
                                        int64_t);                                                \
  template void index_select_backward<T>(T*, const T*, const int64_t*, const int64_t*, int64_t,  \
                                         int64_t, int64_t, int64_t, bool);                       \
  template void index_select_backward_naive<T>(T*, const T*, const int64_t*, int64_t, int64_t,   \
                                               int64_t, int64_t);                                \
  template void topk_forward<T>(T*, int64_t*, const T*, int64_t*, int64_t, int64_t, int64_t,     \
                                bool);                                                           \
  template void cumsum_forward<T>(T*, const T*, int64_t, int64_t, int64_t, bool);                \
  template void where_forward<T>(T*, const uint8_t*, const T*, const T*,                         \
                                 const std::vector<int64_t>&, const std::vector<int64_t>&,       \
                                 const std::vector<int64_t>&, const std::vector<int64_t>&);      \
  template void dropout_forward<T>(T*, uint8_t*, const T*, int64_t, uint64_t, uint64_t, double,  \
                                   T);                                                           \
  template void dropout_apply<T>(T*, const T*, const uint8_t*, int64_t, T);

SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace seekforge::kernels
