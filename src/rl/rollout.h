// Rollouts for RL post-training: completions sampled in batches through the KV-cache decoding
// path, and the log-probabilities of completion tokens under a policy (the quantity every
// policy-gradient loss differentiates).
//
// Layout used everywhere after sampling: a SequenceBatch holds N rows of prompt + completion,
// right-padded to a common length L, so position t predicts token t + 1 and the completion's
// j-th token is predicted at position (prompt length - 1 + j). targets are -100 and mask 0 at
// every position that is not a completion token.
//
// What this is not: the generation loop for serving (infer/generate.h decodes one sequence) or
// a scheduler with ragged batches; rows that stop early are fed padding until their batch ends.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "nn/transformer.h"

namespace seekforge::rl {

struct SamplingConfig {
  int64_t max_tokens = 32;
  double temperature = 1.0;  // 0: greedy
  double top_p = 1.0;
  int64_t top_k = 0;
  uint64_t seed = 0;
};

struct Completion {
  std::vector<int64_t> tokens;  // generated ids; ends with the stop token when finished
  bool finished = false;        // the model emitted the stop token (else it hit max_tokens)
};

// `group` completions of each prompt, returned prompt-major (prompt p, sample g at p*group + g).
// Rows whose prompts have the same length are decoded together in one batch with one cache.
// Row r draws from its own sampler seeded by (seed, stream, r): the tokens do not depend on how
// rows are batched or on the thread count. max_tokens is cut to what max_seq_len leaves.
std::vector<Completion> sample_completions(nn::Transformer& model,
                                           const std::vector<std::vector<int64_t>>& prompts,
                                           int64_t group, const SamplingConfig& sampling,
                                           int64_t stop_token, uint64_t stream);

struct SequenceBatch {
  Tensor input_ids;  // i64 [N, L]
  Tensor targets;    // i64 [N, L]; -100 where the position does not predict a completion token
  Tensor mask;       // f32 [N, L]; 1 where targets count
  std::vector<int64_t> first;   // per row: the position predicting its first completion token
  std::vector<int64_t> length;  // per row: completion tokens
};

// Rows prompt[i] + completion[i]; padding with `pad`.
SequenceBatch pack_sequences(const std::vector<const std::vector<int64_t>*>& prompts,
                             const std::vector<const std::vector<int64_t>*>& completions,
                             int64_t pad);

// log p(target) at each position under the model with logits divided by `temperature` (<= 0
// means 1), [N, L] f32, 0 where mask is 0. Differentiable when grad mode is on. hidden, if
// given, receives the final normed hidden states [N, L, D] (for a value head).
Tensor completion_logprobs(nn::Transformer& model, const SequenceBatch& batch, double temperature,
                           Tensor* hidden = nullptr);

// Per-row rows of a [N, L] f32 tensor at the completion positions: out[i][j] is the value of
// completion token j of row i.
std::vector<std::vector<float>> completion_values(const Tensor& per_position,
                                                  const SequenceBatch& batch);

}  // namespace seekforge::rl
