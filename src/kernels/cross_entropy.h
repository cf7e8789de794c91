// Fused log-softmax + cross-entropy over logits [N, V] (V contiguous) with int64 targets [N],
// label smoothing and an ignore index. Not here: the mean over valid rows (the caller divides,
// and folds 1/num_valid into dloss), z-loss, or any Tensor handling.
//
// Per row with p = softmax(logits_row), lse = logsumexp(logits_row):
//   loss = (1 - eps) * (-log p_target) + eps * mean_v(-log p_v)
//        = (1 - eps) * (lse - x_target) + eps * (lse - mean_v x_v)
// Rows whose target equals ignore_index get loss 0 and lse 0 and no gradient.
// Forward reads the logits once (a running reference and a rescaled sum); backward reads them
// once and does one read-modify-write of dlogits (or a plain write with accumulate = false).
// Templates for float and double; OpenMP over rows (dynamic chunks: rows are independent, so
// results are bitwise repeatable for any thread count).
#pragma once

#include <cstdint>

namespace seekforge::kernels {

inline constexpr int64_t kIgnoreIndex = -100;

//   losses [N] (out), lse [N] (out, for backward), logits [N, V], targets [N] in [0, V) or
//   ignore_index; label_smoothing eps in [0, 1].
template <typename T>
void cross_entropy_forward(T* losses, T* lse, const T* logits, const int64_t* targets, int64_t N,
                           int64_t V, T label_smoothing, int64_t ignore_index = kIgnoreIndex);

//   dlogits [N, V] (+=; or = when accumulate is false, which saves the caller zeroing it and
//   this kernel reading it), dloss [N] per-row upstream gradients, logits [N, V], lse [N] from
//   forward, targets [N].
//   dlogits_row += dloss_row * (softmax(logits_row) - ((1 - eps) onehot(target) + eps / V)).
template <typename T>
void cross_entropy_backward(T* dlogits, const T* dloss, const T* logits, const T* lse,
                            const int64_t* targets, int64_t N, int64_t V, T label_smoothing,
                            int64_t ignore_index = kIgnoreIndex, bool accumulate = true);

// Forward and backward in one pass over the logits, for training, where the per-row upstream
// gradient is known before the forward runs (dloss = 1/valid rows for a mean): the outputs of
// cross_entropy_forward, and dlogits (=, overwritten) as cross_entropy_backward with
// accumulate = false. Memory sees one read of the logits and one write of dlogits instead of
// the two reads the separate kernels need.
template <typename T>
void cross_entropy_forward_backward(T* losses, T* lse, T* dlogits, const T* dloss, const T* logits,
                                    const int64_t* targets, int64_t N, int64_t V, T label_smoothing,
                                    int64_t ignore_index = kIgnoreIndex);

// Naive twins: two-pass scalar loops with std::exp / std::log.
template <typename T>
void cross_entropy_forward_naive(T* losses, T* lse, const T* logits, const int64_t* targets,
                                 int64_t N, int64_t V, T label_smoothing,
                                 int64_t ignore_index = kIgnoreIndex);
template <typename T>
void cross_entropy_backward_naive(T* dlogits, const T* dloss, const T* logits, const T* lse,
                                  const int64_t* targets, int64_t N, int64_t V, T label_smoothing,
                                  int64_t ignore_index = kIgnoreIndex, bool accumulate = true);

}  // namespace seekforge::kernels
