#include "ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/node.h"
#include "ops/elementwise.h"

namespace seekforge::ops {

using autograd::record;

namespace {

// x laid out as [outer, R] (R = product of the reduced dims), plus the output shapes.
struct RowsView {
  Tensor rows;       // contiguous [outer, R]
  Shape out_shape;   // without the reduced dims (or with 1s when keepdim)
  Shape keep_shape;  // with 1s in the reduced dims: grads broadcast from here
  int64_t outer = 1, r = 1;
};

RowsView as_rows(const Tensor& x, std::vector<int64_t> dims, bool keepdim, const char* op) {
  SF_CHECK(x.defined()) << op << ": undefined tensor";
  const int64_t nd = x.dim();
  std::vector<bool> reduced(std::max<int64_t>(nd, 1), false);
  if (dims.empty())
    for (int64_t d = 0; d < nd; ++d) dims.push_back(d);
  for (int64_t& d : dims) {
    d = wrap_dim(d, nd);
    SF_CHECK(!reduced[d]) << op << ": dimension " << d << " listed twice";
    reduced[d] = true;
  }
  std::vector<int64_t> perm;
  RowsView v;
  for (int64_t d = 0; d < nd; ++d) {
    if (!reduced[d]) {
      perm.push_back(d);
      v.outer *= x.size(d);
      v.out_shape.push_back(x.size(d));
      v.keep_shape.push_back(x.size(d));
    } else {
      if (keepdim) v.out_shape.push_back(1);
      v.keep_shape.push_back(1);
    }
  }
  for (int64_t d = 0; d < nd; ++d)
    if (reduced[d]) {
      perm.push_back(d);
      v.r *= x.size(d);
    }
  v.rows = (nd == 0 ? x : x.permute(perm)).contiguous().view({v.outer, v.r});
  return v;
}

constexpr int64_t kBlock = 4096;

// Deterministic sum of n values: fixed blocks, each summed in Acc, combined in order.
template <typename T>
double sum_block(const T* p, int64_t n) {
  double acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(p[i]);
  return acc;
}

template <typename T>
void sum_rows(T* out, const T* x, int64_t outer, int64_t r, double scale) {
  if (outer >= 8 || r <= kBlock) {
#pragma omp parallel for schedule(static) if (outer * r > 65536)
    for (int64_t o = 0; o < outer; ++o) {
      double acc = 0;
      for (int64_t b = 0; b < r; b += kBlock) acc += sum_block(x + o * r + b, std::min(kBlock, r - b));
      out[o] = static_cast<T>(acc * scale);
    }
    return;
  }
  // Few long rows: blocks in parallel, then an ordered combine.
  const int64_t nb = (r + kBlock - 1) / kBlock;
  std::vector<double> partial(outer * nb);
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t b = 0; b < nb; ++b)
      partial[o * nb + b] = sum_block(x + o * r + b * kBlock, std::min(kBlock, r - b * kBlock));
  for (int64_t o = 0; o < outer; ++o) {
    double acc = 0;
    for (int64_t b = 0; b < nb; ++b) acc += partial[o * nb + b];
    out[o] = static_cast<T>(acc * scale);
  }
}

Tensor sum_impl(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool average,
                const char* op) {
  RowsView v = as_rows(x, dims, keepdim, op);
  Tensor out = empty(v.out_shape, x.dtype());
  dispatch_float(x.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    const double scale = average ? 1.0 / static_cast<double>(std::max<int64_t>(v.r, 1)) : 1.0;
    sum_rows(out.data<T>(), v.rows.data<T>(), v.outer, v.r, scale);
  });
  record(average ? "MeanBackward" : "SumBackward", {&out}, {x}, {},
         [in_shape = x.shape(), keep = v.keep_shape, r = v.r, average](
             const std::vector<Tensor>&, std::vector<Tensor>& g) {
           Tensor gk = g[0].contiguous().view(keep);
           if (average) gk = mul(gk, 1.0 / static_cast<double>(std::max<int64_t>(r, 1)));
           return std::vector{gk.expand(in_shape)};
         });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x) { return sum_impl(x, {}, false, false, "sum"); }
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  SF_CHECK(!dims.empty()) << "sum: empty dimension list (use sum(x) for all elements)";
  return sum_impl(x, dims, keepdim, false, "sum");
}
Tensor mean(const Tensor& x) { return sum_impl(x, {}, false, true, "mean"); }
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  SF_CHECK(!dims.empty()) << "mean: empty dimension list (use mean(x) for all elements)";
  return sum_impl(x, dims, keepdim, true, "mean");
}

MaxResult max(const Tensor& x, int64_t dim, bool keepdim) {
  SF_CHECK(x.defined() && x.numel() > 0) << "max: empty tensor " << x.describe();
  RowsView v = as_rows(x, {dim}, keepdim, "max");
  Tensor values = empty(v.out_shape, x.dtype());
  Tensor indices = empty(v.out_shape, DType::i64);
  dispatch_float(x.dtype(), "max", [&](auto zero) {
    using T = decltype(zero);
    const T* p = v.rows.data<T>();
    T* pv = values.data<T>();
    int64_t* pi = indices.data<int64_t>();
#pragma omp parallel for schedule(static) if (v.outer * v.r > 65536)
    for (int64_t o = 0; o < v.outer; ++o) {
      const T* row = p + o * v.r;
      int64_t best = 0;
      for (int64_t i = 1; i < v.r; ++i)
        if (row[i] > row[best] || (std::isnan(row[i]) && !std::isnan(row[best]))) best = i;
      pv[o] = row[best];
      pi[o] = best;
    }
  });
  record("MaxBackward", {&values}, {x}, {indices},
         [in_shape = x.shape(), d = wrap_dim(dim, x.dim()), keep = v.keep_shape](
             const std::vector<Tensor>& s, std::vector<Tensor>& g) {
           // The gradient goes to the first maximal element of each row: build it in the
           // layout where `d` is last, then move `d` back.
           Shape moved = in_shape;
           moved.erase(moved.begin() + d);
           moved.push_back(in_shape[d]);
           Tensor dx = zeros(moved, g[0].dtype());
           Tensor gc = g[0].contiguous(), idx = s[0].contiguous();
           const int64_t r = in_shape[d], outer = gc.numel();
           const int64_t* pi = idx.data<int64_t>();
           dispatch_float(dx.dtype(), "MaxBackward", [&](auto zero) {
             using T = decltype(zero);
             T* pd = dx.data<T>();
             const T* pg = gc.data<T>();
             for (int64_t o = 0; o < outer; ++o) pd[o * r + pi[o]] = pg[o];
           });
           (void)keep;
           const int64_t nd = static_cast<int64_t>(in_shape.size());
           std::vector<int64_t> perm;
           for (int64_t i = 0; i < nd; ++i) perm.push_back(i < d ? i : (i == d ? nd - 1 : i - 1));
           return std::vector{dx.permute(perm)};
         });
  return {values, indices};
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  autograd::NoGradGuard no_grad;
  return max(x, dim, keepdim).indices;
}

Tensor logsumexp(const Tensor& x, int64_t dim, bool keepdim) {
  RowsView v = as_rows(x, {dim}, keepdim, "logsumexp");
  Tensor out = empty(v.out_shape, x.dtype());
  dispatch_float(x.dtype(), "logsumexp", [&](auto zero) {
    using T = decltype(zero);
    const T* p = v.rows.data<T>();
    T* po = out.data<T>();
#pragma omp parallel for schedule(static) if (v.outer * v.r > 65536)
    for (int64_t o = 0; o < v.outer; ++o) {
      const T* row = p + o * v.r;
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t i = 0; i < v.r; ++i) m = std::max(m, row[i]);
      if (!std::isfinite(m)) {
        po[o] = m;
        continue;
      }
      double acc = 0;
      for (int64_t i = 0; i < v.r; ++i) acc += std::exp(static_cast<double>(row[i] - m));
      po[o] = static_cast<T>(m + std::log(acc));
    }
  });
  record("LogsumexpBackward", {&out}, {x}, {x, out},
         [keep = v.keep_shape](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
           // d lse / dx = softmax(x) = exp(x - lse)
           Tensor lse = s[1].contiguous().view(keep);
           Tensor gk = g[0].contiguous().view(keep);
           return std::vector{mul(exp(sub(s[0], lse)), gk)};
         });
  return out;
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (!grad.defined() || grad.shape() == shape) return grad;
  const int64_t lead = grad.dim() - static_cast<int64_t>(shape.size());
  SF_CHECK(lead >= 0) << "sum_to: " << grad.describe() << " to " << shape_str(shape);
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < grad.dim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
    } else if (shape[d - lead] == 1 && grad.size(d) != 1) {
      dims.push_back(d);
    } else {
      SF_CHECK(shape[d - lead] == grad.size(d))
          << "sum_to: " << grad.describe() << " to " << shape_str(shape);
    }
  }
  if (dims.empty()) return grad.view(shape);
  return sum(grad, dims, true).view(shape);
}

}  // namespace seekforge::ops
