// Fused optimiser kernels over flat float/double buffers: AdamW, SGD with momentum, and the
// deterministic sum of squares + scale used for global gradient-norm clipping.
//
// Not here: parameter groups, schedules, state (de)serialisation or ZeRO sharding (src/optim).
// Each call takes a list of segments (one per parameter tensor, or one for a flat buffer) and
// runs ONE OpenMP region over all of them: the concatenated index space is cut into blocks
// handed to the threads. Updates are elementwise, so bitwise repeatable for any thread count;
// the sum of squares splits statically and is repeatable for a fixed thread count. Buffers are
// borrowed, not owned; the segments must not overlap.
#pragma once

#include <cstdint>

namespace seekforge::kernels {

// One parameter tensor's AdamW slice: p, m, v updated in place from g. lr and wd per segment so
// parameter groups (e.g. no decay on norms) go in the same call.
template <typename T>
struct AdamWSegment {
  T* p;
  const T* g;
  T* m;  // exp_avg
  T* v;  // exp_avg_sq
  int64_t n;
  double lr;
  double weight_decay;
};

struct AdamWHyper {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  int64_t step = 1;  // the step being taken, counting from 1 (bias corrections 1 - beta^step)
};

// torch.optim.AdamW (PyTorch 1.13, single-tensor path), in its arithmetic order:
//   p *= 1 - lr wd;  m = m b1 + (1 - b1) g;  v = v b2 + (1 - b2) g g;
//   p += -(lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
// Scalars are formed in double as Python does, then rounded to T once.
template <typename T>
void adamw_step(const AdamWSegment<T>* segs, int nsegs, const AdamWHyper& h);
template <typename T>
void adamw_step_naive(const AdamWSegment<T>* segs, int nsegs, const AdamWHyper& h);

template <typename T>
struct SgdSegment {
  T* p;
  const T* g;
  T* buf;  // momentum buffer (unused when momentum == 0)
  int64_t n;
  double lr;
  double weight_decay;
};

struct SgdHyper {
  double momentum = 0.0;
  bool nesterov = false;
  bool first_step = false;  // PyTorch initialises the buffer to d_p on the first step
};

// torch.optim.SGD with dampening 0: d = g + wd p; buf = first ? d : momentum buf + d;
// d = nesterov ? d + momentum buf : buf; p -= lr d.
template <typename T>
void sgd_step(const SgdSegment<T>* segs, int nsegs, const SgdHyper& h);
template <typename T>
void sgd_step_naive(const SgdSegment<T>* segs, int nsegs, const SgdHyper& h);

template <typename T>
struct Span {
  T* data;
  int64_t n;
};

// Sum of squares over all segments, accumulated in double; per-thread partials added in thread
// order (deterministic for a fixed thread count). sqrt of it is the global gradient norm.
template <typename T>
double sum_squares(const Span<const T>* segs, int nsegs);
template <typename T>
double sum_squares_naive(const Span<const T>* segs, int nsegs);

// x *= s over all segments (s rounded to T once), e.g. the clip factor max_norm / (norm + 1e-6).
template <typename T>
void scale(const Span<T>* segs, int nsegs, double s);

}  // namespace seekforge::kernels
