// Next-token sampling from logits: greedy, temperature, top-k and top-p (nucleus), drawn with
// the counter-based Philox of core/rng.h so that a seed fixes every choice.
//
// Order of operations (the Hugging Face convention): temperature scales the logits; top-k keeps
// the k most likely tokens; top-p then keeps the smallest prefix of the survivors, in descending
// probability (ties by lower index), whose probability reaches p; one token is drawn from the
// renormalised remainder. temperature = 0 is greedy: the argmax, the lowest index on ties.
//
// Determinism: call n of a Sampler (n = 0, 1, ...) draws from Philox(counter = n, seed), so the
// same seed and call sequence give the same tokens on any machine and thread count; counter()
// and set_counter() let a generation resume exactly. Every call consumes one counter, greedy
// included, so switching a request between greedy and sampling does not shift later draws.
//
// What this is not: a generation loop, a repetition penalty or a batched sampler.
//
// Thread safety: a Sampler is a value with a counter; one thread at a time.
#pragma once

#include <cstdint>
#include <vector>

namespace seekforge::infer {

struct SamplingOptions {
  double temperature = 1.0;  // >= 0; 0 = greedy
  int64_t top_k = 0;         // >= 0; 0 = no limit
  double top_p = 1.0;        // (0, 1]; 1 = no limit
  uint64_t seed = 0;
};

// Throws seekforge::Error naming the option and its allowed range.
void validate(const SamplingOptions& options);

class Sampler {
 public:
  explicit Sampler(SamplingOptions options);  // validates

  // Draws a token id in [0, V) from `logits` (V floats). NaN or +inf logits are refused naming
  // the index; -inf is a token of probability zero (at least one logit must be finite).
  int64_t sample(const float* logits, int64_t V);

  // The distribution sample() draws from, length V (zero outside the kept set; a one-hot at the
  // argmax when greedy). Does not consume a counter.
  std::vector<double> distribution(const float* logits, int64_t V) const;

  const SamplingOptions& options() const { return options_; }
  uint64_t counter() const { return counter_; }
  void set_counter(uint64_t counter) { counter_ = counter; }

 private:
  // The kept token ids and their unnormalised weights, in the order draws walk them.
  void candidates(const float* logits, int64_t V, std::vector<int64_t>* ids,
                  std::vector<double>* weights) const;

  SamplingOptions options_;
  uint64_t counter_ = 0;
};

}  // namespace seekforge::infer
