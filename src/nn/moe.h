// The mixture-of-experts feed-forward layer: a router picks top-k routed experts per token
// (softmax or sigmoid scores, chosen by score + correction bias), tokens are grouped by expert
// and each expert runs one SwiGLU on its rows (gather -> GEMMs -> scatter-add), so the cost per
// token does not grow with the number of experts; shared experts see every token.
// docs/model.md gives the exact computation, the balance loss and the bias update.
#pragma once

#include <vector>

#include "io/config.h"
#include "nn/inspect.h"
#include "nn/layers.h"

namespace seekforge::nn {

struct MoeStats {
  std::vector<int64_t> load;  // assignments per expert (before capacity dropping)
  int64_t dropped = 0;        // assignments dropped by the capacity limit
  int64_t tokens = 0;
};

// Named "gate" in the parameter tree: holds the router weight and the correction bias buffer.
class Router : public Module {
 public:
  Router(int64_t d_model, int64_t n_experts, double init_std, Generator& gen);
  Tensor weight, bias;  // [E, D] parameter; [E] buffer e_score_correction_bias
};

class MoE : public Module {
 public:
  MoE(const ModelConfig& config, Generator& gen);
  // x [..., D] -> [..., D]. Adds this call's balance loss (when enabled) to *aux_loss (set when
  // undefined) and records the call's stats (a recomputed call records the same stats again).
  // With `capture`, the call's choices, combine weights and scores are recorded there.
  Tensor forward(const Tensor& x, Tensor* aux_loss, MoeCapture* capture = nullptr);
  const MoeStats& last_stats() const { return stats_; }
  // b_e += speed * sign(mean(load) - load_e), outside autograd.
  void update_bias(const std::vector<int64_t>& load);
  const Tensor& correction_bias() const { return router_->bias; }
  int64_t n_experts() const { return cfg_.n_routed_experts; }

 private:
  MoeConfig cfg_;
  int64_t d_model_;
  Router* router_;
  std::vector<SwiGLU*> experts_;
  SwiGLU* shared_ = nullptr;
  MoeStats stats_;
};

}  // namespace seekforge::nn
