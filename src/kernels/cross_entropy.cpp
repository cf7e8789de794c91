// Fused cross-entropy kernels (see cross_entropy.h). At V = 32768 a row is 128 KiB: bigger than
// L1, so the forward cannot afford a max pass followed by an exp pass over the row from memory.
// It keeps a running max and a rescaled sum per lane instead, rescaling once per block of 256
// logits (the block is re-read from L1 for the exp), so memory sees each logit once. On a CPU
// without AVX-512 the forward is bound by the exp, not by memory (one exp per logit); the
// training kernel therefore keeps each block's exps in a per-thread row buffer (L2-resident)
// and rescales them in its backward half instead of computing a second exp per logit.
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
constexpr int64_t kPrefetchAhead = 1024;

// Per-block state the fused kernel keeps between its two halves: the exps of every full block,
// exp(x_v - max_b[lane]), and each block's per-lane running max max_b.
struct BlockExps {
  float* exps;   // [V rounded down to kBlock]
  float* maxes;  // [V / kBlock][16]
};

RowStats row_stats(const float* x, int64_t V, const BlockExps* keep = nullptr) {
  // lowest(), not -inf: a lane that has seen no logit yet then rescales by exp(0) (its sum is
  // 0 anyway) instead of by exp(-inf - -inf) = NaN.
  const float lowest = std::numeric_limits<float>::lowest();
  const float ninf = -std::numeric_limits<float>::infinity();
  simd::vf m = simd::set1(lowest), s = simd::zero(), sx = simd::zero();
  int64_t v0 = 0;
  for (; v0 + kBlock <= V; v0 += kBlock) {
    const float* b = x + v0;
    for (int64_t i = 0; i < kBlock; i += 16) {
      _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchAhead + i), _MM_HINT_T0);
    }
    simd::vf bm0 = simd::loadu(b), bm1 = simd::loadu(b + 16);
    for (int64_t i = 32; i < kBlock; i += 32) {
      bm0 = simd::max(bm0, simd::loadu(b + i));
      bm1 = simd::max(bm1, simd::loadu(b + i + 16));
    }
    const simd::vf mnew = simd::max(m, simd::max(bm0, bm1));
    simd::vf s0 = simd::mul(s, simd::exp_no_overflow(simd::sub(m, mnew))), s1 = simd::zero();
    simd::vf x0 = simd::zero(), x1 = simd::zero();
    float* e = keep != nullptr ? keep->exps + v0 : nullptr;
    for (int64_t i = 0; i < kBlock; i += 32) {
      const simd::vf a = simd::loadu(b + i), c = simd::loadu(b + i + 16);
      const simd::vf ea = simd::exp_no_overflow(simd::sub(a, mnew)),
                     ec = simd::exp_no_overflow(simd::sub(c, mnew));
      if (e != nullptr) {
        simd::storeu(e + i, ea);
        simd::storeu(e + i + 16, ec);
      }
      s0 = simd::add(s0, ea);
      s1 = simd::add(s1, ec);
      x0 = simd::add(x0, a);
      x1 = simd::add(x1, c);
    }
    if (keep != nullptr) simd::storeu(keep->maxes + v0 / kBlock * simd::kLanes, mnew);
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
#endif

// The row's log-sum-exp from its statistics; stores the row's loss. Combined in double:
// lse - x_t loses digits to cancellation when p_target is close to 1.
template <typename T>
inline double row_lse(const RowStats& st, double x_t, double eps, int64_t V, T* loss) {
  const double l = st.max + std::log(st.sumexp);
  *loss = T((1.0 - eps) * (l - x_t) + eps * (l - st.sumx / double(V)));
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
// backward half turns them into probabilities with one exp per block and lane,
// p_v = exp(x_v - max_b) * exp(max_b - lse), instead of one per logit. The tail (< 256 logits)
// recomputes its exps as backward_row does.
void forward_backward_row(float* loss, float* lse, float* d, const float* x, float g, int64_t t,
                          int64_t V, float label_smoothing, int64_t ignore_index, bool stream,
                          const BlockExps& keep) {
  if (t == ignore_index) {
    *loss = 0;
    *lse = 0;
    std::fill(d, d + V, 0.0f);
    return;
  }
  const float lf = float(row_lse(row_stats(x, V, &keep), double(x[t]), label_smoothing, V, loss));
  *lse = lf;
  const float off = g * label_smoothing / float(V);
  const simd::vf gv = simd::set1(g), lv = simd::set1(lf), ov = simd::set1(off);
  const bool nt = stream && reinterpret_cast<uintptr_t>(d) % 64 == 0;
  const int64_t full = V / kBlock * kBlock;
  for (int64_t v0 = 0; v0 < full; v0 += kBlock) {
    const simd::vf f = simd::mul(
        gv,
        simd::exp_no_overflow(simd::sub(simd::loadu(keep.maxes + v0 / kBlock * simd::kLanes), lv)));
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
      // Per-thread row buffers (128 KiB + 8 KiB at V = 32768): they stay in L2.
      std::vector<float> exps(size_t(V / kBlock * kBlock));
      std::vector<float> maxes(size_t(V / kBlock * simd::kLanes));
      const BlockExps keep{exps.data(), maxes.data()};
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
    losses[n] = T((1 - eps) * (l - x[targets[n]]) + eps * smooth / double(V));
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
