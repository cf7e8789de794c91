// Softmax and log-softmax over one dimension, fused forward and backward.
#pragma once

#include "core/tensor.h"

namespace seekforge::ops {

Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);

}  // namespace seekforge::ops
