// Fused cross-entropy kernels (see cross_entropy.h). At V = 32768 a row is 128 KiB: bigger than
// L1, so the forward cannot afford a max pass followed by an exp pass over the row from memory,
// and with AVX-512 it must keep its exps cheaper than memory is fast (one exp per logit). It
// fixes a reference from the first block of 256 logits, the block's max rounded to a whole
// octave, and sums exp(x - reference) block by block (exp_ref: no per-logit subtraction, no
// dependence of a block on its own max), checking each block's max only afterwards; a block far
// above the reference raises it and runs again. Rows beyond the fast path's range take a per-lane
// running max rescaled once per block. The training kernel keeps each block's exps in a
// per-thread row buffer (L2-resident) and scales them in its backward half instead of computing
// a second exp per logit.
#include "kernels/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/vec_math.h"

namespace seekforge::kernels {
namespace {

// dlogits overwrites at least this big go around the cache (see the backward).
constexpr int64_t kStreamBytes = int64_t(64) << 20;

struct RowStats {
  double max;     // max_v x_v
  double sumexp;  // sum_v exp(x_v - max)
  double sumx;    // sum_v x_v (label smoothing)
};

template <typename T>
RowStats row_stats(const T* x, int64_t V) {
  // Generic (double) path: two sweeps, the second from cache.
  const T m = row_max(x, V);
  T s = 0, sx = 0;
  for (int64_t v = 0; v < V; ++v) {
    s += std::exp(x[v] - m);
    sx += x[v];
  }
  return {double(m), double(s), double(sx)};
}

#if defined(SEEKFORGE_SIMD)
constexpr int64_t kBlock = 256;
// Software prefetch distance: the exp sweep of a block is compute-bound, so the next blocks'
// lines are requested while it runs (the hardware prefetcher alone left ~15% on the table).
// 8 KiB ahead rather than 4: when memory is at its fastest the forward then takes 1.32 instead of
// 1.42 times a read sweep of the logits (medians over seven runs on Zen 5).
constexpr int64_t kPrefetchAhead = 2048;
inline void prefetch_ahead(const float* block) {
  for (int64_t i = 0; i < kBlock; i += 16) {
    _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchAhead + i), _MM_HINT_T0);
  }
}
constexpr double kLn2 = 0.6931471805599453;
// The fast path's range: the reference comes from a first-block max within +-kFastLogit and is
// raised only to a block max of at most kFastLogit, so every logit it exponentiates lies within
// kFastLogit + kHeadroom of 0 (those more than 86.5 below the reference are 0), inside exp_ref's
// |x| <= 700.
constexpr float kFastLogit = 400;
// How far a logit may sit above the reference before the reference is raised: e^64 per term
// keeps a lane's sum far below FLT_MAX for any V < 2^31.
constexpr float kHeadroom = 64;

// Per-block state the fused kernel keeps between its two halves: the exps of every full block,
// exp(x_v - ref_b ln2), and each block's reference ref_b (octaves).
struct BlockExps {
  float* exps;  // [V rounded down to kBlock]
  int* refs;    // [V / kBlock]
};

// Statistics by per-lane running max, rescaled once per block: any logits, infinities included.
// The fast path below hands over to it for rows outside its range.
RowStats row_stats_general(const float* x, int64_t V) {
  // lowest(), not -inf: a lane that has seen no logit yet then rescales by exp(0) (its sum is
  // 0 anyway) instead of by exp(-inf - -inf) = NaN.
  const float lowest = std::numeric_limits<float>::lowest();
  const float ninf = -std::numeric_limits<float>::infinity();
  simd::vf m = simd::set1(lowest), s = simd::zero(), sx = simd::zero();
  int64_t v0 = 0;
  for (; v0 + kBlock <= V; v0 += kBlock) {
    const float* b = x + v0;
    prefetch_ahead(b);
    simd::vf bm0 = simd::loadu(b), bm1 = simd::loadu(b + 16);
    for (int64_t i = 32; i < kBlock; i += 32) {
      bm0 = simd::max(bm0, simd::loadu(b + i));
      bm1 = simd::max(bm1, simd::loadu(b + i + 16));
    }
    const simd::vf mnew = simd::max(m, simd::max(bm0, bm1));
    simd::vf s0 = simd::mul(s, simd::exp_no_overflow(simd::sub(m, mnew))), s1 = simd::zero();
    simd::vf x0 = simd::zero(), x1 = simd::zero();
    for (int64_t i = 0; i < kBlock; i += 32) {
      const simd::vf a = simd::loadu(b + i), c = simd::loadu(b + i + 16);
      s0 = simd::add(s0, simd::exp_no_overflow(simd::sub(a, mnew)));
      s1 = simd::add(s1, simd::exp_no_overflow(simd::sub(c, mnew)));
      x0 = simd::add(x0, a);
      x1 = simd::add(x1, c);
    }
    s = simd::add(s0, s1);
    sx = simd::add(sx, simd::add(x0, x1));
    m = mnew;
  }
  // Tail (< 256 logits): one vector at a time, masked lanes read as -inf (exp gives 0) for the
  // max/sum and as 0 for the plain sum.
  for (; v0 < V; v0 += 16) {
    const simd::mask k = v0 + 16 <= V ? simd::kAll : simd::tail_mask(V - v0);
    const simd::vf a = simd::loadu(simd::set1(ninf), k, x + v0);
    const simd::vf mnew = simd::max(m, a);
    s = simd::add(simd::mul(s, simd::exp_no_overflow(simd::sub(m, mnew))),
                  simd::exp_no_overflow(simd::sub(a, mnew)));
    sx = simd::add(sx, simd::loadu(k, x + v0));
    m = mnew;
  }
  const float gm = simd::reduce_max(m);
  const simd::vf scaled = simd::mul(s, simd::exp_no_overflow(simd::sub(m, simd::set1(gm))));
  return {double(gm), double(simd::reduce_add(scaled)), double(simd::reduce_add(sx))};
}

// The full blocks of a row against one reference for the whole row, ref ln2 with ref the first
// block's max in octaves: exp_ref then needs no per-logit subtraction, and no block waits for
// its own max before its exps start (the per-lane max of each block is only checked, after it).
// A block with a logit more than kHeadroom above the reference raises it and runs again; a row
// with a block max beyond +-kFastLogit (or no full block) returns false for row_stats_general.
bool row_stats_fast(const float* x, int64_t V, const BlockExps* keep, RowStats* out) {
  const int64_t full = V / kBlock * kBlock;
  if (full == 0) return false;
  simd::vf first = simd::loadu(x);
  for (int64_t i = 16; i < kBlock; i += 16) first = simd::max(first, simd::loadu(x + i));
  const float m0 = simd::reduce_max(first);
  if (!(m0 >= -kFastLogit && m0 <= kFastLogit)) return false;
  int ref = int(std::nearbyint(double(m0) / kLn2));
  const float lowest = std::numeric_limits<float>::lowest();
  simd::vf s = simd::zero(), sx = simd::zero();
  for (int64_t v0 = 0; v0 < full; v0 += kBlock) {
    const float* b = x + v0;
    prefetch_ahead(b);
    float* e = keep != nullptr ? keep->exps + v0 : nullptr;
    for (;;) {
      const float at = float(double(ref) * kLn2);
      const simd::vf bias = simd::exp_ref_bias(ref), floor = simd::set1(at - 86.5f);
      simd::vf s0 = s, s1 = simd::zero(), x0 = simd::zero(), x1 = simd::zero();
      simd::vf bm0 = simd::set1(lowest), bm1 = bm0;
      for (int64_t i = 0; i < kBlock; i += 32) {
        const simd::vf a = simd::loadu(b + i), c = simd::loadu(b + i + 16);
        const simd::vf ea = simd::exp_ref(a, bias, floor), ec = simd::exp_ref(c, bias, floor);
        if (e != nullptr) {
          simd::storeu(e + i, ea);
          simd::storeu(e + i + 16, ec);
        }
        s0 = simd::add(s0, ea);
        s1 = simd::add(s1, ec);
        x0 = simd::add(x0, a);
        x1 = simd::add(x1, c);
        bm0 = simd::max(bm0, a);
        bm1 = simd::max(bm1, c);
      }
      const simd::vf bm = simd::max(bm0, bm1);
      if (simd::cmp_ge(simd::set1(at + kHeadroom), bm) == simd::kAll) {
        s = simd::add(s0, s1);
        sx = simd::add(sx, simd::add(x0, x1));
        if (keep != nullptr) keep->refs[v0 / kBlock] = ref;
        break;
      }
      // NaN lanes fail both comparisons: the general path has them.
      if (simd::cmp_ge(simd::set1(kFastLogit), bm) != simd::kAll) return false;
      const int raised = int(std::nearbyint(double(simd::reduce_max(bm)) / kLn2));
      s = simd::mul(s, simd::set1(std::ldexp(1.0f, ref - raised)));
      ref = raised;
    }
  }
  *out = {double(ref) * kLn2, double(simd::reduce_add(s)), double(simd::reduce_add(sx))};
  if (full < V) {
    // The tail (< 256 logits) by the general path, merged in double.
    const RowStats t = row_stats_general(x + full, V - full);
    const double m = std::max(out->max, t.max);
    *out = {m, out->sumexp * std::exp(out->max - m) + t.sumexp * std::exp(t.max - m),
            out->sumx + t.sumx};
  }
  return true;
}

// *kept says whether keep was filled (the fast path ran).
RowStats row_stats(const float* x, int64_t V, const BlockExps* keep, bool* kept) {
  RowStats st;
  *kept = row_stats_fast(x, V, keep, &st);
  return *kept ? st : row_stats_general(x, V);
}
RowStats row_stats(const float* x, int64_t V) {
  bool kept;
  return row_stats(x, V, nullptr, &kept);
}
#endif

// The row's log-sum-exp from its statistics; stores the row's loss. Combined in double:
// lse - x_t loses digits to cancellation when p_target is close to 1.
template <typename T>
inline double row_lse(const RowStats& st, double x_t, double eps, int64_t V, T* loss) {
  const double l = st.max + std::log(st.sumexp);
  // Without smoothing the mean of the logits is left out, not multiplied by 0: a masked class
  // (-inf) makes it -inf, and 0 * inf would turn the loss into NaN.
  const double smooth = eps == 0 ? 0.0 : eps * (l - st.sumx / double(V));
  *loss = T((1.0 - eps) * (l - x_t) + smooth);
  return l;
}

// One row of the forward: the row's loss and log-sum-exp (0 and 0 for an ignored row).
template <typename T>
inline void forward_row(T* loss, T* lse, const T* x, int64_t t, int64_t V, double eps,
                        int64_t ignore_index) {
  if (t == ignore_index) {
    *loss = 0;
    *lse = 0;
    return;
  }
  const double l = row_lse(row_stats(x, V), double(x[t]), eps, V, loss);
  *lse = T(l);
}

// One row of the backward: d (+= or =) g * (softmax(x) - ((1-eps) onehot(t) + eps/V)).
template <typename T>
inline void backward_row(T* d, const T* x, T g, T l, int64_t t, int64_t V, T label_smoothing,
                         int64_t ignore_index, bool accumulate, [[maybe_unused]] bool stream) {
  if (t == ignore_index) {
    if (!accumulate) std::fill(d, d + V, T(0));
    return;
  }
  const T off = g * label_smoothing / T(V);  // g * eps / V, subtracted everywhere
  if constexpr (std::is_same_v<T, float>) {
#if defined(SEEKFORGE_SIMD)
    const simd::vf gv = simd::set1(g), lv = simd::set1(l), ov = simd::set1(off);
    if (stream && reinterpret_cast<uintptr_t>(d) % 64 == 0 && V % 16 == 0) {
      // Overwrite of a buffer far bigger than cache: non-temporal stores skip the read for
      // ownership, so memory sees one read of the logits and one write of dlogits.
      for (int64_t v = 0; v < V; v += 16) {
        const simd::vf p = simd::exp_no_overflow(simd::sub(simd::loadu(x + v), lv));
        simd::stream(d + v, simd::fmsub(gv, p, ov));
      }
      simd::fence();  // order the streamed row before the scalar fix-up below
      d[t] -= g * (T(1) - label_smoothing);
      return;
    }
    for (int64_t v = 0; v < V; v += 16) {
      const simd::mask k = v + 16 <= V ? simd::kAll : simd::tail_mask(V - v);
      const simd::vf p = simd::exp_no_overflow(simd::sub(simd::loadu(k, x + v), lv));
      simd::vf r = simd::fmsub(gv, p, ov);
      if (accumulate) r = simd::add(r, simd::loadu(k, d + v));
      simd::storeu(d + v, k, r);
    }
    d[t] -= g * (T(1) - label_smoothing);
    return;
#endif
  }
  for (int64_t v = 0; v < V; ++v) {
    const T r = g * std::exp(x[v] - l) - off;
    d[v] = accumulate ? d[v] + r : r;
  }
  d[t] -= g * (T(1) - label_smoothing);
}

#if defined(SEEKFORGE_SIMD)
// The fused row for float: the forward half keeps its exps (row_stats with BlockExps), the
// backward half turns them into probabilities with one scalar exp per reference,
// p_v = exp(x_v - ref_b ln2) * exp(ref_b ln2 - lse), instead of one per logit. The tail
// (< 256 logits), and a row the fast path did not take, recompute their exps as backward_row does.
void forward_backward_row(float* loss, float* lse, float* d, const float* x, float g, int64_t t,
                          int64_t V, float label_smoothing, int64_t ignore_index, bool stream,
                          const BlockExps& keep) {
  if (t == ignore_index) {
    *loss = 0;
    *lse = 0;
    std::fill(d, d + V, 0.0f);
    return;
  }
  bool kept;
  const double l = row_lse(row_stats(x, V, &keep, &kept), double(x[t]), label_smoothing, V, loss);
  const float lf = float(l);
  *lse = lf;
  const bool nt = stream && reinterpret_cast<uintptr_t>(d) % 64 == 0;
  if (!kept) {
    backward_row(d, x, g, lf, t, V, label_smoothing, ignore_index, /*accumulate=*/false, nt);
    return;
  }
  const float off = g * label_smoothing / float(V);
  const simd::vf gv = simd::set1(g), lv = simd::set1(lf), ov = simd::set1(off);
  const int64_t full = V / kBlock * kBlock;
  int fref = std::numeric_limits<int>::min();  // no reference has that many octaves
  simd::vf f = simd::zero();
  for (int64_t v0 = 0; v0 < full; v0 += kBlock) {
    if (keep.refs[v0 / kBlock] != fref) {
      fref = keep.refs[v0 / kBlock];
      f = simd::set1(float(double(g) * std::exp(double(fref) * kLn2 - l)));
    }
    const float* e = keep.exps + v0;
    float* db = d + v0;
    if (nt) {
      // An overwrite of a buffer far bigger than cache: non-temporal stores skip the read for
      // ownership, so memory sees one read of the logits and one write of dlogits.
      for (int64_t i = 0; i < kBlock; i += 16)
        simd::stream(db + i, simd::fmsub(f, simd::loadu(e + i), ov));
    } else {
      for (int64_t i = 0; i < kBlock; i += 16)
        simd::storeu(db + i, simd::fmsub(f, simd::loadu(e + i), ov));
    }
  }
  for (int64_t v = full; v < V; v += 16) {
    const simd::mask k = v + 16 <= V ? simd::kAll : simd::tail_mask(V - v);
    const simd::vf p = simd::exp_no_overflow(simd::sub(simd::loadu(k, x + v), lv));
    simd::storeu(d + v, k, simd::fmsub(gv, p, ov));
  }
  if (nt) simd::fence();  // order the streamed row before the scalar fix-up below
  d[t] -= g * (1.0f - label_smoothing);
}
#endif

}  // namespace

template <typename T>
void cross_entropy_forward(T* losses, T* lse, const T* logits, const int64_t* targets, int64_t N,
                           int64_t V, T label_smoothing, int64_t ignore_index) {
#pragma omp parallel for schedule(dynamic, row_chunk(V))
  for (int64_t n = 0; n < N; ++n)
    forward_row(losses + n, lse + n, logits + n * V, targets[n], V, double(label_smoothing),
                ignore_index);
}

template <typename T>
void cross_entropy_backward(T* dlogits, const T* dloss, const T* logits, const T* lse,
                            const int64_t* targets, int64_t N, int64_t V, T label_smoothing,
                            int64_t ignore_index, bool accumulate) {
  // Forward: loss = (1-eps)(lse - x_t) + eps (lse - mean_v x_v); d lse / d x_v = softmax_v.
  const bool stream = !accumulate && N * V * int64_t(sizeof(T)) >= kStreamBytes;
#pragma omp parallel for schedule(dynamic, row_chunk(V))
  for (int64_t n = 0; n < N; ++n)
    backward_row(dlogits + n * V, logits + n * V, dloss[n], lse[n], targets[n], V, label_smoothing,
                 ignore_index, accumulate, stream);
}

template <typename T>
void cross_entropy_forward_backward(T* losses, T* lse, T* dlogits, const T* dloss, const T* logits,
                                    const int64_t* targets, int64_t N, int64_t V, T label_smoothing,
                                    int64_t ignore_index) {
  // Each row is read from memory once: the backward half finds what it needs in L2.
  const bool stream = N * V * int64_t(sizeof(T)) >= kStreamBytes;
#if defined(SEEKFORGE_SIMD)
  if constexpr (std::is_same_v<T, float>) {
#pragma omp parallel
    {
      // Per-thread row buffers (128 KiB + 512 B at V = 32768): they stay in L2.
      std::vector<float> exps(size_t(V / kBlock * kBlock));
      std::vector<int> refs(size_t(V / kBlock));
      const BlockExps keep{exps.data(), refs.data()};
#pragma omp for schedule(dynamic, row_chunk(V))
      for (int64_t n = 0; n < N; ++n) {
        forward_backward_row(losses + n, lse + n, dlogits + n * V, logits + n * V, dloss[n],
                             targets[n], V, label_smoothing, ignore_index, stream, keep);
      }
    }
    return;
  }
#endif
#pragma omp parallel for schedule(dynamic, row_chunk(V))
  for (int64_t n = 0; n < N; ++n) {
    const T* x = logits + n * V;
    forward_row(losses + n, lse + n, x, targets[n], V, double(label_smoothing), ignore_index);
    backward_row(dlogits + n * V, x, dloss[n], lse[n], targets[n], V, label_smoothing, ignore_index,
                 /*accumulate=*/false, stream);
  }
}

// ---- naive twins ----
// exp, log and sums in double: the oracle is more accurate than the kernels it checks.

template <typename T>
void cross_entropy_forward_naive(T* losses, T* lse, const T* logits, const int64_t* targets,
                                 int64_t N, int64_t V, T label_smoothing, int64_t ignore_index) {
  for (int64_t n = 0; n < N; ++n) {
    losses[n] = 0;
    lse[n] = 0;
    if (targets[n] == ignore_index) continue;
    const T* x = logits + n * V;
    T m = x[0];
    for (int64_t v = 1; v < V; ++v) m = std::max(m, x[v]);
    double s = 0;
    for (int64_t v = 0; v < V; ++v) s += std::exp(double(x[v]) - m);
    const double l = m + std::log(s);
    double smooth = 0;  // sum_v -log p_v
    for (int64_t v = 0; v < V; ++v) smooth += l - x[v];
    const double eps = label_smoothing;
    lse[n] = T(l);
    losses[n] = T((1 - eps) * (l - x[targets[n]]) + (eps == 0 ? 0.0 : eps * smooth / double(V)));
  }
}

template <typename T>
void cross_entropy_backward_naive(T* dlogits, const T* dloss, const T* logits, const T* lse,
                                  const int64_t* targets, int64_t N, int64_t V, T label_smoothing,
                                  int64_t ignore_index, bool accumulate) {
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t v = 0; v < V; ++v) {
      T r = 0;
      if (targets[n] != ignore_index) {
        const double eps = label_smoothing;
        const double q = (v == targets[n] ? 1 - eps : 0.0) + eps / double(V);
        r = T(dloss[n] * (std::exp(double(logits[n * V + v]) - lse[n]) - q));
      }
      dlogits[n * V + v] = accumulate ? dlogits[n * V + v] + r : r;
    }
  }
}

#define SF_INSTANTIATE(T)                                                                          \
  template void cross_entropy_forward<T>(T*, T*, const T*, const int64_t*, int64_t, int64_t, T,    \
                                         int64_t);                                                 \
  template void cross_entropy_backward<T>(T*, const T*, const T*, const T*, const int64_t*,        \
                                          int64_t, int64_t, T, int64_t, bool);                     \
  template void cross_entropy_forward_backward<T>(T*, T*, T*, const T*, const T*, const int64_t*,  \
                                                  int64_t, int64_t, T, int64_t);                   \
  template void cross_entropy_forward_naive<T>(T*, T*, const T*, const int64_t*, int64_t, int64_t, \
                                               T, int64_t);                                        \
  template void cross_entropy_backward_naive<T>(T*, const T*, const T*, const T*, const int64_t*,  \
                                                int64_t, int64_t, T, int64_t, bool);
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace seekforge::kernels
