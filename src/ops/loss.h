// Fused cross-entropy with log-softmax: one pass over the logits forward, one backward; the
// [N, V] probabilities are never stored.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace seekforge::ops {

enum class Reduction { mean, sum, none };

// logits [..., V], targets [...] (i64; ignore_index marks rows that do not count).
// Row loss: (1 - eps) * (-log p_target) + eps * mean_v(-log p_v), eps = label_smoothing.
// mean: over rows that count (0 when none count, with zero gradient); none: per-row [...].
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, double label_smoothing = 0.0,
                     Reduction reduction = Reduction::mean, int64_t ignore_index = -100);

}  // namespace seekforge::ops
