// Incremental decoding with a KV cache: the prompt is run once (prefill), then one token per
// step attends to the cache, so each new token costs one position's work, not the whole
// sequence's. MLA caches its latent.
#pragma once

#include <functional>
#include <vector>

#include "infer/sampler.h"
#include "nn/transformer.h"

namespace seekforge::infer {

struct GenerateOptions {
  int64_t max_tokens = 64;
  SamplingOptions sampling;
  std::vector<int64_t> stop_tokens;  // generation ends after emitting one of these
};

// Returns the generated tokens (not the prompt). on_token, if set, sees each token as it is
// chosen (for streaming). Stops early at max_seq_len.
std::vector<int64_t> generate(nn::Transformer& model, const std::vector<int64_t>& prompt,
                              const GenerateOptions& options,
                              const std::function<void(int64_t)>& on_token = nullptr);

}  // namespace seekforge::infer
