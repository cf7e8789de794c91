#include "ops/activation.h"

#include "autograd/node.h"
#include "kernels/swiglu.h"
#include "ops/common.h"

namespace seekforge::ops {

using autograd::record;
using Saved = std::vector<Tensor>;
using Grads = std::vector<Tensor>;

Tensor swiglu(const Tensor& gate, const Tensor& up) {
  detail::check_float(gate, "swiglu", "gate");
  detail::check_float(up, "swiglu", "up");
  detail::check_same_dtype(gate, up, "swiglu");
  SF_CHECK(gate.shape() == up.shape())
      << "swiglu: gate " << gate.describe() << " and up " << up.describe() << " differ in shape";
  Tensor gc = gate.contiguous(), uc = up.contiguous();
  Tensor h = empty(gate.shape(), gate.dtype());
  const int64_t n = h.numel();
  dispatch_float(gate.dtype(), "swiglu", [&](auto zero) {
    using T = decltype(zero);
    kernels::swiglu_forward(h.data<T>(), gc.data<T>(), uc.data<T>(), n);
  });
  record("SwigluBackward", {&h}, {gate, up}, {gc, uc}, [n](const Saved& s, Grads& g) {
    Tensor dh = g[0].contiguous();
    Tensor dg = zeros(s[0].shape(), s[0].dtype()), du = zeros(s[1].shape(), s[1].dtype());
    dispatch_float(dh.dtype(), "SwigluBackward", [&](auto zero) {
      using T = decltype(zero);
      kernels::swiglu_backward(dg.data<T>(), du.data<T>(), dh.data<T>(), s[0].data<T>(),
                               s[1].data<T>(), n);
    });
    return Grads{dg, du};
  });
  return h;
}

}  // namespace seekforge::ops
