// Elementwise activations on flat buffers of n elements: SiLU and GELU (tanh approximation and
// exact erf form), forward and backward. Not here: fused gates (swiglu.h) or in-place variants.
// Templates for float and double; OpenMP over blocks of elements (any assignment of blocks to
// threads gives the same bits, see vec_math.h); deterministic. Backward ACCUMULATES (+=).
#pragma once

#include <cstdint>

namespace seekforge::kernels {

//   y [n] (out), x [n]: y = x * sigmoid(x).
template <typename T>
void silu_forward(T* y, const T* x, int64_t n);
//   dx [n] (+=), dy [n], x [n].
template <typename T>
void silu_backward(T* dx, const T* dy, const T* x, int64_t n);

// GELU, tanh form: y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (PyTorch
// approximate="tanh").
template <typename T>
void gelu_tanh_forward(T* y, const T* x, int64_t n);
template <typename T>
void gelu_tanh_backward(T* dx, const T* dy, const T* x, int64_t n);

// GELU, exact: y = 0.5 x (1 + erf(x / sqrt(2))) (PyTorch approximate="none").
template <typename T>
void gelu_erf_forward(T* y, const T* x, int64_t n);
template <typename T>
void gelu_erf_backward(T* dx, const T* dy, const T* x, int64_t n);

// Naive twins (std::exp, std::tanh, std::erf; single-threaded).
template <typename T>
void silu_forward_naive(T* y, const T* x, int64_t n);
template <typename T>
void silu_backward_naive(T* dx, const T* dy, const T* x, int64_t n);
template <typename T>
void gelu_tanh_forward_naive(T* y, const T* x, int64_t n);
template <typename T>
void gelu_tanh_backward_naive(T* dx, const T* dy, const T* x, int64_t n);
template <typename T>
void gelu_erf_forward_naive(T* y, const T* x, int64_t n);
template <typename T>
void gelu_erf_backward_naive(T* dx, const T* dy, const T* x, int64_t n);

}  // namespace seekforge::kernels
