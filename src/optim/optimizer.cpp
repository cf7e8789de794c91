#include "optim/optimizer.h"

#include <cmath>
#include <map>

#include "kernels/adamw.h"

namespace seekforge::optim {

namespace {

void check_param(const Tensor& p, const char* who) {
  SF_CHECK(p.defined() && p.is_contiguous() && (p.dtype() == DType::f32 || p.dtype() == DType::f64))
      << who << ": parameters must be contiguous f32 or f64 tensors, got " << p.describe();
}

Tensor grad_of(const Tensor& p, const char* who) {
  Tensor g = p.grad();
  if (!g.defined()) return g;
  SF_CHECK(g.shape() == p.shape() && g.dtype() == p.dtype())
      << who << ": gradient " << g.describe() << " does not match parameter " << p.describe();
  return g.contiguous();
}

std::string state_name(const char* kind, size_t group, size_t index) {
  return std::string(kind) + "." + std::to_string(group) + "." + std::to_string(index);
}

void load_named(std::vector<std::vector<Tensor>>& dst, const char* kind,
                const std::map<std::string, Tensor>& src) {
  for (size_t gi = 0; gi < dst.size(); ++gi)
    for (size_t i = 0; i < dst[gi].size(); ++i) {
      const std::string name = state_name(kind, gi, i);
      auto it = src.find(name);
      SF_CHECK(it != src.end()) << "optimizer state: missing tensor '" << name << "'";
      SF_CHECK(it->second.shape() == dst[gi][i].shape())
          << "optimizer state: '" << name << "' is " << it->second.describe() << ", expected "
          << dst[gi][i].describe();
      dst[gi][i].copy_(it->second);
    }
}

}  // namespace

Optimizer::Optimizer(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
  for (const auto& g : groups_)
    for (const auto& p : g.params) check_param(p, "optimizer");
}

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.set_grad(Tensor());
}

void Optimizer::set_lr(double lr) {
  for (auto& g : groups_) g.lr = lr * g.lr_scale;
}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options)
    : Optimizer(std::move(groups)), options_(options) {
  for (const auto& g : groups_) {
    exp_avg_.emplace_back();
    exp_avg_sq_.emplace_back();
    for (const auto& p : g.params) {
      exp_avg_.back().push_back(zeros(p.shape(), p.dtype()));
      exp_avg_sq_.back().push_back(zeros(p.shape(), p.dtype()));
    }
  }
}

void AdamW::step() {
  ++step_;
  std::vector<kernels::AdamWSegment<float>> f32;
  std::vector<kernels::AdamWSegment<double>> f64;
  std::vector<Tensor> keep;  // contiguous gradient copies live until the kernel ran
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& g = groups_[gi];
    for (size_t i = 0; i < g.params.size(); ++i) {
      const Tensor& p = g.params[i];
      Tensor grad = grad_of(p, "AdamW");
      if (!grad.defined()) continue;
      keep.push_back(grad);
      if (p.dtype() == DType::f32) {
        f32.push_back({p.data<float>(), grad.data<float>(), exp_avg_[gi][i].data<float>(),
                       exp_avg_sq_[gi][i].data<float>(), p.numel(), g.lr, g.weight_decay});
      } else {
        f64.push_back({p.data<double>(), grad.data<double>(), exp_avg_[gi][i].data<double>(),
                       exp_avg_sq_[gi][i].data<double>(), p.numel(), g.lr, g.weight_decay});
      }
    }
  }
  kernels::AdamWHyper h{options_.beta1, options_.beta2, options_.eps, step_};
  if (!f32.empty()) kernels::adamw_step(f32.data(), static_cast<int>(f32.size()), h);
  if (!f64.empty()) kernels::adamw_step(f64.data(), static_cast<int>(f64.size()), h);
}

std::vector<std::pair<std::string, Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t gi = 0; gi < exp_avg_.size(); ++gi)
    for (size_t i = 0; i < exp_avg_[gi].size(); ++i) {
      out.emplace_back(state_name("exp_avg", gi, i), exp_avg_[gi][i]);
      out.emplace_back(state_name("exp_avg_sq", gi, i), exp_avg_sq_[gi][i]);
    }
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, Tensor>>& state,
                       int64_t steps_taken) {
  std::map<std::string, Tensor> by_name(state.begin(), state.end());
  load_named(exp_avg_, "exp_avg", by_name);
  load_named(exp_avg_sq_, "exp_avg_sq", by_name);
  step_ = steps_taken;
}

Sgd::Sgd(std::vector<ParamGroup> groups, SgdOptions options)
    : Optimizer(std::move(groups)), options_(options) {
  for (const auto& g : groups_) {
    momentum_.emplace_back();
    for (const auto& p : g.params) momentum_.back().push_back(zeros(p.shape(), p.dtype()));
  }
}

void Sgd::step() {
  std::vector<kernels::SgdSegment<float>> f32;
  std::vector<kernels::SgdSegment<double>> f64;
  std::vector<Tensor> keep;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& g = groups_[gi];
    for (size_t i = 0; i < g.params.size(); ++i) {
      const Tensor& p = g.params[i];
      Tensor grad = grad_of(p, "SGD");
      if (!grad.defined()) continue;
      keep.push_back(grad);
      if (p.dtype() == DType::f32) {
        f32.push_back({p.data<float>(), grad.data<float>(), momentum_[gi][i].data<float>(),
                       p.numel(), g.lr, g.weight_decay});
      } else {
        f64.push_back({p.data<double>(), grad.data<double>(), momentum_[gi][i].data<double>(),
                       p.numel(), g.lr, g.weight_decay});
      }
    }
  }
  kernels::SgdHyper h{options_.momentum, options_.nesterov, step_ == 0};
  if (!f32.empty()) kernels::sgd_step(f32.data(), static_cast<int>(f32.size()), h);
  if (!f64.empty()) kernels::sgd_step(f64.data(), static_cast<int>(f64.size()), h);
  ++step_;
}

std::vector<std::pair<std::string, Tensor>> Sgd::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t gi = 0; gi < momentum_.size(); ++gi)
    for (size_t i = 0; i < momentum_[gi].size(); ++i)
      out.emplace_back(state_name("momentum", gi, i), momentum_[gi][i]);
  return out;
}

void Sgd::load_state(const std::vector<std::pair<std::string, Tensor>>& state,
                     int64_t steps_taken) {
  std::map<std::string, Tensor> by_name(state.begin(), state.end());
  load_named(momentum_, "momentum", by_name);
  step_ = steps_taken;
}

double grad_norm(const std::vector<Tensor>& params) {
  std::vector<kernels::Span<const float>> f32;
  std::vector<kernels::Span<const double>> f64;
  std::vector<Tensor> keep;
  for (const Tensor& p : params) {
    Tensor g = grad_of(p, "clip_grad_norm");
    if (!g.defined()) continue;
    keep.push_back(g);
    if (g.dtype() == DType::f32)
      f32.push_back({g.data<float>(), g.numel()});
    else
      f64.push_back({g.data<double>(), g.numel()});
  }
  double ss = 0;
  if (!f32.empty()) ss += kernels::sum_squares(f32.data(), static_cast<int>(f32.size()));
  if (!f64.empty()) ss += kernels::sum_squares(f64.data(), static_cast<int>(f64.size()));
  return std::sqrt(ss);
}

void scale_gradients(const std::vector<Tensor>& params, double factor) {
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    SF_CHECK(g.is_contiguous()) << "scale_gradients: gradient of " << p.describe()
                                << " is not contiguous";
    dispatch_float(g.dtype(), "scale_gradients", [&](auto zero) {
      using T = decltype(zero);
      T* pg = g.data<T>();
      const T s = static_cast<T>(factor);
      const int64_t n = g.numel();
#pragma omp parallel for simd schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) pg[i] *= s;
    });
  }
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  const double norm = grad_norm(params);
  if (max_norm <= 0 || !std::isfinite(norm) || norm <= max_norm) return norm;
  scale_gradients(params, max_norm / (norm + 1e-6));
  return norm;
}

}  // namespace seekforge::optim
