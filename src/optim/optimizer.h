// Optimisers over parameter groups: AdamW (decoupled weight decay) and SGD with momentum, each
// one fused kernel call over every parameter of a dtype; global-norm gradient clipping.
//
// Not here: learning-rate schedules (schedule.h), loss scaling and sharded state (later).
// Thread safety: an optimiser is used by one thread; its kernels run OpenMP inside.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace seekforge::optim {

struct ParamGroup {
  std::vector<Tensor> params;
  double lr = 1e-3;            // the group's current learning rate
  double weight_decay = 0.0;
  double lr_scale = 1.0;       // set_lr(x) gives this group x * lr_scale
  std::string name;
};

class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Applies one update from the parameters' .grad (parameters without a gradient are skipped).
  virtual void step() = 0;
  void zero_grad();  // drops every .grad
  void set_lr(double lr);
  std::vector<ParamGroup>& groups() { return groups_; }
  int64_t steps_taken() const { return step_; }

  // Named state tensors ("exp_avg.<group>.<index>", ...) for checkpoints; load_state restores
  // them (shapes must match; the error names the tensor).
  virtual std::vector<std::pair<std::string, Tensor>> state() const = 0;
  virtual void load_state(const std::vector<std::pair<std::string, Tensor>>& state,
                          int64_t steps_taken) = 0;

 protected:
  std::vector<ParamGroup> groups_;
  int64_t step_ = 0;
};

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

class AdamW final : public Optimizer {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});
  void step() override;
  std::vector<std::pair<std::string, Tensor>> state() const override;
  void load_state(const std::vector<std::pair<std::string, Tensor>>& state,
                  int64_t steps_taken) override;

 private:
  AdamWOptions options_;
  std::vector<std::vector<Tensor>> exp_avg_, exp_avg_sq_;  // [group][param]
};

struct SgdOptions {
  double momentum = 0.0;
  bool nesterov = false;
};

class Sgd final : public Optimizer {
 public:
  Sgd(std::vector<ParamGroup> groups, SgdOptions options = {});
  void step() override;
  std::vector<std::pair<std::string, Tensor>> state() const override;
  void load_state(const std::vector<std::pair<std::string, Tensor>>& state,
                  int64_t steps_taken) override;

 private:
  SgdOptions options_;
  std::vector<std::vector<Tensor>> momentum_;
};

// Global L2 norm of all gradients (deterministic for a fixed thread count). When it exceeds
// max_norm (> 0), scales every gradient by max_norm / (norm + 1e-6), as torch does. Returns the
// norm before clipping; a non-finite norm leaves the gradients untouched, for the caller to
// decide (skip the step).
// Multiplies every gradient by `factor` in place (the fp16 loss scaler's unscale).
void scale_gradients(const std::vector<Tensor>& params, double factor);
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);
double grad_norm(const std::vector<Tensor>& params);

}  // namespace seekforge::optim
