#include "rl/rollout.h"

#include <algorithm>
#include <map>
#include <memory>

#include "autograd/node.h"
#include "core/error.h"
#include "infer/sampler.h"
#include "ops/elementwise.h"
#include "ops/loss.h"

namespace seekforge::rl {

namespace {

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<Completion> sample_completions(nn::Transformer& model,
                                           const std::vector<std::vector<int64_t>>& prompts,
                                           int64_t group, const SamplingConfig& sampling,
                                           int64_t stop_token, uint64_t stream) {
  const ModelConfig& c = model.config();
  SF_CHECK(group >= 1) << "sample_completions: group " << group << " must be >= 1";
  SF_CHECK(sampling.max_tokens >= 1) << "sample_completions: max_tokens must be >= 1";
  std::map<size_t, std::vector<int64_t>> by_length;  // prompt length -> prompt indices
  for (size_t p = 0; p < prompts.size(); ++p) {
    const auto& ids = prompts[p];
    SF_CHECK(!ids.empty()) << "sample_completions: prompt " << p << " is empty";
    SF_CHECK(static_cast<int64_t>(ids.size()) < c.max_seq_len)
        << "sample_completions: prompt " << p << " has " << ids.size()
        << " tokens; the model's max_seq_len is " << c.max_seq_len;
    for (int64_t id : ids)
      SF_CHECK(id >= 0 && id < c.vocab_size)
          << "sample_completions: prompt " << p << " has token " << id << " outside [0, "
          << c.vocab_size << ")";
    by_length[ids.size()].push_back(static_cast<int64_t>(p));
  }
  std::vector<Completion> out(prompts.size() * static_cast<size_t>(group));
  autograd::NoGradGuard no_grad;
  const int64_t V = c.vocab_size;
  for (const auto& [plen, members] : by_length) {
    const int64_t P = static_cast<int64_t>(plen);
    const int64_t B = static_cast<int64_t>(members.size()) * group;
    const int64_t steps = std::min(sampling.max_tokens, c.max_seq_len - P);
    std::vector<infer::Sampler> samplers;
    std::vector<int64_t> row_index;  // row in `out`
    std::vector<int64_t> first(B * P);
    for (int64_t m = 0; m < static_cast<int64_t>(members.size()); ++m) {
      for (int64_t g = 0; g < group; ++g) {
        const int64_t r = members[m] * group + g;
        infer::SamplingOptions so{sampling.temperature, sampling.top_k, sampling.top_p,
                                  mix64(mix64(sampling.seed ^ mix64(stream)) + static_cast<uint64_t>(r))};
        samplers.emplace_back(so);
        row_index.push_back(r);
        const auto& ids = prompts[members[m]];
        std::copy(ids.begin(), ids.end(), first.begin() + (m * group + g) * P);
      }
    }
    auto cache = model.make_cache(B, P + steps);
    nn::ForwardOptions fo;
    fo.cache = &cache;
    Tensor ids = from_vector_i64(first, {B, P});
    std::vector<char> done(B, 0);
    int64_t pos = 0, live = B;
    for (int64_t s = 0; s < steps && live > 0; ++s) {
      fo.start_pos = pos;
      Tensor logits = model.forward(ids, Tensor(), fo).logits;  // [B, n, V]
      pos += ids.size(1);
      Tensor last = logits.select(1, logits.size(1) - 1).contiguous();
      const float* lp = last.data<float>();
      std::vector<int64_t> next(B, stop_token);
      for (int64_t b = 0; b < B; ++b) {
        if (done[b]) continue;
        next[b] = samplers[b].sample(lp + b * V, V);
        Completion& cpl = out[row_index[b]];
        cpl.tokens.push_back(next[b]);
        if (next[b] == stop_token) {
          cpl.finished = true;
          done[b] = 1;
          --live;
        }
      }
      ids = from_vector_i64(next, {B, 1});
    }
  }
  return out;
}

SequenceBatch pack_sequences(const std::vector<const std::vector<int64_t>*>& prompts,
                             const std::vector<const std::vector<int64_t>*>& completions,
                             int64_t pad) {
  SF_CHECK(prompts.size() == completions.size() && !prompts.empty())
      << "pack_sequences: " << prompts.size() << " prompts and " << completions.size()
      << " completions (need the same, non-zero count)";
  const int64_t N = static_cast<int64_t>(prompts.size());
  int64_t L = 1;
  for (int64_t i = 0; i < N; ++i) {
    SF_CHECK(!prompts[i]->empty()) << "pack_sequences: row " << i << " has an empty prompt";
    L = std::max<int64_t>(L, static_cast<int64_t>(prompts[i]->size() + completions[i]->size()) - 1);
  }
  SequenceBatch b;
  std::vector<int64_t> ids(N * L, pad), targets(N * L, -100);
  std::vector<float> mask(N * L, 0.0f);
  for (int64_t i = 0; i < N; ++i) {
    std::vector<int64_t> seq(*prompts[i]);
    seq.insert(seq.end(), completions[i]->begin(), completions[i]->end());
    const int64_t P = static_cast<int64_t>(prompts[i]->size());
    const int64_t n = static_cast<int64_t>(seq.size()) - 1;
    for (int64_t t = 0; t < n; ++t) ids[i * L + t] = seq[t];
    if (n == 0) ids[i * L] = seq[0];  // a one-token prompt with no completion
    for (int64_t t = P - 1; t < n; ++t) {
      targets[i * L + t] = seq[t + 1];
      mask[i * L + t] = 1.0f;
    }
    b.first.push_back(P - 1);
    b.length.push_back(static_cast<int64_t>(completions[i]->size()));
  }
  b.input_ids = from_vector_i64(ids, {N, L});
  b.targets = from_vector_i64(targets, {N, L});
  b.mask = from_vector(mask, {N, L});
  return b;
}

Tensor completion_logprobs(nn::Transformer& model, const SequenceBatch& batch, double temperature,
                           Tensor* hidden) {
  nn::ModelOutput out = model.forward(batch.input_ids, Tensor());
  if (hidden) *hidden = out.hidden;
  Tensor logits = out.logits;
  if (temperature > 0 && temperature != 1.0) logits = ops::mul(logits, 1.0 / temperature);
  // Ignored positions give 0 (cross_entropy's none reduction), so the mask is already applied.
  return ops::neg(ops::cross_entropy(logits, batch.targets, 0.0, ops::Reduction::none));
}

std::vector<std::vector<float>> completion_values(const Tensor& per_position,
                                                  const SequenceBatch& batch) {
  Tensor v = per_position.detach().contiguous();
  SF_CHECK(v.dtype() == DType::f32 && v.dim() == 2 && v.size(0) == batch.input_ids.size(0) &&
           v.size(1) == batch.input_ids.size(1))
      << "completion_values: expected f32 " << shape_str(batch.input_ids.shape()) << ", got "
      << shape_str(v.shape());
  const int64_t L = v.size(1);
  const float* p = v.data<float>();
  std::vector<std::vector<float>> out(batch.first.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i].assign(p + static_cast<int64_t>(i) * L + batch.first[i],
                  p + static_cast<int64_t>(i) * L + batch.first[i] + batch.length[i]);
  return out;
}

}  // namespace seekforge::rl
