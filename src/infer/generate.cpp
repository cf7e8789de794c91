#include "infer/generate.h"

#include <algorithm>

#include "autograd/node.h"

namespace seekforge::infer {

std::vector<int64_t> generate(nn::Transformer& model, const std::vector<int64_t>& prompt,
                              const GenerateOptions& options,
                              const std::function<void(int64_t)>& on_token) {
  const ModelConfig& c = model.config();
  SF_CHECK(!prompt.empty()) << "generate: the prompt is empty";
  for (int64_t t : prompt)
    SF_CHECK(t >= 0 && t < c.vocab_size)
        << "generate: prompt token " << t << " is outside the vocabulary [0, " << c.vocab_size << ")";
  const int64_t P = static_cast<int64_t>(prompt.size());
  SF_CHECK(P < c.max_seq_len) << "generate: the prompt has " << P
                              << " tokens, the model's max_seq_len is " << c.max_seq_len;
  const int64_t capacity = std::min<int64_t>(c.max_seq_len, P + options.max_tokens);
  autograd::NoGradGuard no_grad;
  Sampler sampler(options.sampling);
  auto cache = model.make_cache(1, capacity);
  nn::ForwardOptions fo;
  fo.cache = &cache;
  std::vector<int64_t> out;
  Tensor ids = from_vector_i64(prompt, {1, P});
  int64_t pos = 0;
  while (static_cast<int64_t>(out.size()) < options.max_tokens && pos + ids.size(1) <= capacity) {
    fo.start_pos = pos;
    Tensor logits = model.forward(ids, Tensor(), fo).logits;  // [1, n, V]
    pos += ids.size(1);
    Tensor last = logits.select(1, logits.size(1) - 1).contiguous();
    const int64_t next = sampler.sample(last.data<float>(), c.vocab_size);
    out.push_back(next);
    if (on_token) on_token(next);
    if (std::find(options.stop_tokens.begin(), options.stop_tokens.end(), next) !=
        options.stop_tokens.end())
      break;
    if (pos >= capacity) break;
    ids = from_vector_i64({next}, {1, 1});
  }
  return out;
}

}  // namespace seekforge::infer
