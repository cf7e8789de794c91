// Fused normalisations over the last dimension, each a single op with a hand-written backward:
// RMSNorm and LayerNorm.
#pragma once

#include "core/tensor.h"

namespace seekforge::ops {

// x [..., C], weight [C]: x / sqrt(mean(x^2) + eps) * weight.
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps = 1e-6);
// x [..., C], weight [C], bias [C] (may be undefined): (x - mean) / sqrt(var + eps) * w + b.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

}  // namespace seekforge::ops
