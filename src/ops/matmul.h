// Differentiable matrix products, all through kernels::gemm (oneDNN for f32/bf16, a blocked
// loop for the f64 gradient checks). Transposed operands (views whose last two dims are swapped)
// are passed to the GEMM as transposes, never copied.
#pragma once

#include "core/tensor.h"

namespace seekforge::ops {

// a [..., m, k] @ b [..., k, n] -> [..., m, n], batch dims broadcast; 1-d operands as in
// torch.matmul. f32 or f64 operands of one dtype; bf16 @ bf16 gives f32 (no gradient).
Tensor matmul(const Tensor& a, const Tensor& b);
// x [..., in] @ weight[out, in]^T (+ bias [out]) -> [..., out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace seekforge::ops
