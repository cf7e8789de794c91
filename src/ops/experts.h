// The routed experts of a MoE layer as one differentiable op: every expert's SwiGLU
// (down(silu(gate(x)) * up(x))) on its own rows of a grouped input, forward and backward in one
// node.
//
// Why one op: composed from linear/swiglu/split/concat, E experts record ~10 nodes each, every
// one with its own allocations and gradient buffers; here the backward walks the experts once,
// GEMMs on raw rows (kernels::gemm) and the SwiGLU kernel in between, and hands each weight its
// gradient directly. The arithmetic is the composed one, operation for operation.
//
// Not here: routing, dispatch (index_select into expert order) and the weighted combine, which
// stay ordinary ops in nn/moe.cpp.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace seekforge::ops {

// xs [A, D]: the rows of expert e are the counts[e] rows after those of experts 0..e-1
// (sum(counts) = A). gate[e], up[e]: [H, D]; down[e]: [D, H] (PyTorch's Linear layout).
// Returns ys [A, D], ys_e = down_e(silu(xs_e gate_e^T) * (xs_e up_e^T)). f32 or f64, all one dtype;
// under autocast (ops/autocast.h) the GEMMs of f32 inputs run on 16-bit copies of x, h, the
// weights and the incoming gradients, accumulating in f32.
Tensor expert_swiglu(const Tensor& xs, const std::vector<int64_t>& counts,
                     const std::vector<Tensor>& gate, const std::vector<Tensor>& up,
                     const std::vector<Tensor>& down);

}  // namespace seekforge::ops
