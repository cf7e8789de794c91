// expert_swiglu (see experts.h): per-expert GEMMs on row ranges of one buffer, one tape node.
#include "ops/experts.h"

#include <type_traits>

#include "autograd/node.h"
#include "kernels/gemm.h"
#include "kernels/swiglu.h"
#include "ops/autocast.h"
#include "ops/common.h"

namespace seekforge::ops {

using autograd::record;
using Saved = std::vector<Tensor>;
using Grads = std::vector<Tensor>;

namespace {

// C[m, n] = op(A) op(B) + beta * C on dense row-major operands. A and B hold `ab` elements:
// T itself, or a 16-bit type under autocast (then T is float and products accumulate in f32).
template <typename T>
void gemm_dense(DType ab, T* c, const void* a, const void* b, int64_t m, int64_t n, int64_t k,
                bool ta, bool tb, T beta) {
  if (m == 0 || n == 0) return;
  const kernels::GemmShape s = kernels::gemm_shape(1, m, n, k, ta, tb);
  if constexpr (std::is_same_v<T, double>) {
    kernels::gemm(s, static_cast<const double*>(a), static_cast<const double*>(b), c, 1.0, beta);
  } else {
    kernels::gemm(ab, s, a, b, c, 1.0f, beta);
  }
}

// Row r of a contiguous [rows, cols] tensor, whatever its dtype.
const void* row(const Tensor& t, int64_t r) {
  return static_cast<const char*>(t.raw_data()) +
         r * t.size(1) * static_cast<int64_t>(dtype_size(t.dtype()));
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

  // The product operands: the tensors themselves, or their 16-bit copies under autocast (the
  // weights from the scope's cache). g, u, h, the gradients and ys stay in xs's dtype.
  const bool lowp = autocast_active() && xs.dtype() == DType::f32;
  const DType prec = lowp ? autocast_dtype() : xs.dtype();
  const DType ab = lowp_storage_dtype(prec);
  auto operand = [lowp](const Tensor& t) {
    return lowp ? autocast_operand(t).contiguous() : t.contiguous();
  };
  Tensor x = operand(xs);
  std::vector<Tensor> wg(E), wu(E), wd(E);
  for (int64_t e = 0; e < E; ++e) {
    wg[e] = operand(gate[e]);
    wu[e] = operand(up[e]);
    wd[e] = operand(down[e]);
  }
  Tensor g = empty({A, H}, xs.dtype()), u = empty({A, H}, xs.dtype());
  Tensor h = empty({A, H}, xs.dtype()), ys = empty({A, D}, xs.dtype());
  Tensor ho;
  dispatch_float(xs.dtype(), "expert_swiglu", [&](auto zero) {
    using T = decltype(zero);
    int64_t r0 = 0;
    for (int64_t e = 0; e < E; ++e) {
      const int64_t n = counts[e];
      T *ge = g.data<T>() + r0 * H, *ue = u.data<T>() + r0 * H;
      gemm_dense(ab, ge, row(x, r0), wg[e].raw_data(), n, H, D, false, true, T(0));
      gemm_dense(ab, ue, row(x, r0), wu[e].raw_data(), n, H, D, false, true, T(0));
      kernels::swiglu_forward(h.data<T>() + r0 * H, ge, ue, n * H);
      r0 += n;
    }
    ho = lowp_operand(h, prec);
    r0 = 0;
    for (int64_t e = 0; e < E; ++e) {
      const int64_t n = counts[e];
      gemm_dense(ab, ys.data<T>() + r0 * D, row(ho, r0), wd[e].raw_data(), n, D, H, false, true,
                 T(0));
      r0 += n;
    }
  });

  std::vector<Tensor> inputs{xs};
  for (const auto* list : {&gate, &up, &down})
    inputs.insert(inputs.end(), list->begin(), list->end());
  Saved saved{x, g, u, ho};
  for (const auto* list : {&wg, &wu, &wd}) saved.insert(saved.end(), list->begin(), list->end());
  record("ExpertSwigluBackward", {&ys}, inputs, std::move(saved),
         [counts, A, D, H, E, ab, prec](const Saved& s, Grads& grads) {
           const Tensor &g = s[1], &u = s[2], &ho = s[3];
           const DType dt = g.dtype();
           const Tensor dyo = lowp_operand(grads[0].contiguous(), prec);
           auto weight = [&s, E](int64_t which, int64_t e) { return s[4 + which * E + e].raw_data(); };
           Grads out(1 + 3 * E);
           out[0] = empty({A, D}, dt);
           // An expert that got no rows gets no gradient (undefined), as with the composed
           // layers: the optimiser then leaves it alone, as PyTorch's does.
           for (int64_t e = 0; e < E; ++e) {
             if (counts[e] == 0) continue;
             out[1 + e] = empty({H, D}, dt);
             out[1 + E + e] = empty({H, D}, dt);
             out[1 + 2 * E + e] = empty({D, H}, dt);
           }
           Tensor dh = empty({A, H}, dt), dg = zeros({A, H}, dt), du = zeros({A, H}, dt);
           dispatch_float(dt, "ExpertSwigluBackward", [&](auto zero) {
             using T = decltype(zero);
             int64_t r0 = 0;
             for (int64_t e = 0; e < E; ++e) {
               const int64_t n = counts[e];
               if (n == 0) continue;
               T* dhe = dh.data<T>() + r0 * H;
               // ys_e = h_e down_e^T: d down_e = dy_e^T h_e, dh_e = dy_e down_e.
               gemm_dense(ab, out[1 + 2 * E + e].data<T>(), row(dyo, r0), row(ho, r0), D, H, n,
                          true, false, T(0));
               gemm_dense(ab, dhe, row(dyo, r0), weight(2, e), n, H, D, false, false, T(0));
               // h = silu(g) * u.
               kernels::swiglu_backward(dg.data<T>() + r0 * H, du.data<T>() + r0 * H, dhe,
                                        g.data<T>() + r0 * H, u.data<T>() + r0 * H, n * H);
               r0 += n;
             }
             // g_e = x_e gate_e^T, u_e = x_e up_e^T: weight gradients and dx_e.
             const Tensor &x = s[0], dgo = lowp_operand(dg, prec), duo = lowp_operand(du, prec);
             r0 = 0;
             for (int64_t e = 0; e < E; ++e) {
               const int64_t n = counts[e];
               if (n == 0) continue;
               gemm_dense(ab, out[1 + e].data<T>(), row(dgo, r0), row(x, r0), H, D, n, true,
                          false, T(0));
               gemm_dense(ab, out[1 + E + e].data<T>(), row(duo, r0), row(x, r0), H, D, n, true,
                          false, T(0));
               T* dxe = out[0].data<T>() + r0 * D;
               gemm_dense(ab, dxe, row(dgo, r0), weight(0, e), n, D, H, false, false, T(0));
               gemm_dense(ab, dxe, row(duo, r0), weight(1, e), n, D, H, false, false, T(1));
               r0 += n;
             }
           });
           return out;
         });
  return ys;
}

}  // namespace seekforge::ops
