// Differentiable reductions over dimensions: sum, mean, max (values and indices), argmax,
// logsumexp; and sum_to, which undoes broadcasting in backward passes.
//
// Reductions are deterministic: each output is summed in a fixed order (blocks of fixed size,
// combined in order, in double precision for f32), whatever the thread count.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace seekforge::ops {

Tensor sum(const Tensor& x);  // all elements: a 0-d tensor
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
struct MaxResult {
  Tensor values;
  Tensor indices;  // i64
};
MaxResult max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor logsumexp(const Tensor& x, int64_t dim, bool keepdim = false);

// `grad` summed over the dims that broadcasting expanded to reach grad's shape from `shape`.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace seekforge::ops
