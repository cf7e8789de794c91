#include "nn/layers.h"

#include "autograd/node.h"
#include "ops/activation.h"
#include "ops/elementwise.h"
#include "ops/experts.h"
#include "ops/index.h"
#include "ops/matmul.h"
#include "ops/norm.h"
#include "ops/shape.h"

namespace seekforge::nn {

Tensor init_normal(const Shape& shape, double std, Generator& gen) {
  Tensor t = randn(shape, DType::f32, &gen);
  autograd::NoGradGuard no_grad;
  return ops::mul(t, std);
}

Linear::Linear(int64_t in, int64_t out, double init_std, Generator& gen) {
  weight_ = register_parameter("weight", init_normal({out, in}, init_std, gen));
}

Tensor Linear::forward(const Tensor& x) const { return ops::linear(x, weight_); }

Embedding::Embedding(int64_t vocab, int64_t dim, double init_std, Generator& gen) {
  weight_ = register_parameter("weight", init_normal({vocab, dim}, init_std, gen));
}

Tensor Embedding::forward(const Tensor& ids) const { return ops::embedding(weight_, ids); }

RMSNorm::RMSNorm(int64_t dim, double eps) : eps_(eps) {
  weight_ = register_parameter("weight", ones({dim}));
}

Tensor RMSNorm::forward(const Tensor& x) const { return ops::rms_norm(x, weight_, eps_); }

SwiGLU::SwiGLU(int64_t dim, int64_t hidden, double init_std, Generator& gen) {
  gate_ = register_module("gate_proj", std::make_unique<Linear>(dim, hidden, init_std, gen));
  up_ = register_module("up_proj", std::make_unique<Linear>(dim, hidden, init_std, gen));
  down_ = register_module("down_proj", std::make_unique<Linear>(hidden, dim, init_std, gen));
}

Tensor SwiGLU::forward(const Tensor& x) const {
  // The one-expert case of the fused expert op: the same arithmetic as
  // down(swiglu(gate(x), up(x))) in one tape node.
  SF_CHECK(x.dim() >= 1 && x.size(-1) == gate_->weight().size(1))
      << "SwiGLU: input " << x.describe() << " does not match gate_proj "
      << gate_->weight().describe();
  Shape out_shape = x.shape();
  Tensor x2 = ops::reshape(x, {-1, x.size(-1)});
  Tensor y = ops::expert_swiglu(x2, {x2.size(0)}, {gate_->weight()}, {up_->weight()},
                                {down_->weight()});
  return ops::reshape(y, out_shape);
}

}  // namespace seekforge::nn
