// expert_swiglu (see experts.h): per-expert GEMMs on row ranges of one buffer, one tape node.
#include "ops/experts.h"

#include "autograd/node.h"
#include "kernels/gemm.h"
#include "kernels/swiglu.h"
#include "ops/common.h"

namespace seekforge::ops {

using autograd::record;
using Saved = std::vector<Tensor>;
using Grads = std::vector<Tensor>;

namespace {

// C[m, n] = alpha * op(A) op(B) + beta * C on dense row-major operands.
template <typename T>
void gemm_dense(T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k, bool ta, bool tb,
                T beta) {
  if (m == 0 || n == 0) return;
  kernels::gemm(kernels::gemm_shape(1, m, n, k, ta, tb), a, b, c, T(1), beta);
}

}  // namespace

Tensor expert_swiglu(const Tensor& xs, const std::vector<int64_t>& counts,
                     const std::vector<Tensor>& gate, const std::vector<Tensor>& up,
                     const std::vector<Tensor>& down) {
  detail::check_float(xs, "expert_swiglu", "xs");
  SF_CHECK(xs.dim() == 2) << "expert_swiglu: xs must be [A, D], got " << xs.describe();
  const int64_t E = static_cast<int64_t>(counts.size());
  SF_CHECK(E > 0 && static_cast<int64_t>(gate.size()) == E &&
           static_cast<int64_t>(up.size()) == E && static_cast<int64_t>(down.size()) == E)
      << "expert_swiglu: " << E << " counts for " << gate.size() << " gate, " << up.size()
      << " up and " << down.size() << " down weights";
  const int64_t A = xs.size(0), D = xs.size(1);
  SF_CHECK(gate[0].defined() && gate[0].dim() == 2)
      << "expert_swiglu: gate[0] must be [H, D], got " << gate[0].describe();
  const int64_t H = gate[0].size(0);
  int64_t total = 0;
  for (int64_t e = 0; e < E; ++e) {
    SF_CHECK(counts[e] >= 0) << "expert_swiglu: negative row count " << counts[e] << " for expert "
                             << e;
    total += counts[e];
    for (const Tensor* w : {&gate[e], &up[e], &down[e]}) {
      detail::check_float(*w, "expert_swiglu", "an expert weight");
      detail::check_same_dtype(xs, *w, "expert_swiglu");
      SF_CHECK(w->is_contiguous())
          << "expert_swiglu: expert " << e << " weight " << w->describe() << " is not contiguous";
    }
    SF_CHECK(gate[e].shape() == Shape({H, D}) && up[e].shape() == Shape({H, D}) &&
             down[e].shape() == Shape({D, H}))
        << "expert_swiglu: expert " << e << " weights gate " << gate[e].describe() << ", up "
        << up[e].describe() << ", down " << down[e].describe() << " do not fit [" << H << ", " << D
        << "] / [" << D << ", " << H << "]";
  }
  SF_CHECK(total == A) << "expert_swiglu: counts sum to " << total << " but xs has " << A
                       << " rows";

  Tensor x = xs.contiguous();
  Tensor g = empty({A, H}, xs.dtype()), u = empty({A, H}, xs.dtype());
  Tensor h = empty({A, H}, xs.dtype()), ys = empty({A, D}, xs.dtype());
  dispatch_float(xs.dtype(), "expert_swiglu", [&](auto zero) {
    using T = decltype(zero);
    int64_t r0 = 0;
    for (int64_t e = 0; e < E; ++e) {
      const int64_t n = counts[e];
      if (n == 0) continue;
      const T* xe = x.data<T>() + r0 * D;
      T *ge = g.data<T>() + r0 * H, *ue = u.data<T>() + r0 * H, *he = h.data<T>() + r0 * H;
      gemm_dense(ge, xe, gate[e].data<T>(), n, H, D, false, true, T(0));
      gemm_dense(ue, xe, up[e].data<T>(), n, H, D, false, true, T(0));
      kernels::swiglu_forward(he, ge, ue, n * H);
      gemm_dense(ys.data<T>() + r0 * D, he, down[e].data<T>(), n, D, H, false, true, T(0));
      r0 += n;
    }
  });

  std::vector<Tensor> inputs{xs};
  for (const auto* list : {&gate, &up, &down})
    inputs.insert(inputs.end(), list->begin(), list->end());
  Saved saved{x, g, u, h};
  for (const auto* list : {&gate, &up, &down})
    saved.insert(saved.end(), list->begin(), list->end());
  record("ExpertSwigluBackward", {&ys}, inputs, std::move(saved),
         [counts, A, D, H, E](const Saved& s, Grads& grads) {
           const Tensor dy = grads[0].contiguous();
           const Tensor &x = s[0], &g = s[1], &u = s[2], &h = s[3];
           Grads out(1 + 3 * E);
           out[0] = empty({A, D}, x.dtype());
           // An expert that got no rows gets no gradient (undefined), as with the composed
           // layers: the optimiser then leaves it alone, as PyTorch's does.
           for (int64_t e = 0; e < E; ++e) {
             if (counts[e] == 0) continue;
             out[1 + e] = empty({H, D}, x.dtype());
             out[1 + E + e] = empty({H, D}, x.dtype());
             out[1 + 2 * E + e] = empty({D, H}, x.dtype());
           }
           Tensor dh = empty({A, H}, x.dtype()), dg = zeros({A, H}, x.dtype()),
                  du = zeros({A, H}, x.dtype());
           dispatch_float(x.dtype(), "ExpertSwigluBackward", [&](auto zero) {
             using T = decltype(zero);
             int64_t r0 = 0;
             for (int64_t e = 0; e < E; ++e) {
               const int64_t n = counts[e];
               if (n == 0) continue;
               T* dwg = out[1 + e].data<T>();
               T* dwu = out[1 + E + e].data<T>();
               T* dwd = out[1 + 2 * E + e].data<T>();
               const T* dye = dy.data<T>() + r0 * D;
               const T* xe = x.data<T>() + r0 * D;
               const T *ge = g.data<T>() + r0 * H, *ue = u.data<T>() + r0 * H;
               T* dhe = dh.data<T>() + r0 * H;
               T *dge = dg.data<T>() + r0 * H, *due = du.data<T>() + r0 * H;
               // ys_e = h_e down_e^T: d down_e = dy_e^T h_e, dh_e = dy_e down_e.
               gemm_dense(dwd, dye, h.data<T>() + r0 * H, D, H, n, true, false, T(0));
               gemm_dense(dhe, dye, s[4 + 2 * E + e].template data<T>(), n, H, D, false, false,
                          T(0));
               // h = silu(g) * u.
               kernels::swiglu_backward(dge, due, dhe, ge, ue, n * H);
               // g_e = x_e gate_e^T, u_e = x_e up_e^T: weight gradients and dx_e.
               gemm_dense(dwg, dge, xe, H, D, n, true, false, T(0));
               gemm_dense(dwu, due, xe, H, D, n, true, false, T(0));
               T* dxe = out[0].data<T>() + r0 * D;
               gemm_dense(dxe, dge, s[4 + e].template data<T>(), n, D, H, false, false, T(0));
               gemm_dense(dxe, due, s[4 + E + e].template data<T>(), n, D, H, false, false, T(1));
               r0 += n;
             }
           });
           return out;
         });
  return ys;
}

}  // namespace seekforge::ops
