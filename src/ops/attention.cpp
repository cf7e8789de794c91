#include "ops/attention.h"

#include <cmath>

#include "autograd/node.h"
#include "kernels/attention.h"
#include "ops/autocast.h"
#include "ops/common.h"

namespace seekforge::ops {

using autograd::record;
using Saved = std::vector<Tensor>;
using Grads = std::vector<Tensor>;

namespace {

// Key/value positions per batch row when k and v can be read in place: each position's heads
// contiguous, batch rows a whole number of positions apart (a KV cache narrowed to its filled
// length); 0 when they must be copied.
int64_t rows_in_place(const Tensor& k, const Tensor& v) {
  const int64_t KV = k.size(2), Dk = k.size(3), Dv = v.size(3);
  if (KV * Dk == 0 || KV * Dv == 0) return 0;
  const bool rows_dense = k.stride(3) == 1 && k.stride(2) == Dk && k.stride(1) == KV * Dk &&
                          v.stride(3) == 1 && v.stride(2) == Dv && v.stride(1) == KV * Dv;
  if (!rows_dense) return 0;
  if (k.size(0) == 1) return k.size(1);
  if (k.stride(0) % (KV * Dk) != 0 || v.stride(0) % (KV * Dv) != 0) return 0;
  const int64_t rows = k.stride(0) / (KV * Dk);
  return rows >= k.size(1) && v.stride(0) / (KV * Dv) == rows ? rows : 0;
}

Tensor attention_on(const Tensor& q, const Tensor& k, const Tensor& v,
                    const AttentionOptions& options) {
  const char* op = "attention";
  detail::check_float(q, op, "q");
  detail::check_float(k, op, "k");
  detail::check_float(v, op, "v");
  detail::check_same_dtype(q, k, op);
  detail::check_same_dtype(q, v, op);
  SF_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4)
      << op << ": expected q [B, Tq, H, D], k and v [B, Tk, KV, D]; got " << q.describe() << ", "
      << k.describe() << ", " << v.describe();
  kernels::AttentionShape s;
  s.B = q.size(0);
  s.Tq = q.size(1);
  s.H = q.size(2);
  s.Dqk = q.size(3);
  s.Tk = k.size(1);
  s.KV = k.size(2);
  s.Dv = v.size(3);
  s.window = options.window;
  SF_CHECK(k.size(0) == s.B && v.size(0) == s.B && v.size(1) == s.Tk && v.size(2) == s.KV &&
           k.size(3) == s.Dqk)
      << op << ": q " << q.describe() << ", k " << k.describe() << ", v " << v.describe()
      << " do not agree";
  SF_CHECK(s.KV > 0 && s.H % s.KV == 0)
      << op << ": " << s.H << " query heads cannot share " << s.KV << " key/value heads";
  SF_CHECK(s.Tq <= s.Tk) << op << ": " << s.Tq << " queries but only " << s.Tk << " keys";
  SF_CHECK(s.window >= 0) << op << ": window " << s.window << " is negative";
  SF_CHECK(s.Dqk <= kernels::kAttentionMaxHeadDim && s.Dv <= kernels::kAttentionMaxHeadDim)
      << op << ": head dims " << s.Dqk << "/" << s.Dv << " exceed "
      << kernels::kAttentionMaxHeadDim;
  Tensor keep;
  if (options.key_keep.defined()) {
    SF_CHECK(options.key_keep.shape() == (Shape{s.B, s.Tk}) &&
             (options.key_keep.dtype() == DType::boolean || options.key_keep.dtype() == DType::u8))
        << op << ": key_keep must be a bool/u8 [" << s.B << ", " << s.Tk << "] mask, got "
        << options.key_keep.describe();
    keep = options.key_keep.contiguous();
  }
  const double scale = options.scale > 0 ? options.scale : 1.0 / std::sqrt(static_cast<double>(s.Dqk));
  // Backward reads k and v packed, so only an unrecorded call (decoding) reads them in place.
  if (!autograd::should_record({&q, &k, &v})) s.kv_rows = rows_in_place(k, v);
  Tensor qc = q.contiguous();
  Tensor kc = s.kv_rows > 0 ? k : k.contiguous(), vc = s.kv_rows > 0 ? v : v.contiguous();
  Tensor out = empty({s.B, s.Tq, s.H, s.Dv}, q.dtype());
  Tensor lse = empty({s.B, s.H, s.Tq}, q.dtype());
  const uint8_t* pk = keep.defined() ? keep.data<uint8_t>() : nullptr;
  dispatch_float(q.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    kernels::attention_forward(out.data<T>(), lse.data<T>(), qc.data<T>(), kc.data<T>(),
                               vc.data<T>(), pk, static_cast<T>(scale), s);
  });
  record("AttentionBackward", {&out}, {q, k, v}, {qc, kc, vc, out, lse, keep},
         [s, scale](const Saved& sv, Grads& g) {
           Tensor dout = g[0].contiguous();
           const DType dt = sv[0].dtype();
           Tensor dq = zeros(sv[0].shape(), dt), dk = zeros(sv[1].shape(), dt),
                  dv = zeros(sv[2].shape(), dt);
           const uint8_t* pk = sv[5].defined() ? sv[5].data<uint8_t>() : nullptr;
           dispatch_float(dt, "AttentionBackward", [&](auto zero) {
             using T = decltype(zero);
             kernels::attention_backward(dq.data<T>(), dk.data<T>(), dv.data<T>(), dout.data<T>(),
                                         sv[0].data<T>(), sv[1].data<T>(), sv[2].data<T>(),
                                         sv[3].data<T>(), sv[4].data<T>(), pk,
                                         static_cast<T>(scale), s);
           });
           return Grads{dq, dk, dv};
         });
  return out;
}

}  // namespace

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v,
                 const AttentionOptions& options) {
  // Under autocast the kernel reads q, k, v as 16-bit values and its output is rounded the same
  // way (so is the gradient arriving at it); the tile products accumulate in f32.
  if (autocast_active())
    return autocast_round(
        attention_on(autocast_round(q), autocast_round(k), autocast_round(v), options));
  return attention_on(q, k, v, options);
}

}  // namespace seekforge::ops
