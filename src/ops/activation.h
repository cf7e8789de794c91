// Fused gated activation: SwiGLU, silu(gate) * up, one op with one backward pass.
#pragma once

#include "core/tensor.h"

namespace seekforge::ops {

// gate and up of one shape: silu(gate) * up.
Tensor swiglu(const Tensor& gate, const Tensor& up);

}  // namespace seekforge::ops
