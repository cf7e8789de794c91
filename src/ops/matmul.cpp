#include "ops/matmul.h"

#include "autograd/node.h"
#include "kernels/gemm.h"
#include "ops/autocast.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/shape.h"

namespace seekforge::ops {

using autograd::record;
using Saved = std::vector<Tensor>;
using Grads = std::vector<Tensor>;

namespace {

// A [batch, rows, cols] operand as the GEMM sees it: pointer, row stride, transpose flag and
// batch stride. Copies only when neither the rows nor the columns are unit-stride.
struct Operand {
  Tensor t;
  int64_t ld = 0, batch_stride = 0;
  bool trans = false;
};

Operand describe(Tensor x3) {
  const int64_t rows = x3.size(1), cols = x3.size(2);
  Operand op;
  if (x3.stride(2) == 1 && (x3.stride(1) >= cols || rows == 1)) {
    op.ld = std::max(x3.stride(1), cols);
  } else if (x3.stride(1) == 1 && (x3.stride(2) >= rows || cols == 1)) {
    op.trans = true;
    op.ld = std::max(x3.stride(2), rows);
  } else {
    x3 = x3.contiguous();
    op.ld = cols;
  }
  op.t = x3;
  op.batch_stride = x3.size(0) == 1 ? 0 : x3.stride(0);
  return op;
}

// Collapses the batch dims of x (all but the last two) into one, if the strides allow.
Tensor collapse_batch(const Tensor& x) {
  const int64_t nd = x.dim();
  int64_t batch = 1;
  for (int64_t d = 0; d < nd - 2; ++d) batch *= x.size(d);
  // Batch dims merge when each one's stride equals the next one's stride times its size.
  bool mergeable = true;
  int64_t stride = 0;
  bool first = true;
  for (int64_t d = nd - 3; d >= 0; --d) {
    if (x.size(d) == 1) continue;
    if (first) {
      stride = x.stride(d);
      first = false;
      continue;
    }
    int64_t inner = 1;
    for (int64_t e = d + 1; e < nd - 2; ++e) inner *= x.size(e);
    if (x.stride(d) != stride * inner) mergeable = false;
  }
  if (!mergeable) return collapse_batch(x.contiguous());
  return x.as_strided({batch, x.size(-2), x.size(-1)}, {first ? 0 : stride, x.stride(-2), x.stride(-1)},
                      x.offset());
}

bool is_16bit(DType t) { return t == DType::bf16 || t == DType::f16; }

void check_operands(const Tensor& a, const Tensor& b, const char* op) {
  SF_CHECK(a.defined() && b.defined()) << op << ": undefined operand";
  SF_CHECK(a.dtype() == b.dtype()) << op << ": dtypes differ: " << a.describe() << " and "
                                   << b.describe();
  SF_CHECK(a.dtype() == DType::f32 || a.dtype() == DType::f64 || is_16bit(a.dtype()))
      << op << ": expected f32, f64, bf16 or f16 operands, got " << a.describe();
}

// C = A @ B for a [..., m, k], b [..., k, n] (both at least 2-d); no autograd.
Tensor matmul_raw(const Tensor& a, const Tensor& b, const char* op) {
  check_operands(a, b, op);
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  SF_CHECK(b.size(-2) == k) << op << ": " << a.describe() << " @ " << b.describe()
                            << ": inner sizes " << k << " and " << b.size(-2) << " differ";
  Shape batch_a(a.shape().begin(), a.shape().end() - 2);
  Shape batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes(batch_a, batch_b);
  } catch (const Error&) {
    SF_FAIL() << op << ": batch dims of " << a.describe() << " and " << b.describe()
              << " cannot be broadcast";
  }
  const DType out_dtype = is_16bit(a.dtype()) ? DType::f32 : a.dtype();
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = empty(out_shape, out_dtype);
  if (out.numel() == 0) return out;
  if (k == 0) {
    out.zero_();
    return out;
  }

  Tensor a3, b3;
  if (b.dim() == 2 && a.dim() > 2 && a.is_contiguous()) {
    // The linear-layer case: fold a's batch into its rows, one GEMM.
    a3 = a.view({1, a.numel() / k, k});
    b3 = b.unsqueeze(0);
  } else {
    Shape ea = batch, eb = batch;
    ea.push_back(m);
    ea.push_back(k);
    eb.push_back(k);
    eb.push_back(n);
    a3 = collapse_batch(a.expand(ea));
    b3 = collapse_batch(b.expand(eb));
  }
  const Operand oa = describe(a3), ob = describe(b3);
  kernels::GemmShape s;
  s.batch = std::max(a3.size(0), b3.size(0));
  s.m = a3.size(1);
  s.n = n;
  s.k = k;
  s.trans_a = oa.trans;
  s.trans_b = ob.trans;
  s.lda = oa.ld;
  s.ldb = ob.ld;
  s.ldc = n;
  s.stride_a = oa.batch_stride;
  s.stride_b = ob.batch_stride;
  s.stride_c = s.batch > 1 ? s.m * n : 0;
  if (a.dtype() == DType::f64) {
    kernels::gemm(s, oa.t.data<double>(), ob.t.data<double>(), out.data<double>(), 1.0, 0.0);
  } else {
    kernels::gemm(a.dtype(), s, oa.t.raw_data(), ob.t.raw_data(), out.data<float>(), 1.0f, 0.0f);
  }
  return out;
}

Tensor swap_last(const Tensor& x) { return x.transpose(-1, -2); }

// a @ b computed on the operands ao, bo: a and b themselves, or their 16-bit copies under
// autocast (then the gradient arriving at the product is rounded to that type too, and the
// gradients leaving it are f32, for the f32 masters a and b).
Tensor matmul_on(const Tensor& a, const Tensor& b, const Tensor& ao, const Tensor& bo,
                 DType lowp = DType::f32) {
  Tensor out = matmul_raw(ao, bo, "matmul");
  if (is_16bit(a.dtype())) return out;  // 16-bit tensors of the caller's own: no gradient
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  record("MatmulBackward", {&out}, {a, b}, {need_b ? ao : Tensor(), need_a ? bo : Tensor()},
         [sa = a.shape(), sb = b.shape(), lowp](const Saved& s, Grads& g) {
           const Tensor& a = s[0];
           const Tensor& b = s[1];
           const Tensor dc = lowp_operand(g[0], lowp);
           Tensor da, db;
           if (b.defined()) da = sum_to(matmul_raw(dc, swap_last(b), "MatmulBackward"), sa);
           if (a.defined()) {
             if (sb.size() == 2 && a.dim() > 2) {
               // dB = A^T dC summed over the batch: one GEMM over the folded rows. Computed
               // as (dC^T A)^T so that, when B is a transposed weight (linear layers), the
               // gradient reaching the weight is contiguous.
               const int64_t k = a.size(-1), n = dc.size(-1);
               Tensor a2 = a.contiguous().view({-1, k}), g2 = dc.contiguous().view({-1, n});
               db = swap_last(matmul_raw(swap_last(g2), a2, "MatmulBackward"));
             } else {
               db = sum_to(matmul_raw(swap_last(a), dc, "MatmulBackward"), sb);
             }
           }
           return Grads{da, db};
         });
  return out;
}

bool autocast_applies(const Tensor& a, const Tensor& b) {
  return autocast_active() && a.dtype() == DType::f32 && b.dtype() == DType::f32;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  SF_CHECK(a.defined() && b.defined() && a.dim() >= 1 && b.dim() >= 1)
      << "matmul: operands must be at least 1-d";
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, -1)), -1);
  if (autocast_applies(a, b))
    return matmul_on(a, b, autocast_operand(a), autocast_operand(b), autocast_dtype());
  return matmul_on(a, b, a, b);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  SF_CHECK(weight.defined() && weight.dim() == 2)
      << "linear: weight must be [out, in], got " << weight.describe();
  SF_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == weight.size(1))
      << "linear: input " << x.describe() << " does not match weight " << weight.describe();
  Tensor y;
  if (x.dim() >= 2 && autocast_applies(x, weight)) {
    // The weight's cached copy, transposed as a view: no per-call conversion of the weight.
    Tensor wt = transpose(weight, 0, 1);
    y = matmul_on(x, wt, autocast_operand(x), swap_last(autocast_operand(weight)),
                  autocast_dtype());
  } else {
    y = matmul(x, transpose(weight, 0, 1));
  }
  if (!bias.defined()) return y;
  SF_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0))
      << "linear: bias " << bias.describe() << " for weight " << weight.describe();
  return add(y, bias);
}

}  // namespace seekforge::ops
