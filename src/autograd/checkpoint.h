// Activation checkpointing: run a region without keeping its activations, and recompute them
// during backward. Trades one extra forward of the region for its saved-tensor memory.
#pragma once

#include <functional>
#include <vector>

#include "core/tensor.h"

namespace seekforge::autograd {

using CheckpointFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// Returns fn(inputs). Under grad mode, nothing inside fn is saved; backward re-runs fn (with the
// default generator restored to its state at the first run, so dropout masks repeat) and
// back-propagates through the recomputed region. Parameters used inside fn receive their
// gradients as usual. fn must be a pure function of its inputs, parameters and the generator.
std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs);

}  // namespace seekforge::autograd
