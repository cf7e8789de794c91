// SwiGLU gate: h = silu(g) * u elementwise, silu(g) = g * sigmoid(g), forward and backward.
// Not here: the gate/up/down projections (GEMMs in the ops layer) or other GLU variants.
// Templates for float and double (float uses the AVX-512 exp); OpenMP over element blocks;
// elementwise, so deterministic. Backward ACCUMULATES (+=) into dg and du.
#pragma once

#include <cstdint>

namespace seekforge::kernels {

//   h [n] (out), g [n], u [n].
template <typename T>
void swiglu_forward(T* h, const T* g, const T* u, int64_t n);
//   dg [n] (+=), du [n] (+=), dh [n], g [n], u [n].
template <typename T>
void swiglu_backward(T* dg, T* du, const T* dh, const T* g, const T* u, int64_t n);

template <typename T>
void swiglu_forward_naive(T* h, const T* g, const T* u, int64_t n);
template <typename T>
void swiglu_backward_naive(T* dg, T* du, const T* dh, const T* g, const T* u, int64_t n);

}  // namespace seekforge::kernels
