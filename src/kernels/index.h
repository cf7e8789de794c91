// Indexing kernels on raw pointers and sizes: gather / scatter-add, index_select / index_add
// (embedding is index_select along dim 0), top-k, where, cumsum and dropout masks.
//
// What this is not: no shape or index validation (the ops layer checks every index before a
// pointer is touched), no Tensor, no allocation (workspaces come from the caller).
//
// Layout legend. A tensor indexed along one dimension is seen as [outer, n, inner]: `outer` is
// the product of the dimensions before it, `inner` the product of those after it, all buffers
// contiguous. `nx` is the size of the indexed dimension of the source/destination, `n` the
// number of indices along it.
//
// Determinism: every output element is produced by one thread and every sum runs in a fixed
// order (ascending index position), so results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <vector>

namespace seekforge::kernels {

// out [outer, n, inner], x [outer, nx, inner], idx [outer, n, inner] with values in [0, nx):
// out[o, j, i] = x[o, idx[o, j, i], i]
template <typename T>
void gather_forward(T* out, const T* x, const int64_t* idx, int64_t outer, int64_t nx, int64_t n,
                    int64_t inner);
// dx [outer, nx, inner] += scatter of dout [outer, n, inner] through idx [outer, n, inner]:
// dx[o, idx[o, j, i], i] += dout[o, j, i]   (also scatter_add's forward)
template <typename T>
void gather_backward(T* dx, const T* dout, const int64_t* idx, int64_t outer, int64_t nx, int64_t n,
                     int64_t inner);

// out [outer, n, inner], x [outer, nx, inner], idx [n] in [0, nx):
// out[o, j, :] = x[o, idx[j], :]   (embedding: outer = 1, nx = V, inner = D)
template <typename T>
void index_select_forward(T* out, const T* x, const int64_t* idx, int64_t outer, int64_t nx,
                          int64_t n, int64_t inner);

// Stable counting sort of idx [n] (values in [0, nx)): positions with value v are
// order[offsets[v] .. offsets[v+1]) in ascending position. offsets [nx + 1], order [n].
void group_by_index(int64_t* offsets, int64_t* order, const int64_t* idx, int64_t n, int64_t nx);

// dx [outer, nx, inner] += dout [outer, n, inner] rows grouped by destination:
// dx[o, idx[j], :] += dout[o, j, :], summed over j in ascending order. `offsets` and `order`
// come from group_by_index(idx). Each destination row is owned by one thread, so there is no
// atomic and no per-thread copy of dx; with outer == 1 rows are split so that every thread gets
// about the same work (skewed token frequencies do not serialise onto one thread).
// assign = true: dx need not be initialised; every row is zeroed by its owner just before its
// sums (the usual accumulate contract, with the caller's zeroing fused in: on a 128 MB
// embedding table that saves a whole extra pass over memory).
template <typename T>
void index_select_backward(T* dx, const T* dout, const int64_t* offsets, const int64_t* order,
                           int64_t outer, int64_t nx, int64_t n, int64_t inner, bool assign);
// The oracle: the same sums in the same order, one thread.
template <typename T>
void index_select_backward_naive(T* dx, const T* dout, const int64_t* idx, int64_t outer,
                                 int64_t nx, int64_t n, int64_t inner);

// values [outer, k], indices [outer, k], x [outer, n], work [outer, n] (scratch):
// the k largest (or smallest) of each row in order; NaN counts as larger than every number;
// ties go to the lower position first.
template <typename T>
void topk_forward(T* values, int64_t* indices, const T* x, int64_t* work, int64_t outer, int64_t n,
                  int64_t k, bool largest);

// out [outer, n, inner] = running sum of x [outer, n, inner] along n (from the end when
// `reverse`: the backward of cumsum). Sums run in double.
template <typename T>
void cumsum_forward(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, bool reverse);

// out (contiguous, `shape`) = cond ? a : b; cond, a, b read through their own strides (0 on
// broadcast dims). cond is 1 byte per element, nonzero meaning true.
template <typename T>
void where_forward(T* out, const uint8_t* cond, const T* a, const T* b,
                   const std::vector<int64_t>& shape, const std::vector<int64_t>& sc,
                   const std::vector<int64_t>& sa, const std::vector<int64_t>& sb);

// out [n] = x * mask * scale, mask [n] (u8) = 1 where element i is kept. Element i is dropped
// when u_i < p, u_i = the 24-bit uniform of philox(first_counter + i, seed): the same number
// fill_uniform(float) gives element i, so the mask is a function of (seed, counter + i) only.
template <typename T>
void dropout_forward(T* out, uint8_t* mask, const T* x, int64_t n, uint64_t seed,
                     uint64_t first_counter, double p, T scale);
// out [n] = x * mask * scale (dropout's backward on dout; also reapplies a saved mask).
template <typename T>
void dropout_apply(T* out, const T* x, const uint8_t* mask, int64_t n, T scale);

}  // namespace seekforge::kernels
