// Mixed precision for the ops: an autocast scope under which the matrix products of linear,
// matmul and expert_swiglu read their operands in bf16 or f16 and accumulate in f32, and
// attention reads q, k, v (and hands on its output) rounded to that type. Everything else
// (norms, softmax, RoPE, cross-entropy, the MoE router, the loss) stays f32, and so do every
// op's outputs and every gradient that reaches a parameter: the f32 tensors are the masters.
//
// Why a scope and not a dtype on the tensors: the model code is the same in every precision,
// the tape holds f32 masters, and the 16-bit operands are the saved tensors of the products
// (half the activation memory of f32), made where the product needs them.
//
// The operands are stored as bf16/f16 where the GEMM runs that type natively; elsewhere (bf16
// without AMX / AVX512-BF16 / AVX-512, f16 on every CPU with oneDNN 2.6) as f32 tensors holding
// the rounded values: the same numbers, one rounding pass instead of a conversion now and a
// widening inside every product, at the memory of f32.
//
// Weights (leaf tensors that require grad) are converted once into a LowpWeights cache and
// reused by every product until refresh(), which the trainer calls after each optimiser step;
// without a cache they are converted at each use. The scope is per thread.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>

#include "core/tensor.h"

namespace seekforge::ops {

// The 16-bit copies of a model's weights, keyed by the master tensor's storage and layout.
class LowpWeights {
 public:
  // The operand copy of `master` for `dtype` (lowp_operand), made on first use; contiguous.
  Tensor get(const Tensor& master, DType dtype);
  // Re-converts every copy from its master in place (after the masters changed).
  void refresh();
  void clear() { entries_.clear(); }
  int64_t bytes() const;  // of the copies
  int64_t size() const { return static_cast<int64_t>(entries_.size()); }

 private:
  using Key = std::tuple<const void*, DType, Shape, Shape>;  // data, dtype, shape, strides
  struct Entry {
    Tensor master, copy;
    DType dtype;  // the precision the copy is rounded to
  };
  std::map<Key, Entry> entries_;
};

// While alive, products on this thread run in `dtype` (bf16 or f16; f32 turns autocast off,
// e.g. around the router). `weights` caches the weight copies; null inherits the enclosing
// scope's cache when that scope has the same dtype.
class AutocastScope {
 public:
  explicit AutocastScope(DType dtype, LowpWeights* weights = nullptr);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  DType prev_dtype_;
  LowpWeights* prev_weights_;
};

// The product dtype on this thread: f32 when no autocast scope (or an f32 one) is active.
DType autocast_dtype();
inline bool autocast_active() { return autocast_dtype() != DType::f32; }

// The operand an f32 tensor becomes under the active scope: the cached copy for a weight, a
// fresh conversion for anything else. Returns `x` itself when autocast is off or x is not f32.
Tensor autocast_operand(const Tensor& x);

// Where products for `dtype` (bf16 or f16) keep their operands: dtype itself, or f32 (above).
DType lowp_storage_dtype(DType dtype);
// x as a product operand for `dtype`: converted to lowp_storage_dtype(dtype), rounded to dtype's
// precision either way; contiguous; no autograd. `x` itself when dtype is f32 or f64.
Tensor lowp_operand(const Tensor& x, DType dtype);

// Differentiable rounding to the autocast dtype (values stay f32): forward rounds x, backward
// rounds the gradient. The identity when autocast is off or x is not f32.
Tensor autocast_round(const Tensor& x);

// "fp32" | "bf16" | "fp16" (train.precision) to the product dtype f32 / bf16 / f16; throws on
// anything else, naming the value.
DType precision_dtype(const std::string& precision);

}  // namespace seekforge::ops
