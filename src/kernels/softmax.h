// Softmax and log-softmax over the last dimension of x [N, C] (C contiguous), forward and
// backward. Not here: masking, temperature or attention (the attention kernels fuse their own
// softmax), nor Tensor/dtype handling (ops layer).
//
// Templates for float and double; the float path uses the AVX-512 exp from vec_math.h. OpenMP
// over rows, rows independent, bitwise repeatable. Backward ACCUMULATES (+=) into dx.
#pragma once

#include <cstdint>

namespace seekforge::kernels {

//   y [N, C] (out: softmax(x) per row), x [N, C].
template <typename T>
void softmax_forward(T* y, const T* x, int64_t N, int64_t C);
//   dx [N, C] (+=), y [N, C] the forward output, dy [N, C].
template <typename T>
void softmax_backward(T* dx, const T* y, const T* dy, int64_t N, int64_t C);

//   y [N, C] (out: x - logsumexp(x) per row), x [N, C].
template <typename T>
void log_softmax_forward(T* y, const T* x, int64_t N, int64_t C);
//   dx [N, C] (+=), y [N, C] the forward output, dy [N, C].
template <typename T>
void log_softmax_backward(T* dx, const T* y, const T* dy, int64_t N, int64_t C);

// Naive twins: same arguments, scalar single-threaded loops with std::exp.
template <typename T>
void softmax_forward_naive(T* y, const T* x, int64_t N, int64_t C);
template <typename T>
void softmax_backward_naive(T* dx, const T* y, const T* dy, int64_t N, int64_t C);
template <typename T>
void log_softmax_forward_naive(T* y, const T* x, int64_t N, int64_t C);
template <typename T>
void log_softmax_backward_naive(T* dx, const T* y, const T* dy, int64_t N, int64_t C);

}  // namespace seekforge::kernels
