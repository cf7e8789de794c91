// What a training run holds in memory, in bytes: the parameters, their gradients, the
// optimiser state, the activations a micro-batch's forward keeps for backward (measured, not
// estimated), the step's peak and the process's peak resident set. The trainer prints it at
// start and after the first step, and writes it on every metrics.jsonl line ("memory").
//
// Not here: limiting or planning memory; choosing what to recompute (nn::Recompute).
// Thread safety: the functions read process-wide counters (allocator, getrusage) and may be
// called from any thread; a measurement is only meaningful when no other thread allocates.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace seekforge::optim {
class Optimizer;
}

namespace seekforge::train {

struct MemoryReport {
  int64_t params = 0;      // trainable parameters
  int64_t grads = 0;       // their gradients: the same size
  int64_t optimizer = 0;   // the optimiser's state tensors (AdamW: two moments per parameter)
  // Allocator live bytes after the forward of the first micro-batch minus before it: what the
  // tape holds for backward (and the outputs). -1: not measured yet.
  int64_t activations = -1;
  int64_t step_peak = 0;   // the allocator's peak live bytes during the last step
  int64_t peak_rss = 0;    // the process's peak resident set so far (getrusage ru_maxrss)
};

// params, grads and optimizer of a run whose trainable parameters are `params`; the measured
// fields are left for the caller (activations -1, step_peak 0) but peak_rss is read now.
MemoryReport static_memory(const std::vector<Tensor>& params, const optim::Optimizer& optimizer);

// The caching allocator's live bytes now (core/allocator.h), and its peak since the last
// reset_peak_bytes().
int64_t allocator_live_bytes();
int64_t allocator_peak_bytes();
// The peak resident set size of this process, in bytes.
int64_t peak_rss_bytes();

// One line: "parameters 12.3 MiB, gradients 12.3 MiB, optimiser state 24.6 MiB, activations
// 150.2 MiB, step peak 210.0 MiB, peak RSS 400.1 MiB" ("activations measured at step 1" before
// that, and no step figures).
std::string format_memory(const MemoryReport& report);
// {"params", "grads", "optimizer", "activations", "step_peak", "peak_rss"}, in bytes.
nlohmann::json memory_json(const MemoryReport& report);

}  // namespace seekforge::train
