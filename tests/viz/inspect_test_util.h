// Helpers of the inside-the-model picture tests: a byte-level prompt run through a model with
// the inspection on (attention and MoE captured), no gradients.
#pragma once

#include <string>
#include <vector>

#include "autograd/node.h"
#include "nn/transformer.h"

namespace seekforge::viz::testing {

struct InspectedPrompt {
  std::vector<int64_t> ids;  // the prompt's bytes
  nn::Inspection inspection;
};

inline InspectedPrompt inspect_prompt(nn::Transformer& model, const std::string& text) {
  InspectedPrompt p;
  p.ids.assign(text.begin(), text.end());
  nn::ForwardOptions fo;
  fo.inspect = &p.inspection;
  autograd::NoGradGuard no_grad;
  model.forward(from_vector_i64(p.ids, {1, static_cast<int64_t>(p.ids.size())}), Tensor(), fo);
  return p;
}

}  // namespace seekforge::viz::testing
