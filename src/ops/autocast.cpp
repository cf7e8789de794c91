#include "ops/autocast.h"

#include "autograd/node.h"
#include "kernels/gemm.h"

namespace seekforge::ops {

namespace {

struct AutocastState {
  DType dtype = DType::f32;
  LowpWeights* weights = nullptr;
};
thread_local AutocastState g_state;

bool is_weight(const Tensor& x) { return x.is_leaf() && x.requires_grad(); }

// dst[i] = src[i] rounded to dt's precision (f32 values).
void round_floats(float* dst, const float* src, int64_t n, DType dt) {
  if (dt == DType::bf16) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(float_to_bf16(src[i]));
  } else {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_float(float_to_f16(src[i]));
  }
}

// x rounded to `dt` as f32; contiguous.
Tensor round_through(const Tensor& x, DType dt) {
  const Tensor c = x.contiguous();
  Tensor y = empty(c.shape(), DType::f32);
  round_floats(y.data<float>(), c.data<float>(), c.numel(), dt);
  return y;
}

}  // namespace

Tensor LowpWeights::get(const Tensor& master, DType dtype) {
  Key key{master.raw_data(), dtype, master.shape(), master.strides()};
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.master.storage() == master.storage()) return it->second.copy;
  Tensor copy = lowp_operand(master.detach(), dtype);
  entries_[key] = Entry{master.detach(), copy, dtype};
  return copy;
}

void LowpWeights::refresh() {
  for (auto& [key, e] : entries_) {
    if (e.copy.dtype() != DType::f32) {
      e.copy.copy_(e.master);
      continue;
    }
    const Tensor m = e.master.contiguous();
    round_floats(e.copy.data<float>(), m.data<float>(), m.numel(), e.dtype);
  }
}

int64_t LowpWeights::bytes() const {
  int64_t n = 0;
  for (const auto& [key, e] : entries_) n += e.copy.numel() * static_cast<int64_t>(dtype_size(e.copy.dtype()));
  return n;
}

AutocastScope::AutocastScope(DType dtype, LowpWeights* weights)
    : prev_dtype_(g_state.dtype), prev_weights_(g_state.weights) {
  SF_CHECK(dtype == DType::f32 || dtype == DType::bf16 || dtype == DType::f16)
      << "autocast: products run in f32, bf16 or f16, not " << dtype_name(dtype);
  g_state.dtype = dtype;
  g_state.weights = weights != nullptr ? weights : (prev_dtype_ == dtype ? prev_weights_ : nullptr);
}

AutocastScope::~AutocastScope() {
  g_state.dtype = prev_dtype_;
  g_state.weights = prev_weights_;
}

DType autocast_dtype() { return g_state.dtype; }

Tensor autocast_operand(const Tensor& x) {
  const DType dt = g_state.dtype;
  if (dt == DType::f32 || !x.defined() || x.dtype() != DType::f32) return x;
  if (g_state.weights != nullptr && is_weight(x)) return g_state.weights->get(x, dt);
  return lowp_operand(x.detach(), dt);
}

DType lowp_storage_dtype(DType dtype) {
  if (dtype == DType::f32 || dtype == DType::f64) return dtype;
  return kernels::gemm_native(dtype) ? dtype : DType::f32;
}

Tensor lowp_operand(const Tensor& x, DType dtype) {
  if (dtype == DType::f32 || dtype == DType::f64 || x.dtype() != DType::f32) return x;
  if (lowp_storage_dtype(dtype) == dtype) return x.contiguous().to(dtype);
  return round_through(x, dtype);
}

Tensor autocast_round(const Tensor& x) {
  const DType dt = g_state.dtype;
  if (dt == DType::f32 || !x.defined() || x.dtype() != DType::f32) return x;
  Tensor y = round_through(x.detach(), dt);
  autograd::record("AutocastRoundBackward", {&y}, {x}, {},
                   [dt](const std::vector<Tensor>&, std::vector<Tensor>& g) {
                     return std::vector<Tensor>{round_through(g[0], dt)};
                   });
  return y;
}

DType precision_dtype(const std::string& precision) {
  if (precision == "fp32") return DType::f32;
  if (precision == "bf16") return DType::bf16;
  if (precision == "fp16") return DType::f16;
  SF_FAIL() << "precision '" << precision << "': expected \"fp32\", \"bf16\" or \"fp16\"";
}

}  // namespace seekforge::ops
