// Optimiser kernels (see adamw.h). AdamW moves 7 words per element (reads p, g, m, v; writes
// p, m, v) and does a sqrt and a divide: far below the core's arithmetic rate, so one streaming
// pass at memory bandwidth is the whole design.
#include "kernels/adamw.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/vec_math.h"

namespace seekforge::kernels {
namespace {

constexpr int kMaxThreads = 256;

// Calls fn(segment index, begin, end) for this thread's share of the concatenated elements of
// all segments: fixed for a fixed thread count and segment list.
template <typename Seg, typename Fn>
void for_my_share(const Seg* segs, int nsegs, Fn fn) {
  int64_t total = 0;
  for (int s = 0; s < nsegs; ++s) total += segs[s].n;
  const Range r = split_range(total, omp_get_num_threads(), omp_get_thread_num());
  int64_t seg_start = 0;
  for (int s = 0; s < nsegs && seg_start < r.end; ++s) {
    const int64_t seg_end = seg_start + segs[s].n;
    const int64_t b = std::max(r.begin, seg_start), e = std::min(r.end, seg_end);
    if (b < e) fn(s, b - seg_start, e - seg_start);
    seg_start = seg_end;
  }
}

// Calls fn(segment index, begin, end) for every piece of the concatenated elements of all
// segments, in blocks handed out dynamically (elementwise updates: any assignment gives the
// same bits). A block scans the segment list from the start: nsegs is small next to a block.
template <typename Seg, typename Fn>
void for_blocks(const Seg* segs, int nsegs, Fn fn) {
  constexpr int64_t kBlock = 65536;
  int64_t total = 0;
  for (int s = 0; s < nsegs; ++s) total += segs[s].n;
  const int64_t blocks = (total + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t rb = blk * kBlock, re = std::min(total, rb + kBlock);
    int64_t seg_start = 0;
    for (int s = 0; s < nsegs && seg_start < re; ++s) {
      const int64_t seg_end = seg_start + segs[s].n;
      const int64_t b = std::max(rb, seg_start), e = std::min(re, seg_end);
      if (b < e) fn(s, b - seg_start, e - seg_start);
      seg_start = seg_end;
    }
  }
}

struct AdamWScalars {
  double decay, step_size_neg, bc2_sqrt;
};

AdamWScalars adamw_scalars(const AdamWHyper& h, double lr, double wd) {
  const double bc1 = 1.0 - std::pow(h.beta1, double(h.step));
  const double bc2 = 1.0 - std::pow(h.beta2, double(h.step));
  return {1.0 - lr * wd, -(lr / bc1), std::sqrt(bc2)};
}

}  // namespace

template <typename T>
void adamw_step(const AdamWSegment<T>* segs, int nsegs, const AdamWHyper& h) {
  const T b1 = T(h.beta1), b2 = T(h.beta2), omb1 = T(1.0 - h.beta1), omb2 = T(1.0 - h.beta2);
  const T eps = T(h.eps);
  for_blocks(segs, nsegs, [&](int s, int64_t b, int64_t e) {
    const AdamWSegment<T>& sg = segs[s];
    const AdamWScalars k = adamw_scalars(h, sg.lr, sg.weight_decay);
    const T decay = T(k.decay), step_neg = T(k.step_size_neg), bc2s = T(k.bc2_sqrt);
    T* __restrict p = sg.p;
    const T* __restrict g = sg.g;
    T* __restrict m = sg.m;
    T* __restrict v = sg.v;
#if defined(SEEKFORGE_SIMD)
    if constexpr (std::is_same_v<T, float>) {
      // Intrinsics, not a simd loop: GCC will not vectorise std::sqrt while it may set errno.
      // Same operation order as the scalar loop below (PyTorch's): no contraction except the
      // fma that PyTorch's add_(alpha) kernel itself uses.
      const simd::vf vdecay = simd::set1(decay), vstep = simd::set1(step_neg);
      const simd::vf vbc2s = simd::set1(bc2s), veps = simd::set1(eps);
      const simd::vf vb1 = simd::set1(b1), vb2 = simd::set1(b2);
      const simd::vf vomb1 = simd::set1(omb1), vomb2 = simd::set1(omb2);
      for (int64_t i = b; i < e; i += 16) {
        const simd::mask k = i + 16 <= e ? simd::kAll : simd::tail_mask(e - i);
        const simd::vf gi = simd::loadu(k, g + i);
        const simd::vf pi = simd::mul(simd::loadu(k, p + i), vdecay);
        const simd::vf mi = simd::fmadd(gi, vomb1, simd::mul(simd::loadu(k, m + i), vb1));
        const simd::vf vi =
            simd::add(simd::mul(simd::loadu(k, v + i), vb2), simd::mul(simd::mul(vomb2, gi), gi));
        const simd::vf denom = simd::add(simd::div(simd::sqrt(vi), vbc2s), veps);
        simd::storeu(p + i, k, simd::add(pi, simd::div(simd::mul(vstep, mi), denom)));
        simd::storeu(m + i, k, mi);
        simd::storeu(v + i, k, vi);
      }
      return;
    }
#endif
    for (int64_t i = b; i < e; ++i) {
      const T gi = g[i];
      const T pi = p[i] * decay;
      // PyTorch's add_(alpha) and addcmul_ kernels: m*b1 then fma(g, 1-b1, .); v*b2 + (1-b2)*g*g.
      const T mi = std::fma(gi, omb1, m[i] * b1);
      const T vi = v[i] * b2 + omb2 * gi * gi;
      const T denom = std::sqrt(vi) / bc2s + eps;
      p[i] = pi + step_neg * mi / denom;
      m[i] = mi;
      v[i] = vi;
    }
  });
}

template <typename T>
void adamw_step_naive(const AdamWSegment<T>* segs, int nsegs, const AdamWHyper& h) {
  for (int s = 0; s < nsegs; ++s) {
    const AdamWSegment<T>& sg = segs[s];
    const AdamWScalars k = adamw_scalars(h, sg.lr, sg.weight_decay);
    for (int64_t i = 0; i < sg.n; ++i) {
      sg.p[i] = sg.p[i] * T(k.decay);
      sg.m[i] = std::fma(sg.g[i], T(1.0 - h.beta1), sg.m[i] * T(h.beta1));
      sg.v[i] = sg.v[i] * T(h.beta2) + T(1.0 - h.beta2) * sg.g[i] * sg.g[i];
      const T denom = std::sqrt(sg.v[i]) / T(k.bc2_sqrt) + T(h.eps);
      sg.p[i] = sg.p[i] + T(k.step_size_neg) * sg.m[i] / denom;
    }
  }
}

template <typename T>
void sgd_step(const SgdSegment<T>* segs, int nsegs, const SgdHyper& h) {
  const T mom = T(h.momentum);
  const bool use_mom = h.momentum != 0.0, first = h.first_step, nesterov = h.nesterov;
  for_blocks(segs, nsegs, [&](int s, int64_t b, int64_t e) {
    const SgdSegment<T>& sg = segs[s];
    const T wd = T(sg.weight_decay), neg_lr = T(-sg.lr);
    T* __restrict p = sg.p;
    const T* __restrict g = sg.g;
    T* __restrict buf = sg.buf;
#pragma omp simd
    for (int64_t i = b; i < e; ++i) {
      T d = sg.weight_decay != 0.0 ? std::fma(p[i], wd, g[i]) : g[i];
      if (use_mom) {
        const T bi = first ? d : std::fma(mom, buf[i], d);
        buf[i] = bi;
        d = nesterov ? std::fma(bi, mom, d) : bi;
      }
      p[i] = std::fma(d, neg_lr, p[i]);
    }
  });
}

template <typename T>
void sgd_step_naive(const SgdSegment<T>* segs, int nsegs, const SgdHyper& h) {
  for (int s = 0; s < nsegs; ++s) {
    const SgdSegment<T>& sg = segs[s];
    for (int64_t i = 0; i < sg.n; ++i) {
      T d = sg.g[i];
      if (sg.weight_decay != 0.0) d = std::fma(sg.p[i], T(sg.weight_decay), d);
      if (h.momentum != 0.0) {
        sg.buf[i] = h.first_step ? d : std::fma(T(h.momentum), sg.buf[i], d);
        d = h.nesterov ? std::fma(sg.buf[i], T(h.momentum), d) : sg.buf[i];
      }
      sg.p[i] = std::fma(d, T(-sg.lr), sg.p[i]);
    }
  }
}

template <typename T>
double sum_squares(const Span<const T>* segs, int nsegs) {
  double partial[kMaxThreads] = {};
  int nt_used = 1;
#pragma omp parallel num_threads(std::min(omp_get_max_threads(), kMaxThreads))
  {
    double acc = 0;
    for_my_share(segs, nsegs, [&](int s, int64_t b, int64_t e) {
      const T* x = segs[s].data;
      // Blocks of 1024 summed in T lanes, then added in double: cheap and keeps float error
      // at the level of one block, not the whole buffer.
      for (int64_t b0 = b; b0 < e; b0 += 1024) {
        const int64_t e0 = std::min(e, b0 + 1024);
        T blk = 0;
#pragma omp simd reduction(+ : blk)
        for (int64_t i = b0; i < e0; ++i) blk += x[i] * x[i];
        acc += double(blk);
      }
    });
    partial[omp_get_thread_num()] = acc;
#pragma omp single
    nt_used = omp_get_num_threads();
  }
  double total = 0;
  for (int t = 0; t < nt_used; ++t) total += partial[t];
  return total;
}

template <typename T>
double sum_squares_naive(const Span<const T>* segs, int nsegs) {
  double total = 0;
  for (int s = 0; s < nsegs; ++s)
    for (int64_t i = 0; i < segs[s].n; ++i) total += double(segs[s].data[i]) * segs[s].data[i];
  return total;
}

template <typename T>
void scale(const Span<T>* segs, int nsegs, double s) {
  const T k = T(s);
  for_blocks(segs, nsegs, [&](int i, int64_t b, int64_t e) {
    T* x = segs[i].data;
#pragma omp simd
    for (int64_t j = b; j < e; ++j) x[j] *= k;
  });
}

#define SF_INSTANTIATE(T)                                                            \
  template void adamw_step<T>(const AdamWSegment<T>*, int, const AdamWHyper&);       \
  template void adamw_step_naive<T>(const AdamWSegment<T>*, int, const AdamWHyper&); \
  template void sgd_step<T>(const SgdSegment<T>*, int, const SgdHyper&);             \
  template void sgd_step_naive<T>(const SgdSegment<T>*, int, const SgdHyper&);       \
  template double sum_squares<T>(const Span<const T>*, int);                         \
  template double sum_squares_naive<T>(const Span<const T>*, int);                   \
  template void scale<T>(const Span<T>*, int, double);
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace seekforge::kernels
