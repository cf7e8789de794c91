#include "ops/norm.h"

#include "autograd/node.h"
#include "kernels/norm.h"
#include "ops/common.h"

namespace seekforge::ops {

using autograd::record;
using Saved = std::vector<Tensor>;
using Grads = std::vector<Tensor>;

namespace {
void check_norm_args(const Tensor& x, const Tensor& w, const char* op) {
  detail::check_float(x, op, "input");
  detail::check_float(w, op, "weight");
  detail::check_same_dtype(x, w, op);
  SF_CHECK(x.dim() >= 1 && w.dim() == 1 && w.size(0) == x.size(-1))
      << op << ": weight " << w.describe() << " does not match input " << x.describe();
}
}  // namespace

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  check_norm_args(x, weight, "rms_norm");
  const int64_t C = x.size(-1), N = x.numel() / std::max<int64_t>(C, 1);
  Tensor xc = x.contiguous(), wc = weight.contiguous();
  Tensor y = empty(x.shape(), x.dtype()), rstd = empty({N}, x.dtype());
  dispatch_float(x.dtype(), "rms_norm", [&](auto zero) {
    using T = decltype(zero);
    kernels::rmsnorm_forward(y.data<T>(), rstd.data<T>(), xc.data<T>(), wc.data<T>(), N, C,
                             static_cast<T>(eps));
  });
  record("RmsNormBackward", {&y}, {x, weight}, {xc, wc, rstd},
         [N, C](const Saved& s, Grads& g) {
           Tensor dy = g[0].contiguous();
           Tensor dx = zeros(s[0].shape(), s[0].dtype()), dw = zeros(s[1].shape(), s[1].dtype());
           dispatch_float(dy.dtype(), "RmsNormBackward", [&](auto zero) {
             using T = decltype(zero);
             kernels::rmsnorm_backward(dx.data<T>(), dw.data<T>(), dy.data<T>(), s[0].data<T>(),
                                       s[1].data<T>(), s[2].data<T>(), N, C);
           });
           return Grads{dx, dw};
         });
  return y;
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  check_norm_args(x, weight, "layer_norm");
  const int64_t C = x.size(-1), N = x.numel() / std::max<int64_t>(C, 1);
  Tensor b = bias.defined() ? bias.contiguous() : zeros({C}, x.dtype());
  if (bias.defined()) check_norm_args(x, bias, "layer_norm");
  Tensor xc = x.contiguous(), wc = weight.contiguous();
  Tensor y = empty(x.shape(), x.dtype());
  Tensor mean = empty({N}, x.dtype()), rstd = empty({N}, x.dtype());
  dispatch_float(x.dtype(), "layer_norm", [&](auto zero) {
    using T = decltype(zero);
    kernels::layernorm_forward(y.data<T>(), mean.data<T>(), rstd.data<T>(), xc.data<T>(),
                               wc.data<T>(), b.data<T>(), N, C, static_cast<T>(eps));
  });
  record("LayerNormBackward", {&y}, {x, weight, bias}, {xc, wc, mean, rstd},
         [N, C, has_bias = bias.defined()](const Saved& s, Grads& g) {
           Tensor dy = g[0].contiguous();
           Tensor dx = zeros(s[0].shape(), s[0].dtype()), dw = zeros({C}, s[0].dtype()),
                  db = zeros({C}, s[0].dtype());
           dispatch_float(dy.dtype(), "LayerNormBackward", [&](auto zero) {
             using T = decltype(zero);
             kernels::layernorm_backward(dx.data<T>(), dw.data<T>(), db.data<T>(), dy.data<T>(),
                                         s[0].data<T>(), s[1].data<T>(), s[2].data<T>(),
                                         s[3].data<T>(), N, C);
           });
           return Grads{dx, dw, has_bias ? db : Tensor()};
         });
  return y;
}

}  // namespace seekforge::ops
