// Differentiable layout ops: views that share storage (reshape when possible, permute, narrow,
// expand, squeeze, unsqueeze, select) and contiguous(). Their backward moves the gradient back
// through the inverse layout change.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace seekforge::ops {

Tensor reshape(const Tensor& x, Shape shape);  // a view when x is contiguous, else a copy
Tensor view(const Tensor& x, Shape shape);     // contiguous x only
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor expand(const Tensor& x, const Shape& shape);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor contiguous(const Tensor& x);

}  // namespace seekforge::ops
