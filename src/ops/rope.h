// Rotary position embedding (rotate-half convention) as one op.
#pragma once

#include "core/tensor.h"

namespace seekforge::ops {

// x [B, T, H, hd]: rotates dims [offset, offset + rot_dim) of every head (rot_dim = 0 means all
// of hd, the usual case; MLA rotates only its decoupled part) by angle (start_pos + t) *
// theta^(-2j/rot_dim) on pairs (j, j + rot_dim/2). Other dims pass through.
Tensor rope(const Tensor& x, int64_t start_pos, double theta, int64_t rot_dim = 0,
            int64_t offset = 0);

}  // namespace seekforge::ops
