// A 16-lane float vector for the hand-written kernels, on AVX-512 or on AVX2 + FMA.
//
// Why: the row kernels, the attention tiles and AdamW are written once against this small set
// of operations. With AVX-512 each is the single intrinsic of the same name (the code the
// kernels had when they called the intrinsics directly); with AVX2 a vector is two 8-lane
// registers and a mask is still a 16-bit lane mask, expanded to lane masks where an
// instruction needs one. CPUs with neither take the kernels' plain loops (SEEKFORGE_SIMD is
// not defined); so does double everywhere.
//
// What this is not: a general SIMD library. It holds what the kernels use, nothing else.
// Masked loads never touch memory of lanes that are off (both ISAs guarantee it), so row tails
// read no byte past the row.
#pragma once

#include <cstdint>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
// GCC 12's intrinsic headers build "undefined" vectors from self-initialised locals, which
// -Wmaybe-uninitialized flags once inlined (GCC bug 105593); the warning points into the header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#define SEEKFORGE_SIMD 1
#endif

#if defined(SEEKFORGE_SIMD)

namespace seekforge::kernels::simd {

inline constexpr int kLanes = 16;
using mask = uint16_t;  // bit l: lane l is on
inline constexpr mask kAll = 0xFFFF;

// The first `rem` lanes (0 <= rem <= 16).
inline mask tail_mask(int64_t rem) {
  return rem >= 16 ? kAll : static_cast<mask>((1u << rem) - 1u);
}

#if defined(__AVX512F__)

inline constexpr bool kAvx512 = true;
using vf = __m512;

inline vf zero() { return _mm512_setzero_ps(); }
inline vf set1(float x) { return _mm512_set1_ps(x); }
inline vf loadu(const float* p) { return _mm512_loadu_ps(p); }
inline vf load(const float* p) { return _mm512_load_ps(p); }  // 64-byte aligned
// Masked forms take the plain instruction when every lane is on: on Zen 5 a loop of masked loads
// from memory ran at half the bandwidth of the same loop unmasked (the cross-entropy backward,
// 27 -> 13 ms), and the kernels' loops pass kAll on all but their last vector.
inline vf loadu(mask k, const float* p) {  // off lanes 0
  if (k == kAll) return _mm512_loadu_ps(p);
  return _mm512_maskz_loadu_ps(k, p);
}
inline vf loadu(vf src, mask k, const float* p) {
  if (k == kAll) return _mm512_loadu_ps(p);
  return _mm512_mask_loadu_ps(src, k, p);
}
inline void storeu(float* p, vf v) { _mm512_storeu_ps(p, v); }
inline void store(float* p, vf v) { _mm512_store_ps(p, v); }
inline void storeu(float* p, mask k, vf v) {
  if (k == kAll) return _mm512_storeu_ps(p, v);
  _mm512_mask_storeu_ps(p, k, v);
}
// Non-temporal store to a 64-byte aligned address; fence() before others may read it.
inline void stream(float* p, vf v) { _mm512_stream_ps(p, v); }
inline void fence() { _mm_sfence(); }

inline vf add(vf a, vf b) { return _mm512_add_ps(a, b); }
inline vf sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
inline vf mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
inline vf div(vf a, vf b) { return _mm512_div_ps(a, b); }
inline vf sqrt(vf a) { return _mm512_sqrt_ps(a); }
inline vf fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }    // a*b + c
inline vf fmsub(vf a, vf b, vf c) { return _mm512_fmsub_ps(a, b, c); }    // a*b - c
inline vf fnmadd(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a*b
// Full-mask maskz forms: GCC 12's unmasked max/min/roundscale trip -Wmaybe-uninitialized.
inline vf max(vf a, vf b) { return _mm512_maskz_max_ps(kAll, a, b); }
inline vf min(vf a, vf b) { return _mm512_maskz_min_ps(kAll, a, b); }
inline vf round_nearest(vf a) {
  return _mm512_maskz_roundscale_ps(kAll, a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
// Lanes where k is on take a, the others b.
inline vf select(mask k, vf a, vf b) { return _mm512_mask_mov_ps(b, k, a); }
inline vf zero_off(mask k, vf a) { return _mm512_maskz_mov_ps(k, a); }
inline mask cmp_ge(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
// a * 2^n for integral n (overflows to inf, underflows to 0) where k is on; 0 elsewhere.
inline vf scale_pow2(mask k, vf a, vf n) { return _mm512_maskz_scalef_ps(k, a, n); }

inline float reduce_add(vf a) {
  __m256 h = _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xFF, a, 0),
                           _mm512_maskz_extractf32x8_ps(0xFF, a, 1));
  __m128 f = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  f = _mm_add_ps(f, _mm_movehl_ps(f, f));
  f = _mm_add_ss(f, _mm_movehdup_ps(f));
  return _mm_cvtss_f32(f);
}
// 16 double lanes, one per float lane: row statistics (the norms' sums of squares and dot
// products) accumulate in double, since a float sum over C = 32768 terms can lose 1e-5
// relative. Each vf lane is widened, multiplied and added in double: the product of two floats is
// exact there.
struct vd {
  __m512d lo, hi;
};
inline vd zero_d() { return {_mm512_setzero_pd(), _mm512_setzero_pd()}; }
// acc + double(a) * double(b), lane by lane. The maskz forms with every lane on, as elsewhere in
// this file: GCC 12's unmasked widening and extraction intrinsics trip -Wmaybe-uninitialized
// (GCC bug 105593).
inline vd fmadd_d(vf a, vf b, vd acc) {
  const auto wide = [](vf h, int upper) {
    return _mm512_maskz_cvtps_pd(0xFF, upper ? _mm512_maskz_extractf32x8_ps(0xFF, h, 1)
                                             : _mm512_maskz_extractf32x8_ps(0xFF, h, 0));
  };
  return {_mm512_fmadd_pd(wide(a, 0), wide(b, 0), acc.lo),
          _mm512_fmadd_pd(wide(a, 1), wide(b, 1), acc.hi)};
}
inline vd add_d(vd a, vd b) { return {_mm512_add_pd(a.lo, b.lo), _mm512_add_pd(a.hi, b.hi)}; }
inline double reduce_add(vd a) {
  const __m512d s = _mm512_add_pd(a.lo, a.hi);
  const __m256d q = _mm256_add_pd(_mm512_maskz_extractf64x4_pd(0xF, s, 0),
                                  _mm512_maskz_extractf64x4_pd(0xF, s, 1));
  __m128d h = _mm_add_pd(_mm256_castpd256_pd128(q), _mm256_extractf128_pd(q, 1));
  h = _mm_add_sd(h, _mm_unpackhi_pd(h, h));
  return _mm_cvtsd_f64(h);
}

inline float reduce_max(vf a) {
  __m256 h = _mm256_max_ps(_mm512_maskz_extractf32x8_ps(0xFF, a, 0),
                           _mm512_maskz_extractf32x8_ps(0xFF, a, 1));
  __m128 f = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  f = _mm_max_ps(f, _mm_movehl_ps(f, f));
  f = _mm_max_ss(f, _mm_movehdup_ps(f));
  return _mm_cvtss_f32(f);
}

// exp on 16 floats: Cephes expf (range reduction by ln2 in two parts, degree-5 polynomial,
// 2^n by exponent scaling), ~1 ulp. Inputs below ln(FLT_MIN) return exactly 0 (no denormals,
// and -inf from masked scores gives 0); inputs above ~88.7 give +inf.
inline vf exp(vf x) {
  // NaN stays NaN: max/min return their second operand when either is NaN, and "not less
  // than" is true for NaN.
  const mask keep = _mm512_cmp_ps_mask(x, set1(-87.33f), _CMP_NLT_UQ);
  x = max(set1(-87.33f), x);
  x = min(set1(89.0f), x);  // exp(89) rounds to +inf, as it should
  const vf n = round_nearest(mul(x, set1(1.44269504088896341f)));
  vf r = fnmadd(n, set1(0.693359375f), x);
  r = fnmadd(n, set1(-2.12194440e-4f), r);
  const vf z = mul(r, r);
  vf y = set1(1.9875691500e-4f);
  y = fmadd(y, r, set1(1.3981999507e-3f));
  y = fmadd(y, r, set1(8.3334519073e-3f));
  y = fmadd(y, r, set1(4.1665795894e-2f));
  y = fmadd(y, r, set1(1.6666665459e-1f));
  y = fmadd(y, r, set1(5.0000001201e-1f));
  y = fmadd(y, z, r);
  y = add(y, set1(1.0f));
  return scale_pow2(keep, y, n);
}

// e^r - 1 for r = x - k ln2/16 in [-ln2/32, ln2/32], k = kf integral (ln2/16 in two parts, the
// first with 9 significant bits: k * it is exact while |k| < 2^14); Taylor degree 3, truncation
// error 1e-8.
inline vf exp_em1(vf x, vf kf) {
  vf r = fnmadd(kf, set1(0.0433349609375f), x);
  r = fnmadd(kf, set1(-1.326215250341961e-05f), r);
  const vf c = fmadd(set1(0.16666666666666666f), r, set1(0.5f));
  const vf em1 = mul(fmadd(c, r, set1(1.0f)), r);
  return em1;
}

// exp for arguments that cannot overflow (x <= 88: softmax-like kernels pass x - max), ~1 ulp;
// below e^-86.6 (~2.4e-38) the result is 0, and NaN handling is left out. A third less time than
// exp above (0.089 against 0.131 ns on one Zen 5 core: no clamps, no roundscale, no scalef), and
// the cross-entropy forward is one exp per logit. k = round(16 x / ln2) is read straight from the
// bits of x * 16/ln2 + 1.5 * 2^23 (no rounding instruction), and
//   exp(x) = 2^(k >> 4) * 2^((k & 15) / 16) * e^r,  r in [-ln2/32, ln2/32]:
// the 16 values 2^(j/16) are one register indexed by vpermps, and e^r - 1 is its Taylor
// polynomial of degree 3 (truncation error 1e-8). t e^r lies in [0.978, 1.96], so the
// exponent-field add of k >> 4 stays exact down to k >> 4 = -125.
inline vf exp_no_overflow(vf x) {
  const mask under = _mm512_cmp_ps_mask(x, set1(-86.64f), _CMP_LT_OQ);
  const vf shift = set1(12582912.0f);  // 1.5 * 2^23: k lands in the low bits
  const vf kt = fmadd(x, set1(23.083120654223414f), shift);
  const vf kf = sub(kt, shift);
  const vf em1 = exp_em1(x, kf);
  const __m512i kb = _mm512_castps_si512(kt);
  const vf table = _mm512_setr_ps(
      1.0f, 1.0442737824274138f, 1.0905077326652577f, 1.1387886347566916f, 1.189207115002721f,
      1.241857812073484f, 1.2968395546510096f, 1.3542555469368927f, 1.4142135623730951f,
      1.4768261459394993f, 1.5422108254079407f, 1.6104903319492543f, 1.681792830507429f,
      1.7562521603732995f, 1.8340080864093424f, 1.9152065613971474f);
  const vf t = _mm512_maskz_permutexvar_ps(kAll, kb, table);  // k's low 4 bits
  const vf m = fmadd(t, em1, t);
  // (bits of kt) >> 4 << 23 is (k >> 4) << 23: the shift constant's bits fall off the top.
  const __m512i n = _mm512_maskz_slli_epi32(kAll, _mm512_maskz_srai_epi32(kAll, kb, 4), 23);
  return zero_off(static_cast<mask>(~under),
                  _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(m), n)));
}

// exp_ref's table steps per octave: exp(x) = 2^(k / kExpSteps) e^r.
inline constexpr int kExpSteps = 16;

// exp(x - ref ln2) for an integer reference `ref` (octaves), passed as bias = exp_ref_bias(ref)
// (after both ISAs); lanes with x < floor give 0, and floor must be at least ref ln2 - 86.5
// (below it the result leaves the normal range). Needs |x| <= 700 and x - ref ln2 <= 88.
// Why: a row kernel that holds a reference near its running max pays for neither the x - max
// subtraction nor a shift of k per logit. k = round(16 x / ln2) is read from the bits of
// kt = x * 16/ln2 + 1.5 * 2^23 - 16 ref, whose low 23 bits are 2^22 + k - 16 ref; shifted left by
// 19 they put (k - 16 ref) >> 4 in the exponent field and j = k & 15 in bits 19-22. The table
// holds bits(2^(j/16)) - (j << 19), so one integer add gives 2^((k - 16 ref)/16) exactly; e^r is
// exp_em1's, as in exp_no_overflow. With it (and the reference it allows) the cross-entropy
// forward of a V = 32768 row from L2 went from 4.5 to 2.9 us on one Zen 5 core.
inline vf exp_ref(vf x, vf bias, vf floor) {
  const mask live = _mm512_cmp_ps_mask(x, floor, _CMP_GE_OQ);
  const vf kt = fmadd(x, set1(23.083120654223414f), bias);
  const vf kf = sub(kt, bias);  // k, exactly
  const vf em1 = exp_em1(x, kf);
  const __m512i kb = _mm512_castps_si512(kt);
  const __m512i table =
      _mm512_setr_epi32(0x3F800000, 0x3F7DAAC3, 0x3F7B95C2, 0x3F79C3D3, 0x3F7837F0, 0x3F76F532,
                        0x3F75FED7, 0x3F75583F, 0x3F7504F3, 0x3F7508A4, 0x3F75672A, 0x3F76248C,
                        0x3F7744FD, 0x3F78CCDF, 0x3F7AC0C7, 0x3F7D257D);
  const vf t = _mm512_castsi512_ps(_mm512_add_epi32(_mm512_maskz_permutexvar_epi32(kAll, kb, table),
                                                    _mm512_maskz_slli_epi32(kAll, kb, 19)));
  return _mm512_maskz_fmadd_ps(live, t, em1, t);  // -inf and NaN lanes: em1 is NaN
}

#else  // AVX2 + FMA: two 8-lane halves

inline constexpr bool kAvx512 = false;
struct vf {
  __m256 lo, hi;
};

namespace detail {
// 8 lane masks (all ones where bit l of `bits` is set) for maskload/maskstore/blendv.
inline __m256i lanes8(unsigned bits) {
  const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(bits)), sel), sel);
}
inline __m256 lanes8_ps(unsigned bits) { return _mm256_castsi256_ps(lanes8(bits)); }
inline float hadd8(__m256 h) {
  __m128 f = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  f = _mm_add_ps(f, _mm_movehl_ps(f, f));
  f = _mm_add_ss(f, _mm_movehdup_ps(f));
  return _mm_cvtss_f32(f);
}
inline float hmax8(__m256 h) {
  __m128 f = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  f = _mm_max_ps(f, _mm_movehl_ps(f, f));
  f = _mm_max_ss(f, _mm_movehdup_ps(f));
  return _mm_cvtss_f32(f);
}
}  // namespace detail

inline vf zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
inline vf set1(float x) { return {_mm256_set1_ps(x), _mm256_set1_ps(x)}; }
inline vf loadu(const float* p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
inline vf load(const float* p) { return {_mm256_load_ps(p), _mm256_load_ps(p + 8)}; }
inline vf loadu(mask k, const float* p) {
  if (k == kAll) return loadu(p);
  return {_mm256_maskload_ps(p, detail::lanes8(k & 0xFFu)),
          _mm256_maskload_ps(p + 8, detail::lanes8(k >> 8))};
}
inline vf select(mask k, vf a, vf b) {
  return {_mm256_blendv_ps(b.lo, a.lo, detail::lanes8_ps(k & 0xFFu)),
          _mm256_blendv_ps(b.hi, a.hi, detail::lanes8_ps(k >> 8))};
}
inline vf loadu(vf src, mask k, const float* p) { return select(k, loadu(k, p), src); }
inline void storeu(float* p, vf v) {
  _mm256_storeu_ps(p, v.lo);
  _mm256_storeu_ps(p + 8, v.hi);
}
inline void store(float* p, vf v) {
  _mm256_store_ps(p, v.lo);
  _mm256_store_ps(p + 8, v.hi);
}
inline void storeu(float* p, mask k, vf v) {
  if (k == kAll) return storeu(p, v);
  _mm256_maskstore_ps(p, detail::lanes8(k & 0xFFu), v.lo);
  _mm256_maskstore_ps(p + 8, detail::lanes8(k >> 8), v.hi);
}
inline void stream(float* p, vf v) {
  _mm256_stream_ps(p, v.lo);
  _mm256_stream_ps(p + 8, v.hi);
}
inline void fence() { _mm_sfence(); }

inline vf add(vf a, vf b) { return {_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)}; }
inline vf sub(vf a, vf b) { return {_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)}; }
inline vf mul(vf a, vf b) { return {_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)}; }
inline vf div(vf a, vf b) { return {_mm256_div_ps(a.lo, b.lo), _mm256_div_ps(a.hi, b.hi)}; }
inline vf sqrt(vf a) { return {_mm256_sqrt_ps(a.lo), _mm256_sqrt_ps(a.hi)}; }
inline vf fmadd(vf a, vf b, vf c) {
  return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
}
inline vf fmsub(vf a, vf b, vf c) {
  return {_mm256_fmsub_ps(a.lo, b.lo, c.lo), _mm256_fmsub_ps(a.hi, b.hi, c.hi)};
}
inline vf fnmadd(vf a, vf b, vf c) {
  return {_mm256_fnmadd_ps(a.lo, b.lo, c.lo), _mm256_fnmadd_ps(a.hi, b.hi, c.hi)};
}
inline vf max(vf a, vf b) { return {_mm256_max_ps(a.lo, b.lo), _mm256_max_ps(a.hi, b.hi)}; }
inline vf min(vf a, vf b) { return {_mm256_min_ps(a.lo, b.lo), _mm256_min_ps(a.hi, b.hi)}; }
inline vf round_nearest(vf a) {
  constexpr int kMode = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  return {_mm256_round_ps(a.lo, kMode), _mm256_round_ps(a.hi, kMode)};
}
inline vf zero_off(mask k, vf a) {
  return {_mm256_and_ps(a.lo, detail::lanes8_ps(k & 0xFFu)),
          _mm256_and_ps(a.hi, detail::lanes8_ps(k >> 8))};
}
inline mask cmp_ge(vf a, vf b) {
  const int lo = _mm256_movemask_ps(_mm256_cmp_ps(a.lo, b.lo, _CMP_GE_OQ));
  const int hi = _mm256_movemask_ps(_mm256_cmp_ps(a.hi, b.hi, _CMP_GE_OQ));
  return static_cast<mask>(lo | (hi << 8));
}
inline float reduce_add(vf a) { return detail::hadd8(_mm256_add_ps(a.lo, a.hi)); }
inline float reduce_max(vf a) { return detail::hmax8(_mm256_max_ps(a.lo, a.hi)); }

// 16 double lanes, one per float lane (see the AVX-512 vd): four 4-lane registers.
struct vd {
  __m256d q0, q1, q2, q3;
};
inline vd zero_d() {
  return {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
}
inline vd fmadd_d(vf a, vf b, vd acc) {
  const auto wide = [](__m256 h, int upper) {
    return _mm256_cvtps_pd(upper ? _mm256_extractf128_ps(h, 1) : _mm256_castps256_ps128(h));
  };
  return {_mm256_fmadd_pd(wide(a.lo, 0), wide(b.lo, 0), acc.q0),
          _mm256_fmadd_pd(wide(a.lo, 1), wide(b.lo, 1), acc.q1),
          _mm256_fmadd_pd(wide(a.hi, 0), wide(b.hi, 0), acc.q2),
          _mm256_fmadd_pd(wide(a.hi, 1), wide(b.hi, 1), acc.q3)};
}
inline vd add_d(vd a, vd b) {
  return {_mm256_add_pd(a.q0, b.q0), _mm256_add_pd(a.q1, b.q1), _mm256_add_pd(a.q2, b.q2),
          _mm256_add_pd(a.q3, b.q3)};
}
inline double reduce_add(vd a) {
  const __m256d s = _mm256_add_pd(_mm256_add_pd(a.q0, a.q1), _mm256_add_pd(a.q2, a.q3));
  __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  h = _mm_add_sd(h, _mm_unpackhi_pd(h, h));
  return _mm_cvtsd_f64(h);
}

namespace detail {
// 2^(j/8) for j = 0..7, the table both exps index with vpermps.
inline __m256 exp2_eighths() {
  return _mm256_setr_ps(1.0f, 1.0905077326652577f, 1.1892071150027211f, 1.2968395546510097f,
                        1.4142135623730950f, 1.5422108254079408f, 1.6817928305074291f,
                        1.8340080864093425f);
}
// exp on 8 floats, ~1.2 ulp. A row of exps is bound by the operations per vector (two FMA pipes
// on this ISA) and by how many dependency chains fit in the out-of-order window, so the range
// reduction is by ln2/8, not ln2: exp(x) = 2^n * 2^(j/8) * e^r with k = floor(8 x / ln2) = 8n + j
// and r in [0, ln2/8); 2^(j/8) is a register table (one vpermps indexed by k's low bits), and e^r
// needs only a degree-3 polynomial (minimax, relative error 2e-8), evaluated as t + t * (e^r - 1)
// so the table value is rounded once. With floor, t e^r lies in [1, 2), so adding n to its exponent
// field is exact for every n from -126 to 127: the whole normal range, with no special case at
// either end. Inputs below ln(FLT_MIN) return exactly 0 (no denormals; -inf gives 0), above
// ln(FLT_MAX) +inf, and NaN stays NaN (the masks are computed on the input, so no clamp sits on the
// chain).
inline __m256 exp8(__m256 x) {
  const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33654475f), _CMP_LT_OQ);
  const __m256 over = _mm256_cmp_ps(x, _mm256_set1_ps(88.7228317f), _CMP_NLE_UQ);  // or NaN
  const __m256 kf = _mm256_floor_ps(_mm256_mul_ps(x, _mm256_set1_ps(11.541560327111707f)));
  // r = x - k ln2/8, ln2/8 in two parts (the first has 9 significant bits: k * it is exact).
  __m256 r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(0.086669921875f), x);
  r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(-2.6524305006836323e-05f), r);
  const __m256 c = _mm256_fmadd_ps(_mm256_set1_ps(0.17373527077856876f), r,
                                   _mm256_set1_ps(0.49964451273430395f));
  const __m256 em1 = _mm256_fmadd_ps(c, _mm256_mul_ps(r, r),
                                     _mm256_mul_ps(_mm256_set1_ps(1.0000050452667535f), r));
  const __m256i k = _mm256_cvtps_epi32(kf);
  const __m256 t = _mm256_permutevar8x32_ps(exp2_eighths(), k);  // uses k's low 3 bits
  const __m256 m = _mm256_fmadd_ps(t, em1, t);
  const __m256i n = _mm256_slli_epi32(_mm256_srai_epi32(k, 3), 23);
  const __m256 y =
      _mm256_andnot_ps(under, _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(m), n)));
  // Overflow: x * FLT_MAX is +inf for x > 1, and NaN for NaN.
  return _mm256_blendv_ps(y, _mm256_mul_ps(x, _mm256_set1_ps(3.40282347e38f)), over);
}
// e^r - 1 for r = x - k ln2/8 in [-ln2/16, ln2/16], k = kf integral (ln2/8 in two parts, the first
// with 9 significant bits: k * it is exact while |k| < 2^14); minimax degree 3, relative error
// 2e-8 against e^r.
inline __m256 exp8_em1(__m256 x, __m256 kf) {
  __m256 r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(0.086669921875f), x);
  r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(-2.6524305006836323e-05f), r);
  const __m256 c = _mm256_fmadd_ps(_mm256_set1_ps(0.16664298342617345f), r,
                                   _mm256_set1_ps(0.50006477825220592f));
  const __m256 em1 = _mm256_mul_ps(_mm256_fmadd_ps(c, r, _mm256_set1_ps(1.0000000486203339f)), r);
  return em1;
}
// exp for arguments that cannot overflow (x <= 88), which is what softmax-like kernels pass
// (x - max, a score minus its running max): the same scheme as exp8 with the overflow and NaN
// handling left out and k = round(8 x / ln2) read straight from the bits of x * 8/ln2 + 1.5 * 2^23
// (no floor, no conversion), so r lies in [-ln2/16, ln2/16] and t e^r in [0.957, 1.92]: the
// exponent-field add stays exact for n >= -125, and below e^-86.6 (~2.4e-38) the result is 0.
// Five operations fewer than exp8, and a row of these is bound by operation count.
inline __m256 exp8_no_overflow(__m256 x) {
  const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-86.64f), _CMP_LT_OQ);
  const __m256 shift = _mm256_set1_ps(12582912.0f);  // 1.5 * 2^23: k lands in the low bits
  const __m256 kt = _mm256_fmadd_ps(x, _mm256_set1_ps(11.541560327111707f), shift);
  const __m256 kf = _mm256_sub_ps(kt, shift);
  const __m256 em1 = exp8_em1(x, kf);
  const __m256i kb = _mm256_castps_si256(kt);
  const __m256 t = _mm256_permutevar8x32_ps(exp2_eighths(), kb);  // k's low 3 bits
  const __m256 m = _mm256_fmadd_ps(t, em1, t);
  // (bits of kt) >> 3 << 23 is (k >> 3) << 23: the shift constant's bits fall off the top.
  const __m256i n = _mm256_slli_epi32(_mm256_srai_epi32(kb, 3), 23);
  return _mm256_andnot_ps(under, _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(m), n)));
}
// exp_ref (see the AVX-512 one) on 8 floats: 8 steps per octave, so kt's low bits shifted
// left by 20 put (k - 8 ref) >> 3 in the exponent field and j = k & 7 in bits 20-22.
inline __m256 exp8_ref(__m256 x, __m256 bias, __m256 floor) {
  const __m256 dead = _mm256_cmp_ps(x, floor, _CMP_NGE_UQ);
  const __m256 kt = _mm256_fmadd_ps(x, _mm256_set1_ps(11.541560327111707f), bias);
  const __m256 kf = _mm256_sub_ps(kt, bias);
  const __m256 em1 = exp8_em1(x, kf);
  const __m256i kb = _mm256_castps_si256(kt);
  const __m256i table = _mm256_setr_epi32(0x3F800000, 0x3F7B95C2, 0x3F7837F0, 0x3F75FED7,
                                          0x3F7504F3, 0x3F75672A, 0x3F7744FD, 0x3F7AC0C7);
  const __m256i t =
      _mm256_add_epi32(_mm256_permutevar8x32_epi32(table, kb), _mm256_slli_epi32(kb, 20));
  const __m256 tf = _mm256_castsi256_ps(t);
  return _mm256_andnot_ps(dead, _mm256_fmadd_ps(tf, em1, tf));  // -inf and NaN: em1 is NaN
}
}  // namespace detail

inline vf exp(vf x) { return {detail::exp8(x.lo), detail::exp8(x.hi)}; }
inline vf exp_no_overflow(vf x) {
  return {detail::exp8_no_overflow(x.lo), detail::exp8_no_overflow(x.hi)};
}
inline constexpr int kExpSteps = 8;
inline vf exp_ref(vf x, vf bias, vf floor) {
  return {detail::exp8_ref(x.lo, bias.lo, floor.lo), detail::exp8_ref(x.hi, bias.hi, floor.hi)};
}

#endif

// exp_ref's bias for a reference of `ref` octaves: 1.5 * 2^23 (k lands in the low bits of the
// rounding) less the reference's steps.
inline vf exp_ref_bias(int ref) { return set1(12582912.0f - float(ref * kExpSteps)); }

// sigmoid(x) = 1 / (1 + exp(-x)); exp overflows to inf for x < -89, giving exactly 0.
inline vf sigmoid(vf x) {
  const vf one = set1(1.0f);
  return div(one, add(one, exp(sub(zero(), x))));
}

}  // namespace seekforge::kernels::simd

#endif  // SEEKFORGE_SIMD
