// The small building blocks: Linear (no bias, as in the DeepSeek/Llama layout), Embedding,
// RMSNorm and the SwiGLU feed-forward block. Each registers its parameters under the
// Hugging Face names ("weight"; "gate_proj", "up_proj", "down_proj").
#pragma once

#include "nn/module.h"

namespace seekforge::nn {

class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, double init_std, Generator& gen);
  Tensor forward(const Tensor& x) const;  // x [..., in] -> [..., out]
  const Tensor& weight() const { return weight_; }

 private:
  Tensor weight_;  // [out, in]
};

class Embedding : public Module {
 public:
  Embedding(int64_t vocab, int64_t dim, double init_std, Generator& gen);
  Tensor forward(const Tensor& ids) const;  // ids [...] i64 -> [..., dim]
  const Tensor& weight() const { return weight_; }

 private:
  Tensor weight_;  // [vocab, dim]
};

class RMSNorm : public Module {
 public:
  RMSNorm(int64_t dim, double eps);
  Tensor forward(const Tensor& x) const;

 private:
  Tensor weight_;
  double eps_;
};

// down(silu(gate(x)) * up(x))
class SwiGLU : public Module {
 public:
  SwiGLU(int64_t dim, int64_t hidden, double init_std, Generator& gen);
  Tensor forward(const Tensor& x) const;
  const Linear& gate_proj() const { return *gate_; }
  const Linear& up_proj() const { return *up_; }
  const Linear& down_proj() const { return *down_; }

 private:
  Linear* gate_;
  Linear* up_;
  Linear* down_;
};

// normal(0, std) with the given generator, f32.
Tensor init_normal(const Shape& shape, double std, Generator& gen);

}  // namespace seekforge::nn
