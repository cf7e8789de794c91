#include "nn/moe.h"

#include <cmath>

#include "autograd/node.h"
#include "ops/autocast.h"
#include "ops/elementwise.h"
#include "ops/experts.h"
#include "ops/index.h"
#include "ops/matmul.h"
#include "ops/reduce.h"
#include "ops/shape.h"
#include "ops/softmax.h"

namespace seekforge::nn {

Router::Router(int64_t d_model, int64_t n_experts, double init_std, Generator& gen) {
  weight = register_parameter("weight", init_normal({n_experts, d_model}, init_std, gen));
  bias = register_buffer("e_score_correction_bias", zeros({n_experts}));
}

MoE::MoE(const ModelConfig& c, Generator& gen) : cfg_(*c.moe), d_model_(c.d_model) {
  router_ = register_module(
      "gate", std::make_unique<Router>(c.d_model, cfg_.n_routed_experts, c.init_std, gen));
  auto experts = std::make_unique<ModuleList>();
  for (int64_t e = 0; e < cfg_.n_routed_experts; ++e)
    experts_.push_back(
        experts->add(std::make_unique<SwiGLU>(c.d_model, cfg_.d_expert, c.init_std, gen)));
  register_module("experts", std::move(experts));
  if (cfg_.n_shared_experts > 0)
    shared_ = register_module(
        "shared_experts",
        std::make_unique<SwiGLU>(c.d_model, cfg_.n_shared_experts * cfg_.d_expert, c.init_std, gen));
}

Tensor MoE::forward(const Tensor& x_in, Tensor* aux_loss, MoeCapture* capture) {
  const Shape in_shape = x_in.shape();
  Tensor x = ops::reshape(x_in, {-1, d_model_});
  const int64_t N = x.size(0), E = cfg_.n_routed_experts, k = cfg_.top_k;
  Tensor logits;
  {
    // Router scores stay f32 under mixed precision: the top-k choice is sensitive to rounding.
    ops::AutocastScope f32_router(DType::f32);
    logits = ops::linear(x, router_->weight);
  }
  Tensor s = cfg_.gate == "softmax" ? ops::softmax(logits, -1) : ops::sigmoid(logits);

  // The choice: top-k of score + bias, outside autograd.
  Tensor idx;
  {
    autograd::NoGradGuard no_grad;
    idx = ops::topk(ops::add(s.detach(), router_->bias), k, -1).indices.contiguous();
  }
  Tensor w = ops::gather(s, 1, idx);  // [N, k]: the router's gradient flows through these
  if (cfg_.norm_topk) w = ops::div(w, ops::add(ops::sum(w, {1}, true), 1e-20));
  if (cfg_.routed_scaling_factor != 1.0) w = ops::mul(w, cfg_.routed_scaling_factor);
  if (capture) {
    autograd::NoGradGuard no_grad;
    capture->experts = idx.clone();
    capture->weights = w.detach().to(DType::f32).contiguous();
    capture->scores = s.detach().to(DType::f32).contiguous();
  }

  // Dispatch order: by expert, then token, then slot.
  const int64_t* pi = idx.data<int64_t>();
  std::vector<std::vector<int64_t>> assigned(E);
  for (int64_t t = 0; t < N; ++t)
    for (int64_t j = 0; j < k; ++j) assigned[pi[t * k + j]].push_back(t * k + j);
  stats_ = MoeStats{};
  stats_.tokens = N;
  stats_.load.resize(E);
  const int64_t capacity =
      cfg_.capacity_factor > 0
          ? static_cast<int64_t>(std::ceil(cfg_.capacity_factor * static_cast<double>(N * k) /
                                           static_cast<double>(E)))
          : N * k;
  std::vector<int64_t> flat, tokens, counts(E);
  for (int64_t e = 0; e < E; ++e) {
    stats_.load[e] = static_cast<int64_t>(assigned[e].size());
    const int64_t kept = std::min<int64_t>(stats_.load[e], capacity);
    stats_.dropped += stats_.load[e] - kept;
    counts[e] = kept;
    for (int64_t i = 0; i < kept; ++i) {
      flat.push_back(assigned[e][i]);
      tokens.push_back(assigned[e][i] / k);
    }
  }

  Tensor y;
  const int64_t A = static_cast<int64_t>(flat.size());
  if (A > 0) {
    Tensor tok = from_vector_i64(tokens, {A});
    Tensor xs = ops::index_select(x, 0, tok);                                      // [A, D]
    Tensor ws = ops::index_select(ops::reshape(w, {-1}), 0, from_vector_i64(flat, {A}));  // [A]
    // Every expert's SwiGLU on its rows of xs, one op (ops/experts.h).
    std::vector<Tensor> gate(E), up(E), down(E);
    for (int64_t e = 0; e < E; ++e) {
      gate[e] = experts_[e]->gate_proj().weight();
      up[e] = experts_[e]->up_proj().weight();
      down[e] = experts_[e]->down_proj().weight();
    }
    Tensor ys = ops::expert_swiglu(xs, counts, gate, up, down);
    ys = ops::mul(ys, ops::unsqueeze(ws, 1));
    y = ops::index_add(zeros({N, d_model_}, x.dtype()), 0, tok, ys);
  } else {
    y = zeros({N, d_model_}, x.dtype());
  }
  if (shared_) y = ops::add(y, shared_->forward(x));

  if (cfg_.aux_loss_coef > 0 && aux_loss != nullptr && N > 0) {
    std::vector<float> f(E);
    for (int64_t e = 0; e < E; ++e)
      f[e] = static_cast<float>(static_cast<double>(stats_.load[e]) / static_cast<double>(N * k));
    Tensor frac = from_vector(f, {E}, s.dtype());
    Tensor p = ops::mean(ops::div(s, ops::sum(s, {1}, true)), {0});  // [E]
    Tensor bal = ops::mul(ops::sum(ops::mul(frac, p)),
                          cfg_.aux_loss_coef * static_cast<double>(E));
    *aux_loss = aux_loss->defined() ? ops::add(*aux_loss, bal) : bal;
  }
  return ops::reshape(y, in_shape);
}

void MoE::update_bias(const std::vector<int64_t>& load) {
  const int64_t E = cfg_.n_routed_experts;
  SF_CHECK(static_cast<int64_t>(load.size()) == E)
      << "update_bias: " << load.size() << " loads for " << E << " experts";
  double mean = 0;
  for (int64_t l : load) mean += static_cast<double>(l);
  mean /= static_cast<double>(E);
  Tensor b = router_->bias;
  for (int64_t e = 0; e < E; ++e) {
    const double d = mean - static_cast<double>(load[e]);
    const double sign = d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0);
    b.data<float>()[e] += static_cast<float>(cfg_.bias_update_speed * sign);
  }
}

}  // namespace seekforge::nn
