// The backward pass: runs the tape from some roots to the leaves.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace seekforge::autograd {

// grads[i] is the upstream gradient of roots[i]; undefined means ones (scalars only).
// retain_graph keeps saved tensors so the same graph can run backward again.
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
              bool retain_graph = false);

}  // namespace seekforge::autograd
