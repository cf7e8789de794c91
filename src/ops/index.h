// Differentiable indexing ops with PyTorch semantics: gather, scatter_add, index_select,
// index_add, embedding, topk, where, masked_fill, cumsum, dropout, concat, split, stack.
//
// Values are f32 or f64 (concat/split/stack take any dtype); indices are i64 (i32 is accepted
// and widened). Every index is checked before any data is read: an out-of-range index throws a
// seekforge::Error naming the op, the index value and the input's shape. Negative indices are
// out of range (as in PyTorch's gather / index_select / embedding).
//
// Out-of-place only: ops that PyTorch names with a trailing underscore (scatter_add_,
// index_add_) return a new tensor here. Backward passes are deterministic whatever the thread
// count (no float atomics; each gradient element is summed in index order).
//
// What this is not: no sparse gradients (embedding's weight gradient is dense [V, D]), no
// advanced (tensor-of-tensors) indexing.
#pragma once

#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace seekforge::ops {

// out[i][j][k] = x[i][index[i][j][k]][k] (dim = 1). index has x's rank; index.size(d) <=
// x.size(d) for d != dim; out has index's shape. Backward: scatter-add into zeros like x.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);

// A copy of x with src added at the indexed places: out[i][index[i][j][k]][k] += src[i][j][k]
// (dim = 1). index.size(d) <= src.size(d) for all d, <= x.size(d) for d != dim; only the
// index-shaped corner of src is used. Grads: x <- g, src <- gather(g, dim, index) (zero outside
// the corner).
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);

// x's slices at the given positions along dim; index is 1-d (or 0-d). Backward: index_add.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);

// A copy of x with src's slices added at the given positions along dim:
// out.select(dim, index[j]) += src.select(dim, j). src has x's shape except size(dim) =
// index.numel(). Grads: x <- g, src <- index_select(g, dim, index).
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);

// Rows of weight [V, D] picked by ids (any shape): out [..., D]. Backward accumulates rows
// into a dense dweight [V, D], grouped by id (parallel over ids, summed in position order).
Tensor embedding(const Tensor& weight, const Tensor& ids);

struct TopKResult {
  Tensor values;   // x's dtype, x's shape with size(dim) = k
  Tensor indices;  // i64, positions along dim
};
// The k largest (or smallest) entries along dim. Ties go to the lower index first; NaN ranks
// above every number. Results are always sorted (sorted = false is accepted and gives the same
// order). Backward: gradients scattered to the chosen positions.
TopKResult topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true,
                bool sorted = true);

// cond ? a : b with broadcasting of all three; cond is boolean or u8 (nonzero = true); a and b
// share a floating dtype. Grads go to a where cond holds and to b elsewhere.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// x with `value` wherever mask (boolean or u8, broadcastable to x's shape) is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

// Running sum along dim (accumulated in double). Backward: the reversed running sum.
Tensor cumsum(const Tensor& x, int64_t dim);

// Training: zeroes each element with probability p and scales the rest by 1/(1-p). The mask of
// element i is a function of (generator seed, generator offset + i) only: independent of the
// thread count, and repeated exactly by restoring the generator state (checkpoint recompute).
// Consumes x.numel() counters of `gen` (default_generator() when null). Identity (returns x,
// consuming nothing) when !training or p == 0; all zeros when p == 1.
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);

// Joins tensors of equal rank, sizes equal except along dim.
Tensor concat(const std::vector<Tensor>& tensors, int64_t dim);
// Pieces of x along dim with the given sizes (summing to x.size(dim)); the pieces are views of
// x (no copy), each with its own gradient path.
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
// Joins tensors of equal shape along a new dimension dim (0 <= dim <= rank, negative allowed).
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);

}  // namespace seekforge::ops
