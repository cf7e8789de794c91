#include "ops/softmax.h"

#include "autograd/node.h"
#include "kernels/softmax.h"
#include "ops/common.h"

namespace seekforge::ops {

using autograd::record;
using Saved = std::vector<Tensor>;
using Grads = std::vector<Tensor>;

namespace {

// The row kernels work on the last dim; another dim is moved there and back.
Tensor softmax_impl(const Tensor& x, int64_t dim, bool log_form) {
  const char* op = log_form ? "log_softmax" : "softmax";
  detail::check_float(x, op, "input");
  const int64_t d = wrap_dim(dim, x.dim());
  const bool last = x.dim() == 0 || d == x.dim() - 1;
  Tensor xm = last ? x.contiguous() : x.transpose(d, -1).contiguous();
  const int64_t C = xm.dim() == 0 ? 1 : xm.size(-1), N = xm.numel() / std::max<int64_t>(C, 1);
  Tensor ym = empty(xm.shape(), x.dtype());
  dispatch_float(x.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    if (log_form)
      kernels::log_softmax_forward(ym.data<T>(), xm.data<T>(), N, C);
    else
      kernels::softmax_forward(ym.data<T>(), xm.data<T>(), N, C);
  });
  Tensor y = last ? ym : ym.transpose(d, -1);
  record(log_form ? "LogSoftmaxBackward" : "SoftmaxBackward", {&y}, {x}, {ym},
         [N, C, d, last, log_form](const Saved& s, Grads& g) {
           Tensor dy = last ? g[0].contiguous() : g[0].transpose(d, -1).contiguous();
           Tensor dx = zeros(s[0].shape(), s[0].dtype());
           dispatch_float(dy.dtype(), "SoftmaxBackward", [&](auto zero) {
             using T = decltype(zero);
             if (log_form)
               kernels::log_softmax_backward(dx.data<T>(), s[0].data<T>(), dy.data<T>(), N, C);
             else
               kernels::softmax_backward(dx.data<T>(), s[0].data<T>(), dy.data<T>(), N, C);
           });
           return Grads{last ? dx : dx.transpose(d, -1)};
         });
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace seekforge::ops
