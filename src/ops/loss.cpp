#include "ops/loss.h"

#include "autograd/node.h"
#include "kernels/cross_entropy.h"
#include "ops/common.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace seekforge::ops {

using autograd::record;
using Saved = std::vector<Tensor>;
using Grads = std::vector<Tensor>;

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, double label_smoothing,
                     Reduction reduction, int64_t ignore_index) {
  const char* op = "cross_entropy";
  detail::check_float(logits, op, "logits");
  SF_CHECK(targets.defined() && targets.dtype() == DType::i64)
      << op << ": targets must be i64, got " << targets.describe();
  SF_CHECK(logits.dim() >= 1) << op << ": logits must have a class dimension";
  const int64_t V = logits.size(-1), N = logits.numel() / std::max<int64_t>(V, 1);
  Shape row_shape(logits.shape().begin(), logits.shape().end() - 1);
  SF_CHECK(targets.shape() == row_shape)
      << op << ": targets " << targets.describe() << " do not match logits " << logits.describe();
  SF_CHECK(label_smoothing >= 0 && label_smoothing <= 1)
      << op << ": label_smoothing " << label_smoothing << " outside [0, 1]";
  Tensor tc = targets.contiguous();
  const int64_t* pt = tc.data<int64_t>();
  int64_t valid = 0;
  for (int64_t i = 0; i < N; ++i) {
    SF_CHECK(pt[i] == ignore_index || (pt[i] >= 0 && pt[i] < V))
        << op << ": target " << pt[i] << " at row " << i << " is outside [0, " << V
        << ") for logits " << logits.describe();
    valid += pt[i] != ignore_index;
  }
  Tensor lc = logits.contiguous();
  Tensor losses = empty(row_shape, logits.dtype()), lse = empty({N}, logits.dtype());
  const double reduce_scale =
      reduction == Reduction::mean ? (valid > 0 ? 1.0 / static_cast<double>(valid) : 0.0) : 1.0;
  if (reduction != Reduction::none && autograd::should_record({&logits})) {
    // Training: the gradient of a reduced loss is known up to the upstream scalar, so one pass
    // over the logits computes both (the backward then only scales it).
    Tensor dlogits = empty(lc.shape(), logits.dtype());
    Tensor dloss = full({N}, reduce_scale, logits.dtype());
    dispatch_float(logits.dtype(), op, [&](auto zero) {
      using T = decltype(zero);
      kernels::cross_entropy_forward_backward(losses.data<T>(), lse.data<T>(), dlogits.data<T>(),
                                              dloss.data<T>(), lc.data<T>(), pt, N, V,
                                              static_cast<T>(label_smoothing), ignore_index);
    });
    Tensor out;
    {
      autograd::NoGradGuard no_grad;
      out = full({}, sum(losses).item_double() * reduce_scale, logits.dtype());
    }
    record("CrossEntropyBackward", {&out}, {logits}, {dlogits}, [](const Saved& s, Grads& g) {
      const double scale = g[0].item_double();
      return Grads{scale == 1.0 ? s[0] : mul(s[0], scale)};
    });
    return out;
  }
  dispatch_float(logits.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    kernels::cross_entropy_forward(losses.data<T>(), lse.data<T>(), lc.data<T>(), pt, N, V,
                                   static_cast<T>(label_smoothing), ignore_index);
  });
  Tensor out;
  {
    autograd::NoGradGuard no_grad;
    out = reduction == Reduction::none
              ? losses
              : full({}, sum(losses).item_double() * reduce_scale, logits.dtype());
  }
  record("CrossEntropyBackward", {&out}, {logits}, {lc, lse, tc},
         [N, V, label_smoothing, ignore_index, reduce_scale, reduction](const Saved& s, Grads& g) {
           // Per-row upstream gradient: the reduction's scale folded in.
           Tensor dloss;
           if (reduction == Reduction::none) {
             dloss = g[0].contiguous();
           } else {
             dloss = full({N}, g[0].item_double() * reduce_scale, s[0].dtype());
           }
           Tensor dlogits = empty(s[0].shape(), s[0].dtype());
           dispatch_float(s[0].dtype(), "CrossEntropyBackward", [&](auto zero) {
             using T = decltype(zero);
             kernels::cross_entropy_backward(dlogits.data<T>(), dloss.data<T>(), s[0].data<T>(),
                                             s[1].data<T>(), s[2].data<int64_t>(), N, V,
                                             static_cast<T>(label_smoothing), ignore_index,
                                             /*accumulate=*/false);
           });
           return Grads{dlogits};
         });
  return out;
}

}  // namespace seekforge::ops
