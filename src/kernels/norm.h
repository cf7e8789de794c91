// Row normalisations on x [N, C] (C contiguous): RMSNorm and LayerNorm, forward and backward.
//
// Not here: anything about Tensors, autograd or dtype dispatch (the ops layer), and no other
// normalisation (group/batch norm). Every kernel is a template instantiated for float and double;
// the `_naive` twins are the plain textbook loops the tests compare against.
//
// Threads: OpenMP over rows. Backward splits rows statically and sums the weight/bias gradients
// per thread into stack partials reduced in thread order, so results are bitwise identical run
// to run for a fixed thread count. Backward ACCUMULATES (+=) into dx, dw, db; the caller zeroes
// them.
#pragma once

#include <cstdint>

namespace seekforge::kernels {

// RMSNorm: y = x / sqrt(mean(x^2) + eps) * w.
//   y [N, C] (out), rstd [N] (out: 1/sqrt(mean(x^2) + eps), kept for backward),
//   x [N, C], w [C].
template <typename T>
void rmsnorm_forward(T* y, T* rstd, const T* x, const T* w, int64_t N, int64_t C, T eps);
//   dx [N, C] (+=), dw [C] (+=), dy [N, C], x [N, C], w [C], rstd [N] from forward.
template <typename T>
void rmsnorm_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, const T* rstd, int64_t N,
                      int64_t C);

// LayerNorm: y = (x - mean) / sqrt(var + eps) * w + b, var the biased variance.
//   y [N, C] (out), mean [N] (out), rstd [N] (out), x [N, C], w [C], b [C].
template <typename T>
void layernorm_forward(T* y, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t N,
                       int64_t C, T eps);
//   dx [N, C] (+=), dw [C] (+=), db [C] (+=), dy [N, C], x [N, C], w [C], mean, rstd [N].
template <typename T>
void layernorm_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, const T* mean,
                        const T* rstd, int64_t N, int64_t C);

// Naive twins: same arguments, single-threaded scalar loops.
template <typename T>
void rmsnorm_forward_naive(T* y, T* rstd, const T* x, const T* w, int64_t N, int64_t C, T eps);
template <typename T>
void rmsnorm_backward_naive(T* dx, T* dw, const T* dy, const T* x, const T* w, const T* rstd,
                            int64_t N, int64_t C);
template <typename T>
void layernorm_forward_naive(T* y, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t N,
                             int64_t C, T eps);
template <typename T>
void layernorm_backward_naive(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w,
                              const T* mean, const T* rstd, int64_t N, int64_t C);

}  // namespace seekforge::kernels
