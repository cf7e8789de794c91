// Fused causal attention kernels: the tiled (flash-attention style) forward and backward, and
// their naive twins. The contract (layout, masking, lse, accumulation) is in attention.h.
//
// How the tiled kernels are built: every product between tiles is one small GEMM
//   C[M x N] (+)= A[M x K] * B[K x N]
// with A read through arbitrary row/column strides (so P^T and dS^T need no copies) and B rows
// contiguous. S = Q K^T uses a per-tile transposed copy of the key block (Kt, [Dqk x kBk], made
// with 16x16 in-register transposes) so that it is such a product too. The float version of
// that GEMM is an AVX-512 register-blocked micro-kernel (8x32 or 4x64 accumulators); the
// per-row softmax work runs on two vectors per tile row, with the causal/window/padding mask as
// a 32-bit mask per row, and exp is a vectorised Cephes-style polynomial (max relative error
// 8e-8 over [-87, 88]). Double runs the same tiling on plain loops.
#include "kernels/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/vec_math.h"

namespace seekforge::kernels {
namespace {

// Tile sizes: kBq query rows by kBk keys. kBk = 32 is two AVX-512 float vectors per S row;
// kBq = 64 amortises the packing of the key block over enough query rows.
constexpr int64_t kBq = 64;
constexpr int64_t kBk = 32;
constexpr int64_t kMaxD = kAttentionMaxHeadDim;

// ---------------------------------------------------------------------------------------------
// Small GEMM: C[i*ldc + n] (+)= sum_t A[i*a_rs + t*a_cs] * Bm[t*ldb + n], i < M, t < K, n < N.
// zero_init: C is overwritten instead of accumulated into.

template <typename T>
void gemm(T* C, int64_t ldc, const T* A, int64_t a_rs, int64_t a_cs, const T* Bm, int64_t ldb,
          int64_t M, int64_t K, int64_t N, bool zero_init) {
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    if (zero_init) std::fill(c, c + N, T(0));
    for (int64_t t = 0; t < K; ++t) {
      const T a = A[i * a_rs + t * a_cs];
      const T* b = Bm + t * ldb;
      for (int64_t n = 0; n < N; ++n) c[n] += a * b[n];
    }
  }
}

#if defined(SEEKFORGE_SIMD)

// One register block: MR rows of C by NV vectors of 16 columns; the last vector is masked by
// `tail` so any N works.
template <int MR, int NV>
inline void gemm_block_f32(float* C, int64_t ldc, const float* A, int64_t a_rs, int64_t a_cs,
                           const float* Bm, int64_t ldb, int64_t K, simd::mask tail,
                           bool zero_init) {
  simd::vf acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const simd::mask mk = v == NV - 1 ? tail : simd::kAll;
      acc[r][v] = zero_init ? simd::zero() : simd::loadu(mk, C + r * ldc + 16 * v);
    }
  }
  for (int64_t t = 0; t < K; ++t) {
    simd::vf bv[NV];
    const float* b = Bm + t * ldb;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const simd::mask mk = v == NV - 1 ? tail : simd::kAll;
      bv[v] = simd::loadu(mk, b + 16 * v);
    }
    const float* at = A + t * a_cs;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const simd::vf a = simd::set1(at[r * a_rs]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = simd::fmadd(a, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const simd::mask mk = v == NV - 1 ? tail : simd::kAll;
      simd::storeu(C + r * ldc + 16 * v, mk, acc[r][v]);
    }
  }
}

template <int NV>
inline void gemm_panel_f32(float* C, int64_t ldc, const float* A, int64_t a_rs, int64_t a_cs,
                           const float* Bm, int64_t ldb, int64_t M, int64_t K, simd::mask tail,
                           bool zero_init) {
  // AVX-512 (32 registers): 8 rows x 2 vectors or 4 rows x 4 vectors, 16 accumulators, leaving
  // registers for B and A. AVX2 (16 registers, a vector is two): 12 of them for accumulators,
  // 6 rows x 1 vector (the panels gemm<float> hands it; 3 rows x 2 would take B from memory).
  constexpr int MR = simd::kAvx512 ? (NV <= 2 ? 8 : 4) : (NV <= 1 ? 6 : 3);
  int64_t i = 0;
  for (; i + MR <= M; i += MR) {
    gemm_block_f32<MR, NV>(C + i * ldc, ldc, A + i * a_rs, a_rs, a_cs, Bm, ldb, K, tail, zero_init);
  }
  // Leftover rows in halving blocks, so a ragged row range still runs mostly blocked.
  if constexpr (MR > 4) {
    if (i + 4 <= M) {
      gemm_block_f32<4, NV>(C + i * ldc, ldc, A + i * a_rs, a_rs, a_cs, Bm, ldb, K, tail,
                            zero_init);
      i += 4;
    }
  }
  if (i + 2 <= M) {
    gemm_block_f32<2, NV>(C + i * ldc, ldc, A + i * a_rs, a_rs, a_cs, Bm, ldb, K, tail, zero_init);
    i += 2;
  }
  if (i < M) {
    gemm_block_f32<1, NV>(C + i * ldc, ldc, A + i * a_rs, a_rs, a_cs, Bm, ldb, K, tail, zero_init);
  }
}

template <>
void gemm<float>(float* C, int64_t ldc, const float* A, int64_t a_rs, int64_t a_cs, const float* Bm,
                 int64_t ldb, int64_t M, int64_t K, int64_t N, bool zero_init) {
  // Panels of up to 4 vectors (AVX-512) or 1 (AVX2). On AVX2 a 3x2 block has no register left
  // for B: its 12 FMAs take B from memory, 15 loads per k-step against two a cycle; the 6x1 block
  // holds B in two registers (8 loads per 12 FMAs) and ran the attention 13-30% faster.
  // Each C element sums over k in the same order either way, so the results are the same bits.
  constexpr int64_t kPanel = simd::kAvx512 ? 64 : 16;
  for (int64_t n0 = 0; n0 < N; n0 += kPanel) {
    const int64_t nn = std::min<int64_t>(kPanel, N - n0);
    const int nv = static_cast<int>((nn + 15) / 16);
    const int last = static_cast<int>(nn - 16 * (nv - 1));
    const simd::mask tail = static_cast<simd::mask>((1u << last) - 1u);
    float* c = C + n0;
    const float* b = Bm + n0;
    switch (nv) {
      case 1:
        gemm_panel_f32<1>(c, ldc, A, a_rs, a_cs, b, ldb, M, K, tail, zero_init);
        break;
      case 2:
        gemm_panel_f32<2>(c, ldc, A, a_rs, a_cs, b, ldb, M, K, tail, zero_init);
        break;
      case 3:
        gemm_panel_f32<3>(c, ldc, A, a_rs, a_cs, b, ldb, M, K, tail, zero_init);
        break;
      default:
        gemm_panel_f32<4>(c, ldc, A, a_rs, a_cs, b, ldb, M, K, tail, zero_init);
        break;
    }
  }
}

#endif  // SEEKFORGE_SIMD

// x[j] = exp(x[j]) for j < n; exp(-inf) = 0.
template <typename T>
void exp_inplace(T* x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) x[j] = std::exp(x[j]);
}

// Copies rows [nk x D] (row stride ld) into Dt [D x kBk], transposed; columns nk.. are zero so
// that every S row can be computed as full vectors.
template <typename T>
void pack_transposed(T* Dt, const T* rows, int64_t ld, int64_t nk, int64_t D) {
  // Rows are read contiguously; the scattered writes land in a small buffer that stays in L1.
  for (int64_t j = 0; j < nk; ++j) {
    const T* src = rows + j * ld;
    for (int64_t d = 0; d < D; ++d) Dt[d * kBk + j] = src[d];
  }
  for (int64_t d = 0; d < D; ++d) {
    for (int64_t j = nk; j < kBk; ++j) Dt[d * kBk + j] = T(0);
  }
}

// <a, b> over n elements.
template <typename T>
T dot(const T* a, const T* b, int64_t n) {
  T acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

// Whether key jj is visible from a query at absolute position p.
inline bool key_visible(int64_t jj, int64_t p, int64_t window, const uint8_t* keep) {
  return jj <= p && (window == 0 || jj > p - window) && (keep == nullptr || keep[jj] != 0);
}

// Bit j of the result: key j0 + j is allowed by key_keep (j < nk). All nk bits without a mask.
inline uint32_t keep_bits(const uint8_t* keep, int64_t j0, int64_t nk) {
  if (keep == nullptr) return static_cast<uint32_t>((uint64_t(1) << nk) - 1);
  uint32_t bits = 0;
  for (int64_t j = 0; j < nk; ++j) bits |= uint32_t(keep[j0 + j] != 0) << j;
  return bits;
}

// Bit j of the result: key j0 + j (j < nk) is visible from a query at position p: causal,
// window, and the tile's keep bits.
inline uint32_t row_bits(int64_t p, int64_t j0, int64_t nk, int64_t window, uint32_t keep) {
  const int64_t hi = std::min(nk - 1, p - j0);
  const int64_t lo = window > 0 ? std::max<int64_t>(0, p - window + 1 - j0) : 0;
  if (hi < lo) return 0;
  const uint64_t range = ((uint64_t(2) << hi) - 1) & ~((uint64_t(1) << lo) - 1);
  return static_cast<uint32_t>(range) & keep;
}

// Forward, one row of a tile: turns the raw scores srow[0..kBk) into unnormalised
// probabilities exp(s*scale - m_new) under the row's running maximum m (bits: visible keys;
// others get 0), and updates m and the running sum l. Returns the factor exp(m_old - m_new)
// by which the row's output accumulator must be rescaled.
template <typename T>
T softmax_row(T* srow, uint32_t bits, T scale, T& m, T& l) {
  const T neg_inf = -std::numeric_limits<T>::infinity();
  T mx = neg_inf;
  for (int64_t j = 0; j < kBk; ++j) {
    srow[j] = (bits >> j) & 1u ? srow[j] * scale : neg_inf;
    mx = std::max(mx, srow[j]);
  }
  const T m_new = std::max(m, mx);
  if (m_new == neg_inf) {  // nothing visible yet for this row
    std::fill(srow, srow + kBk, T(0));
    return T(1);
  }
  for (int64_t j = 0; j < kBk; ++j) srow[j] -= m_new;
  exp_inplace(srow, kBk);
  T sum = 0;
  for (int64_t j = 0; j < kBk; ++j) sum += srow[j];
  const T corr = std::exp(m - m_new);  // exp(-inf) = 0 on the first visible tile
  l = l * corr + sum;
  m = m_new;
  return corr;
}

// Backward, one row of a tile: prow holds raw scores, dsrow holds dP = dout V^T. Leaves
// P = exp(s*scale - lse) (0 where hidden) in prow and dS = P (dP - D) scale in dsrow.
template <typename T>
void grad_row(T* prow, T* dsrow, uint32_t bits, T scale, T lse, T D) {
  const T neg_inf = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < kBk; ++j) prow[j] = (bits >> j) & 1u ? prow[j] * scale - lse : neg_inf;
  exp_inplace(prow, kBk);
  for (int64_t j = 0; j < kBk; ++j) dsrow[j] = prow[j] * (dsrow[j] - D) * scale;
}

#if defined(SEEKFORGE_SIMD)
static_assert(kBk == 32, "the float row kernels hold a tile row in two vectors");

#if defined(__AVX512F__)

// In-register transpose of a 16x16 float block: r[i] holds row i on entry, column i on exit.
inline void transpose16_f32(simd::vf r[16]) {
  // Full-mask maskz forms: see kernels/simd.h about GCC 12's unmasked ones.
  const simd::mask all = 0xFFFF;
  simd::vf t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_maskz_unpacklo_ps(all, r[i], r[i + 1]);
    t[i + 1] = _mm512_maskz_unpackhi_ps(all, r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_maskz_shuffle_ps(all, t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_maskz_shuffle_ps(all, t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_maskz_shuffle_ps(all, t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_maskz_shuffle_ps(all, t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int h = 0; h < 16; h += 8) {
    for (int i = 0; i < 4; ++i) {
      t[h + i] = _mm512_maskz_shuffle_f32x4(all, r[h + i], r[h + i + 4], 0x88);
      t[h + i + 4] = _mm512_maskz_shuffle_f32x4(all, r[h + i], r[h + i + 4], 0xdd);
    }
  }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_maskz_shuffle_f32x4(all, t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_maskz_shuffle_f32x4(all, t[i], t[i + 8], 0xdd);
  }
}

template <>
void pack_transposed<float>(float* Dt, const float* rows, int64_t ld, int64_t nk, int64_t D) {
  for (int64_t jb = 0; jb < kBk; jb += 16) {
    for (int64_t d0 = 0; d0 < D; d0 += 16) {
      const int64_t nd = std::min<int64_t>(16, D - d0);
      const simd::mask md = nd == 16 ? simd::kAll : static_cast<simd::mask>((1u << nd) - 1u);
      simd::vf r[16];
      for (int i = 0; i < 16; ++i) {
        r[i] = jb + i < nk ? simd::loadu(md, rows + (jb + i) * ld + d0) : simd::zero();
      }
      transpose16_f32(r);
      for (int64_t i = 0; i < nd; ++i) simd::storeu(Dt + (d0 + i) * kBk + jb, r[i]);
    }
  }
}

#elif defined(__AVX2__)

// In-register transpose of an 8x8 float block: r[i] holds row i on entry, column i on exit.
inline void transpose8_f32(__m256 r[8]) {
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  __m256 q[8];
  for (int h = 0; h < 8; h += 4) {
    q[h] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(1, 0, 1, 0));
    q[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(3, 2, 3, 2));
    q[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(1, 0, 1, 0));
    q[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(q[i], q[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(q[i], q[i + 4], 0x31);
  }
}

// The plain loop's stores go to kBk-strided addresses one float at a time, which made packing
// ~40% of the forward's own time (outside the tile GEMMs): 8x8 blocks in registers instead.
template <>
void pack_transposed<float>(float* Dt, const float* rows, int64_t ld, int64_t nk, int64_t D) {
  const int64_t D8 = D - D % 8;
  for (int64_t jb = 0; jb < kBk; jb += 8) {
    for (int64_t d0 = 0; d0 < D8; d0 += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) {
        r[i] = jb + i < nk ? _mm256_loadu_ps(rows + (jb + i) * ld + d0) : _mm256_setzero_ps();
      }
      transpose8_f32(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(Dt + (d0 + i) * kBk + jb, r[i]);
    }
  }
  // Head dims that are not a multiple of 8: the last columns one by one.
  for (int64_t d = D8; d < D; ++d) {
    for (int64_t j = 0; j < kBk; ++j) Dt[d * kBk + j] = j < nk ? rows[j * ld + d] : 0.0f;
  }
}

#endif  // __AVX512F__ / __AVX2__

template <>
float dot<float>(const float* a, const float* b, int64_t n) {
  simd::vf acc = simd::zero();
  for (int64_t i = 0; i < n; i += 16) {
    const int64_t left = n - i;
    const simd::mask mk = left >= 16 ? simd::kAll : static_cast<simd::mask>((1u << left) - 1u);
    acc = simd::fmadd(simd::loadu(mk, a + i), simd::loadu(mk, b + i), acc);
  }
  return simd::reduce_add(acc);
}

template <>
float softmax_row<float>(float* srow, uint32_t bits, float scale, float& m, float& l) {
  const simd::vf ninf = simd::set1(-std::numeric_limits<float>::infinity());
  const simd::vf sc = simd::set1(scale);
  const simd::mask b0 = static_cast<simd::mask>(bits), b1 = static_cast<simd::mask>(bits >> 16);
  const simd::vf s0 = simd::select(b0, simd::mul(simd::loadu(srow), sc), ninf);
  const simd::vf s1 = simd::select(b1, simd::mul(simd::loadu(srow + 16), sc), ninf);
  const float mx = simd::reduce_max(simd::max(s0, s1));
  const float m_new = std::max(m, mx);
  if (m_new == -std::numeric_limits<float>::infinity()) {
    simd::storeu(srow, simd::zero());
    simd::storeu(srow + 16, simd::zero());
    return 1.0f;
  }
  const simd::vf mn = simd::set1(m_new);
  const simd::vf e0 = simd::exp_no_overflow(simd::sub(s0, mn));
  const simd::vf e1 = simd::exp_no_overflow(simd::sub(s1, mn));
  simd::storeu(srow, e0);
  simd::storeu(srow + 16, e1);
  const float sum = simd::reduce_add(simd::add(e0, e1));
  const float corr = std::exp(m - m_new);
  l = l * corr + sum;
  m = m_new;
  return corr;
}

template <>
void grad_row<float>(float* prow, float* dsrow, uint32_t bits, float scale, float lse, float D) {
  const simd::vf ninf = simd::set1(-std::numeric_limits<float>::infinity());
  const simd::vf sc = simd::set1(scale);
  const simd::vf lv = simd::set1(lse);
  const simd::vf dv = simd::set1(D);
  for (int h = 0; h < 2; ++h) {
    const simd::mask bh = static_cast<simd::mask>(bits >> (16 * h));
    const simd::vf s = simd::loadu(prow + 16 * h);
    const simd::vf t = simd::select(bh, simd::fmsub(s, sc, lv), ninf);
    const simd::vf p = simd::exp_no_overflow(t);  // t <= 0: a score minus its row lse
    simd::storeu(prow + 16 * h, p);
    const simd::vf dp = simd::loadu(dsrow + 16 * h);
    simd::storeu(dsrow + 16 * h, simd::mul(simd::mul(p, simd::sub(dp, dv)), sc));
  }
}
#endif  // SEEKFORGE_SIMD

// ---------------------------------------------------------------------------------------------
// Tiled forward.

template <typename T>
void forward_tiled(T* out, T* lse, const T* q, const T* k, const T* v, const uint8_t* key_keep,
                   T scale, const AttentionShape& s) {
  const int64_t B = s.B, Tq = s.Tq, Tk = s.Tk, H = s.H, KV = s.KV, Dqk = s.Dqk, Dv = s.Dv;
  const int64_t W = s.window;
  const int64_t group = H / KV;
  const int64_t off = Tk - Tq;  // absolute position of query 0
  const int64_t nqb = (Tq + kBq - 1) / kBq;
  const int64_t ldq = H * Dqk, ldk = KV * Dqk, ldv = KV * Dv;
  const T neg_inf = -std::numeric_limits<T>::infinity();
  const int64_t ntasks = B * H * nqb;

  // Tasks are independent (disjoint outputs), so dynamic scheduling keeps results exact while
  // balancing the uneven causal work; the heaviest (last) query blocks are handed out first.
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t task = 0; task < ntasks; ++task) {
    const int64_t b = task / (H * nqb);
    const int64_t h = (task / nqb) % H;
    const int64_t qb = nqb - 1 - task % nqb;
    const int64_t i0 = qb * kBq;
    const int64_t mq = std::min(kBq, Tq - i0);
    const int64_t p_first = off + i0, p_last = off + i0 + mq - 1;
    const int64_t kvh = h / group;
    const uint8_t* keep = key_keep ? key_keep + b * Tk : nullptr;

    const T* qrows = q + ((b * Tq + i0) * H + h) * Dqk;
    const T* kbase = k + (b * s.key_rows() * KV + kvh) * Dqk;
    const T* vbase = v + (b * s.key_rows() * KV + kvh) * Dv;

    alignas(64) T O[kBq * kMaxD];
    alignas(64) T Kt[kMaxD * kBk];
    alignas(64) T S[kBq * kBk];
    T m[kBq], l[kBq];
    std::fill(O, O + mq * Dv, T(0));
    std::fill(m, m + mq, neg_inf);
    std::fill(l, l + mq, T(0));

    const int64_t j_lo = W > 0 ? std::max<int64_t>(0, p_first - W + 1) : 0;
    const int64_t j_hi = std::min(Tk - 1, p_last);
    if (j_hi >= j_lo) {
      for (int64_t kb = j_lo / kBk; kb <= j_hi / kBk; ++kb) {
        const int64_t j0 = kb * kBk;
        const int64_t nk = std::min(kBk, Tk - j0);
        // Only rows r0..r1-1 see any key of this block (p >= j0, p - W < j0 + nk - 1); the
        // others are left alone, which trims the causal diagonal and the window edge.
        const int64_t r0 = std::max<int64_t>(0, j0 - p_first);
        const int64_t r1 = W > 0 ? std::min(mq, j0 + nk - 1 + W - p_first) : mq;
        if (r0 >= r1) continue;
        const int64_t mr = r1 - r0;
        pack_transposed(Kt, kbase + j0 * ldk, ldk, nk, Dqk);
        // S = Q_blk K_blk^T
        gemm(S, kBk, qrows + r0 * ldq, ldq, 1, Kt, kBk, mr, Dqk, kBk, true);
        const uint32_t kbits = keep_bits(keep, j0, nk);
        for (int64_t r = r0; r < r1; ++r) {
          const uint32_t bits = row_bits(p_first + r, j0, nk, W, kbits);
          const T corr = softmax_row(S + (r - r0) * kBk, bits, scale, m[r], l[r]);
          // Online softmax: rescale what was accumulated under the old maximum.
          if (corr != T(1)) {
            T* orow = O + r * Dv;
            for (int64_t d = 0; d < Dv; ++d) orow[d] *= corr;
          }
        }
        // O += P V_blk
        gemm(O + r0 * Dv, Dv, S, kBk, 1, vbase + j0 * ldv, ldv, mr, nk, Dv, false);
      }
    }

    T* lse_row = lse + (b * H + h) * Tq + i0;
    for (int64_t r = 0; r < mq; ++r) {
      T* orow = out + ((b * Tq + i0 + r) * H + h) * Dv;
      if (l[r] > T(0)) {
        const T inv = T(1) / l[r];
        for (int64_t d = 0; d < Dv; ++d) orow[d] = O[r * Dv + d] * inv;
        lse_row[r] = m[r] + std::log(l[r]);
      } else {
        std::fill(orow, orow + Dv, T(0));
        lse_row[r] = neg_inf;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tiled backward.
//
// Normal schedule: one task per (b, kv head). It owns dk, dv of that kv head and dq of the query
// heads that read it, so accumulation needs no atomics and has a fixed order. When there are
// fewer such tasks than threads (B * KV == 1 on 2 cores), a two-pass schedule keeps every
// thread busy instead: pass 1 runs one task per (b, kv head, key block) for dk and dv, pass 2 one
// task per (b, head, query block) for dq, recomputing P and dS (about 40% more arithmetic).
// Both schedules add the same tile products in the same order (key blocks ascending), so the
// results are bitwise the same whichever runs.

// Sizes and strides shared by the backward helpers.
struct BwdDims {
  int64_t Tq, Tk, H, KV, Dqk, Dv, W, group, off, ldq, ldk, ldv, ldo;
};

// Rows i0..i0+mq-1 of head h (batch row b) against the key block at j0 (nk keys, packed as Kt
// and Vt): leaves P = exp(S*scale - lse) in P and dS = P (dP - D) scale in dS, both [mq x kBk].
// Dsum [B, H, Tq] holds D_i = <dout_i, out_i>, computed once per row rather than per key block.
template <typename T>
void backward_tile(T* P, T* dS, const T* q, const T* dout, const T* Dsum, const T* lse, const T* Kt,
                   const T* Vt, int64_t b, int64_t h, int64_t i0, int64_t mq, int64_t j0,
                   int64_t nk, uint32_t kbits, T scale, const BwdDims& d) {
  const T* qrows = q + ((b * d.Tq + i0) * d.H + h) * d.Dqk;
  const T* dorows = dout + ((b * d.Tq + i0) * d.H + h) * d.Dv;
  const T* lse_row = lse + (b * d.H + h) * d.Tq + i0;
  const T* D_row = Dsum + (b * d.H + h) * d.Tq + i0;
  // S = Q K^T (into P), dP = dout V^T (into dS)
  gemm(P, kBk, qrows, d.ldq, 1, Kt, kBk, mq, d.Dqk, kBk, true);
  gemm(dS, kBk, dorows, d.ldo, 1, Vt, kBk, mq, d.Dv, kBk, true);
  for (int64_t r = 0; r < mq; ++r) {
    grad_row(P + r * kBk, dS + r * kBk, row_bits(d.off + i0 + r, j0, nk, d.W, kbits), scale,
             lse_row[r], D_row[r]);
  }
}

// dk, dv of key blocks kb_begin..kb_end-1 of kv head kvh (batch row b), from every query row
// that sees them; with_dq also adds those tiles' dq contributions (the normal schedule).
template <typename T>
void backward_key_blocks(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                         const T* Dsum, const T* lse, const uint8_t* key_keep, T scale,
                         const BwdDims& d, int64_t b, int64_t kvh, int64_t kb_begin, int64_t kb_end,
                         bool with_dq) {
  const uint8_t* keep = key_keep ? key_keep + b * d.Tk : nullptr;
  const T* kbase = k + (b * d.Tk * d.KV + kvh) * d.Dqk;
  const T* vbase = v + (b * d.Tk * d.KV + kvh) * d.Dv;
  T* dkbase = dk + (b * d.Tk * d.KV + kvh) * d.Dqk;
  T* dvbase = dv + (b * d.Tk * d.KV + kvh) * d.Dv;

  alignas(64) T Kt[kMaxD * kBk];
  alignas(64) T Vt[kMaxD * kBk];
  alignas(64) T dK[kBk * kMaxD];
  alignas(64) T dV[kBk * kMaxD];
  alignas(64) T P[kBq * kBk];
  alignas(64) T dS[kBq * kBk];

  for (int64_t kb = kb_begin; kb < kb_end; ++kb) {
    const int64_t j0 = kb * kBk;
    const int64_t nk = std::min(kBk, d.Tk - j0);
    // Query rows that can see some key of this block: j0 <= p and p - W < j0 + nk - 1.
    const int64_t i_lo = std::max<int64_t>(0, j0 - d.off);
    const int64_t i_hi = d.W > 0 ? std::min(d.Tq - 1, j0 + nk - 1 + d.W - 1 - d.off) : d.Tq - 1;
    if (i_lo > i_hi) continue;
    pack_transposed(Kt, kbase + j0 * d.ldk, d.ldk, nk, d.Dqk);
    pack_transposed(Vt, vbase + j0 * d.ldv, d.ldv, nk, d.Dv);
    std::fill(dK, dK + nk * d.Dqk, T(0));
    std::fill(dV, dV + nk * d.Dv, T(0));
    const uint32_t kbits = keep_bits(keep, j0, nk);

    for (int64_t g = 0; g < d.group; ++g) {
      const int64_t h = kvh * d.group + g;
      // Chunks of kBq rows starting at the first row that sees this key block.
      for (int64_t i0 = i_lo; i0 <= i_hi; i0 += kBq) {
        const int64_t mq = std::min(kBq, i_hi + 1 - i0);
        backward_tile(P, dS, q, dout, Dsum, lse, Kt, Vt, b, h, i0, mq, j0, nk, kbits, scale, d);
        const T* qrows = q + ((b * d.Tq + i0) * d.H + h) * d.Dqk;
        const T* dorows = dout + ((b * d.Tq + i0) * d.H + h) * d.Dv;
        // dV += P^T dout ; dK += dS^T Q ; dq += dS K
        gemm(dV, d.Dv, P, 1, kBk, dorows, d.ldo, nk, mq, d.Dv, false);
        gemm(dK, d.Dqk, dS, 1, kBk, qrows, d.ldq, nk, mq, d.Dqk, false);
        if (with_dq) {
          T* dqrows = dq + ((b * d.Tq + i0) * d.H + h) * d.Dqk;
          gemm(dqrows, d.ldq, dS, kBk, 1, kbase + j0 * d.ldk, d.ldk, mq, nk, d.Dqk, false);
        }
      }
    }
    for (int64_t j = 0; j < nk; ++j) {
      T* dkrow = dkbase + (j0 + j) * d.ldk;
      T* dvrow = dvbase + (j0 + j) * d.ldv;
      for (int64_t e = 0; e < d.Dqk; ++e) dkrow[e] += dK[j * d.Dqk + e];
      for (int64_t e = 0; e < d.Dv; ++e) dvrow[e] += dV[j * d.Dv + e];
    }
  }
}

// dq of query block qb of head h (batch row b): pass 2 of the two-pass schedule.
template <typename T>
void backward_query_block(T* dq, const T* dout, const T* q, const T* k, const T* v, const T* Dsum,
                          const T* lse, const uint8_t* key_keep, T scale, const BwdDims& d,
                          int64_t b, int64_t h, int64_t qb) {
  const int64_t i0 = qb * kBq;
  const int64_t mq = std::min(kBq, d.Tq - i0);
  const int64_t p_first = d.off + i0, p_last = p_first + mq - 1;
  const int64_t kvh = h / d.group;
  const uint8_t* keep = key_keep ? key_keep + b * d.Tk : nullptr;
  const T* kbase = k + (b * d.Tk * d.KV + kvh) * d.Dqk;
  const T* vbase = v + (b * d.Tk * d.KV + kvh) * d.Dv;

  alignas(64) T Kt[kMaxD * kBk];
  alignas(64) T Vt[kMaxD * kBk];
  alignas(64) T P[kBq * kBk];
  alignas(64) T dS[kBq * kBk];

  const int64_t j_lo = d.W > 0 ? std::max<int64_t>(0, p_first - d.W + 1) : 0;
  const int64_t j_hi = std::min(d.Tk - 1, p_last);
  if (j_hi < j_lo) return;
  for (int64_t kb = j_lo / kBk; kb <= j_hi / kBk; ++kb) {
    const int64_t j0 = kb * kBk;
    const int64_t nk = std::min(kBk, d.Tk - j0);
    const int64_t r0 = std::max<int64_t>(0, j0 - p_first);
    const int64_t r1 = d.W > 0 ? std::min(mq, j0 + nk - 1 + d.W - p_first) : mq;
    if (r0 >= r1) continue;
    pack_transposed(Kt, kbase + j0 * d.ldk, d.ldk, nk, d.Dqk);
    pack_transposed(Vt, vbase + j0 * d.ldv, d.ldv, nk, d.Dv);
    backward_tile(P, dS, q, dout, Dsum, lse, Kt, Vt, b, h, i0 + r0, r1 - r0, j0, nk,
                  keep_bits(keep, j0, nk), scale, d);
    T* dqrows = dq + ((b * d.Tq + i0 + r0) * d.H + h) * d.Dqk;
    gemm(dqrows, d.ldq, dS, kBk, 1, kbase + j0 * d.ldk, d.ldk, r1 - r0, nk, d.Dqk, false);
  }
}

template <typename T>
void backward_tiled(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                    const T* out, const T* lse, const uint8_t* key_keep, T scale,
                    const AttentionShape& s) {
  const BwdDims d{s.Tq,         s.Tk,        s.H,        s.KV,        s.Dqk,
                  s.Dv,         s.window,    s.H / s.KV, s.Tk - s.Tq, s.H * s.Dqk,
                  s.KV * s.Dqk, s.KV * s.Dv, s.H * s.Dv};
  const int64_t nkb = (s.Tk + kBk - 1) / kBk;
  const int64_t nqb = (s.Tq + kBq - 1) / kBq;

  // D_i = <dout_i, out_i> for every query row: each is read by every key block the row sees.
  std::vector<T> Dsum(static_cast<size_t>(s.B * s.H * s.Tq));
#pragma omp parallel for schedule(static)
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const int64_t b = bh / s.H, h = bh % s.H;
    for (int64_t i = 0; i < s.Tq; ++i) {
      const int64_t at = ((b * s.Tq + i) * s.H + h) * s.Dv;
      Dsum[static_cast<size_t>(bh * s.Tq + i)] = dot(dout + at, out + at, s.Dv);
    }
  }

  if (s.B * s.KV >= omp_get_max_threads()) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t task = 0; task < s.B * s.KV; ++task) {
      backward_key_blocks(dq, dk, dv, dout, q, k, v, Dsum.data(), lse, key_keep, scale, d,
                          task / s.KV, task % s.KV, 0, nkb, true);
    }
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t task = 0; task < s.B * s.KV * nkb; ++task) {
    const int64_t kb = task % nkb;
    backward_key_blocks(dq, dk, dv, dout, q, k, v, Dsum.data(), lse, key_keep, scale, d,
                        task / (s.KV * nkb), (task / nkb) % s.KV, kb, kb + 1, false);
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t task = 0; task < s.B * s.H * nqb; ++task) {
    backward_query_block(dq, dout, q, k, v, Dsum.data(), lse, key_keep, scale, d,
                         task / (s.H * nqb), (task / nqb) % s.H, task % nqb);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public entry points.

template <typename T>
void attention_forward(T* out, T* lse, const T* q, const T* k, const T* v, const uint8_t* key_keep,
                       T scale, const AttentionShape& s) {
  if (s.Dqk > kMaxD || s.Dv > kMaxD) {
    attention_forward_naive(out, lse, q, k, v, key_keep, scale, s);
    return;
  }
  forward_tiled(out, lse, q, k, v, key_keep, scale, s);
}

template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                        const T* out, const T* lse, const uint8_t* key_keep, T scale,
                        const AttentionShape& s) {
  if (s.Dqk > kMaxD || s.Dv > kMaxD) {
    attention_backward_naive(dq, dk, dv, dout, q, k, v, out, lse, key_keep, scale, s);
    return;
  }
  backward_tiled(dq, dk, dv, dout, q, k, v, out, lse, key_keep, scale, s);
}

// Naive forward: for each (b, h, i) compute every visible score, then softmax and the weighted
// sum of values, all in double.
template <typename T>
void attention_forward_naive(T* out, T* lse, const T* q, const T* k, const T* v,
                             const uint8_t* key_keep, T scale, const AttentionShape& s) {
  const int64_t B = s.B, Tq = s.Tq, Tk = s.Tk, H = s.H, KV = s.KV, Dqk = s.Dqk, Dv = s.Dv;
  const int64_t group = H / KV;
  std::vector<double> score(static_cast<size_t>(Tk));
  std::vector<double> acc(static_cast<size_t>(Dv));
  for (int64_t b = 0; b < B; ++b) {
    const uint8_t* keep = key_keep ? key_keep + b * Tk : nullptr;
    for (int64_t h = 0; h < H; ++h) {
      const int64_t kvh = h / group;
      for (int64_t i = 0; i < Tq; ++i) {
        const int64_t p = Tk - Tq + i;
        const T* qi = q + ((b * Tq + i) * H + h) * Dqk;
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < Tk; ++j) {
          if (!key_visible(j, p, s.window, keep)) continue;
          const T* kj = k + ((b * s.key_rows() + j) * KV + kvh) * Dqk;
          double dot = 0;
          for (int64_t d = 0; d < Dqk; ++d) dot += double(qi[d]) * double(kj[d]);
          score[j] = dot * double(scale);
          mx = std::max(mx, score[j]);
        }
        T* oi = out + ((b * Tq + i) * H + h) * Dv;
        T* lse_i = lse + (b * H + h) * Tq + i;
        if (mx == -std::numeric_limits<double>::infinity()) {  // sees no key
          std::fill(oi, oi + Dv, T(0));
          *lse_i = -std::numeric_limits<T>::infinity();
          continue;
        }
        double sum = 0;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < Tk; ++j) {
          if (!key_visible(j, p, s.window, keep)) continue;
          const double e = std::exp(score[j] - mx);
          sum += e;
          const T* vj = v + ((b * s.key_rows() + j) * KV + kvh) * Dv;
          for (int64_t d = 0; d < Dv; ++d) acc[d] += e * double(vj[d]);
        }
        for (int64_t d = 0; d < Dv; ++d) oi[d] = T(acc[d] / sum);
        *lse_i = T(mx + std::log(sum));
      }
    }
  }
}

// Naive backward: per query row, rebuild p_j = exp(s_j - lse) and apply
//   dp_j = <dout, v_j>, ds_j = p_j (dp_j - <dout, out>),
//   dq += scale ds_j k_j, dk_j += scale ds_j q, dv_j += p_j dout.
template <typename T>
void attention_backward_naive(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k,
                              const T* v, const T* out, const T* lse, const uint8_t* key_keep,
                              T scale, const AttentionShape& s) {
  const int64_t B = s.B, Tq = s.Tq, Tk = s.Tk, H = s.H, KV = s.KV, Dqk = s.Dqk, Dv = s.Dv;
  const int64_t group = H / KV;
  std::vector<double> dqi(static_cast<size_t>(Dqk));
  for (int64_t b = 0; b < B; ++b) {
    const uint8_t* keep = key_keep ? key_keep + b * Tk : nullptr;
    for (int64_t h = 0; h < H; ++h) {
      const int64_t kvh = h / group;
      for (int64_t i = 0; i < Tq; ++i) {
        const double lse_i = double(lse[(b * H + h) * Tq + i]);
        if (std::isinf(lse_i)) continue;  // sees no key: zero gradient
        const int64_t p = Tk - Tq + i;
        const T* qi = q + ((b * Tq + i) * H + h) * Dqk;
        const T* doi = dout + ((b * Tq + i) * H + h) * Dv;
        const T* oi = out + ((b * Tq + i) * H + h) * Dv;
        double Di = 0;
        for (int64_t d = 0; d < Dv; ++d) Di += double(doi[d]) * double(oi[d]);
        std::fill(dqi.begin(), dqi.end(), 0.0);
        for (int64_t j = 0; j < Tk; ++j) {
          if (!key_visible(j, p, s.window, keep)) continue;
          const T* kj = k + ((b * Tk + j) * KV + kvh) * Dqk;
          const T* vj = v + ((b * Tk + j) * KV + kvh) * Dv;
          double sj = 0;
          for (int64_t d = 0; d < Dqk; ++d) sj += double(qi[d]) * double(kj[d]);
          const double pj = std::exp(sj * double(scale) - lse_i);
          double dpj = 0;
          for (int64_t d = 0; d < Dv; ++d) dpj += double(doi[d]) * double(vj[d]);
          const double dsj = pj * (dpj - Di) * double(scale);
          T* dkj = dk + ((b * Tk + j) * KV + kvh) * Dqk;
          T* dvj = dv + ((b * Tk + j) * KV + kvh) * Dv;
          for (int64_t d = 0; d < Dqk; ++d) {
            dqi[d] += dsj * double(kj[d]);
            dkj[d] += T(dsj * double(qi[d]));
          }
          for (int64_t d = 0; d < Dv; ++d) dvj[d] += T(pj * double(doi[d]));
        }
        T* dqp = dq + ((b * Tq + i) * H + h) * Dqk;
        for (int64_t d = 0; d < Dqk; ++d) dqp[d] += T(dqi[d]);
      }
    }
  }
}

#define SEEKFORGE_ATTENTION_INSTANTIATE(T)                                                       \
  template void attention_forward<T>(T*, T*, const T*, const T*, const T*, const uint8_t*, T,    \
                                     const AttentionShape&);                                     \
  template void attention_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,        \
                                      const T*, const T*, const uint8_t*, T,                     \
                                      const AttentionShape&);                                    \
  template void attention_forward_naive<T>(T*, T*, const T*, const T*, const T*, const uint8_t*, \
                                           T, const AttentionShape&);                            \
  template void attention_backward_naive<T>(T*, T*, T*, const T*, const T*, const T*, const T*,  \
                                            const T*, const T*, const uint8_t*, T,               \
                                            const AttentionShape&);

SEEKFORGE_ATTENTION_INSTANTIATE(float)
SEEKFORGE_ATTENTION_INSTANTIATE(double)
#undef SEEKFORGE_ATTENTION_INSTANTIATE

}  // namespace seekforge::kernels
