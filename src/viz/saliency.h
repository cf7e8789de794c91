// Gradient x input saliency: which prompt tokens, and which weights, a model's prediction of one
// token depended on. For target position N the model reads tokens 0..N-1 and predicts token N;
// with g_t = d log p(token N) / d e_t (e_t the embedding of input token t, a D-vector):
//   saliency_t = sum_d g_t[d] * e_t[d]      grad_norm_t = ||g_t||_2
// and every parameter tensor's gradient norm ||d log p / d W||_2, ranked: the weights the
// decision passed through. N = number of prompt tokens asks about the model's own most likely
// next token after the whole prompt.
//
// What this is not: no integrated gradients or attention rollout, one prompt at a time.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "nn/transformer.h"
#include "viz/tokens.h"

namespace seekforge::viz {

struct ParamGrad {
  std::string name;
  double norm = 0;  // L2 norm of the gradient (0 for a tensor the target never reached)
  int64_t numel = 0;
};

struct Saliency {
  std::vector<int64_t> inputs;    // tokens 0..N-1
  int64_t target_position = 0;    // N
  int64_t target_token = 0;       // token N of the prompt, or the argmax when N = prompt length
  bool predicted = false;         // the target is the model's own argmax choice
  int64_t argmax_token = 0;       // the model's most likely token at position N
  double log_prob = 0;            // log p(target | inputs)
  std::vector<double> saliency;   // [N] gradient x input
  std::vector<double> grad_norm;  // [N] ||g_t||
  Tensor embedding_grad;          // [N, D] g, in the model's dtype
  std::vector<ParamGrad> params;  // every parameter, largest gradient norm first
};

// Runs one forward and backward on `prompt` (token ids). target in [1, prompt.size()]; errors
// name the allowed range. Parameter gradients of the model are overwritten (left as computed).
Saliency compute_saliency(nn::Transformer& model, const std::vector<int64_t>& prompt,
                          int64_t target);

// log p(target_token | embeddings) for a [1, N, D] embedding tensor: the function the saliency
// differentiates (the finite-difference tests call it).
double target_log_prob(nn::Transformer& model, const std::vector<int64_t>& inputs,
                       const Tensor& embeds, int64_t target_token);

struct SaliencyMapOptions {
  std::string out_dir;    // created when missing
  std::string title;      // e.g. the checkpoint's name, shown under the chart titles
  size_t max_params = 0;  // rows of the parameter table (0: all)
  TokenLabeler label;     // token id -> label (viz/tokens.h); empty: bytes or <id>
};

// Writes saliency.html (tokens shaded by saliency with values on hover, the parameters ranked
// by gradient norm with bars) and saliency.{png,svg} (bar charts of token saliency and gradient
// norm); returns the paths written.
std::vector<std::string> write_saliency_maps(const Saliency& saliency, int64_t vocab_size,
                                             const SaliencyMapOptions& options);

}  // namespace seekforge::viz
