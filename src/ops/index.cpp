// Indexing ops: shape rules, index validation and autograd records around kernels/index.h.
// Tensors reach the kernels contiguous, as [outer, n, inner] around the indexed dimension.
#include "ops/index.h"

#include <algorithm>

#include "autograd/node.h"
#include "kernels/index.h"
#include "ops/reduce.h"

namespace seekforge::ops {

using autograd::record;

namespace {

void check_float(const Tensor& t, const char* op, const char* what) {
  SF_CHECK(t.defined()) << op << ": " << what << " is undefined";
  SF_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64)
      << op << ": " << what << " must be f32 or f64, got " << t.describe();
}

void check_mask(const Tensor& t, const char* op, const char* what) {
  SF_CHECK(t.defined()) << op << ": " << what << " is undefined";
  SF_CHECK(t.dtype() == DType::boolean || t.dtype() == DType::u8)
      << op << ": " << what << " must be boolean or u8, got " << t.describe();
}

// dim in [-ndim, ndim) (0-d tensors take -1 and 0, as in PyTorch) -> [0, ndim).
int64_t op_dim(int64_t dim, int64_t ndim, const char* op, const Tensor& x) {
  const int64_t lim = std::max<int64_t>(ndim, 1);
  SF_CHECK(dim >= -lim && dim < lim)
      << op << ": dim " << dim << " is out of range for " << x.describe() << " (expected " << -lim
      << " to " << lim - 1 << ")";
  return dim < 0 ? dim + lim : dim;
}

void check_rank(const Tensor& x, const char* op) {
  SF_CHECK(x.dim() >= 1) << op << ": expects a tensor with at least one dimension, got "
                         << x.describe();
}

// A contiguous i64 copy (or the tensor itself) of an index tensor.
Tensor as_index(const Tensor& index, const char* op) {
  SF_CHECK(index.defined()) << op << ": index is undefined";
  SF_CHECK(index.dtype() == DType::i64 || index.dtype() == DType::i32)
      << op << ": index must be i64 (or i32), got " << index.describe();
  return index.to(DType::i64).contiguous();
}

// Every value of `idx` (contiguous i64) in [0, limit), else an error naming the op, the first
// bad value and the indexed tensor's shape.
void check_indices(const Tensor& idx, int64_t limit, const char* op, int64_t dim, const Tensor& x) {
  const int64_t* p = idx.data<int64_t>();
  const int64_t n = idx.numel();
  int64_t bad = n;
#pragma omp parallel for reduction(min : bad) schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i)
    if (static_cast<uint64_t>(p[i]) >= static_cast<uint64_t>(limit)) bad = std::min(bad, i);
  SF_CHECK(bad == n) << op << ": index " << p[bad] << " is out of bounds for dim " << dim << " of "
                     << x.describe() << " (size " << limit << ")";
}

int64_t prod(const Shape& s, int64_t begin, int64_t end) {
  int64_t p = 1;
  for (int64_t d = begin; d < end; ++d) p *= s[d];
  return p;
}

// t narrowed to `shape` in every dim but `skip` (-1: every dim); sizes already checked <=.
Tensor narrow_to(const Tensor& t, const Shape& shape, int64_t skip) {
  Tensor r = t;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (d != skip && r.size(d) != shape[d]) r = r.narrow(d, 0, shape[d]);
  return r;
}

// ---- raw (no autograd, no validation) helpers shared by forwards and backwards ----

// out (index's shape) = x gathered along d by idx (contiguous i64, already checked).
Tensor gather_raw(const Tensor& x, int64_t d, const Tensor& idx) {
  Tensor out = empty(idx.shape(), x.dtype());
  if (out.numel() == 0) return out;
  Tensor xs = narrow_to(x, idx.shape(), d).contiguous();
  const Shape& s = idx.shape();
  dispatch_float(x.dtype(), "gather", [&](auto zero) {
    using T = decltype(zero);
    kernels::gather_forward(out.data<T>(), xs.data<T>(), idx.data<int64_t>(), prod(s, 0, d),
                            x.size(d), s[d], prod(s, d + 1, idx.dim()));
  });
  return out;
}

// dst (contiguous) += src (contiguous, idx's shape) scattered along d by idx.
void scatter_add_into(Tensor& dst, int64_t d, const Tensor& idx, const Tensor& src) {
  if (idx.numel() == 0) return;
  Tensor region = narrow_to(dst, idx.shape(), d);
  Tensor buf = region.contiguous();  // region itself unless idx is smaller in a non-d dim
  const Shape& s = idx.shape();
  dispatch_float(dst.dtype(), "scatter_add", [&](auto zero) {
    using T = decltype(zero);
    kernels::gather_backward(buf.data<T>(), src.data<T>(), idx.data<int64_t>(), prod(s, 0, d),
                             dst.size(d), s[d], prod(s, d + 1, idx.dim()));
  });
  if (buf.impl() != region.impl()) region.copy_(buf);
}

// The gradient of gather: zeros like `shape` with g scattered in.
Tensor gather_grad(const Tensor& g, const Shape& shape, int64_t d, const Tensor& idx) {
  Tensor dx = zeros(shape, g.dtype());
  scatter_add_into(dx, d, idx, g.contiguous());
  return dx;
}

Tensor index_select_raw(const Tensor& x, int64_t d, const Tensor& idx) {
  Shape shape = x.shape();
  shape[d] = idx.numel();
  Tensor out = empty(shape, x.dtype());
  if (out.numel() == 0) return out;
  Tensor xc = x.contiguous();
  dispatch_float(x.dtype(), "index_select", [&](auto zero) {
    using T = decltype(zero);
    kernels::index_select_forward(out.data<T>(), xc.data<T>(), idx.data<int64_t>(),
                                  prod(shape, 0, d), x.size(d), idx.numel(),
                                  prod(shape, d + 1, x.dim()));
  });
  return out;
}

// dst (contiguous) gets src's slices (contiguous, dst's shape but size(d) = idx.numel()) added
// at idx along d; with assign, dst's prior contents are ignored (treated as zero).
void index_add_into(Tensor& dst, int64_t d, const Tensor& idx, const Tensor& src, bool assign) {
  const int64_t nx = dst.size(d), n = idx.numel();
  Tensor offsets = empty({nx + 1}, DType::i64);
  Tensor order = empty({std::max<int64_t>(n, 1)}, DType::i64);
  kernels::group_by_index(offsets.data<int64_t>(), order.data<int64_t>(), idx.data<int64_t>(), n,
                          nx);
  const Shape& s = dst.shape();
  dispatch_float(dst.dtype(), "index_add", [&](auto zero) {
    using T = decltype(zero);
    kernels::index_select_backward(dst.data<T>(), src.data<T>(), offsets.data<int64_t>(),
                                   order.data<int64_t>(), prod(s, 0, d), nx, n,
                                   prod(s, d + 1, dst.dim()), assign);
  });
}

// The gradient of index_select: g's slices summed into zeros like `shape`.
Tensor index_select_grad(const Tensor& g, const Shape& shape, int64_t d, const Tensor& idx) {
  Tensor dx = empty(shape, g.dtype());
  if (dx.numel() == 0) return dx;
  index_add_into(dx, d, idx, g.contiguous(), /*assign=*/true);
  return dx;
}

Tensor where_raw(const Tensor& cond, const Tensor& a, const Tensor& b, const Shape& shape) {
  Tensor out = empty(shape, a.dtype());
  if (out.numel() == 0) return out;
  const Tensor ec = cond.expand(shape), ea = a.expand(shape), eb = b.expand(shape);
  dispatch_float(a.dtype(), "where", [&](auto zero) {
    using T = decltype(zero);
    kernels::where_forward(out.data<T>(), ec.data<uint8_t>(), ea.data<T>(), eb.data<T>(), shape,
                           ec.strides(), ea.strides(), eb.strides());
  });
  return out;
}

Tensor cumsum_raw(const Tensor& x, int64_t d, bool reverse) {
  Tensor xc = x.contiguous();
  Tensor out = empty(x.shape(), x.dtype());
  if (out.numel() == 0) return out;
  const Shape& s = x.shape();
  const int64_t nd = x.dim();
  dispatch_float(x.dtype(), "cumsum", [&](auto zero) {
    using T = decltype(zero);
    kernels::cumsum_forward(out.data<T>(), xc.data<T>(), prod(s, 0, std::min(d, nd)),
                            nd == 0 ? 1 : s[d], nd == 0 ? 1 : prod(s, d + 1, nd), reverse);
  });
  return out;
}

}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  check_float(x, "gather", "input");
  check_rank(x, "gather");
  const int64_t d = op_dim(dim, x.dim(), "gather", x);
  Tensor idx = as_index(index, "gather");
  SF_CHECK(idx.dim() == x.dim()) << "gather: index " << idx.describe() << " must have the rank of "
                                 << x.describe();
  for (int64_t k = 0; k < x.dim(); ++k)
    SF_CHECK(k == d || idx.size(k) <= x.size(k))
        << "gather: index " << idx.describe() << " is larger than " << x.describe() << " in dim "
        << k;
  check_indices(idx, x.size(d), "gather", d, x);
  Tensor out = gather_raw(x, d, idx);
  record("GatherBackward", {&out}, {x}, {idx},
         [shape = x.shape(), d](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
           return std::vector{gather_grad(g[0], shape, d, s[0])};
         });
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_float(x, "scatter_add", "input");
  check_float(src, "scatter_add", "src");
  check_rank(x, "scatter_add");
  SF_CHECK(x.dtype() == src.dtype())
      << "scatter_add: dtypes differ: " << x.describe() << " and " << src.describe();
  const int64_t d = op_dim(dim, x.dim(), "scatter_add", x);
  Tensor idx = as_index(index, "scatter_add");
  SF_CHECK(idx.dim() == x.dim() && src.dim() == x.dim())
      << "scatter_add: input " << x.describe() << ", index " << idx.describe() << " and src "
      << src.describe() << " must have the same rank";
  for (int64_t k = 0; k < x.dim(); ++k)
    SF_CHECK(idx.size(k) <= src.size(k) && (k == d || idx.size(k) <= x.size(k)))
        << "scatter_add: index " << idx.describe() << " is larger than src " << src.describe()
        << " or input " << x.describe() << " in dim " << k;
  check_indices(idx, x.size(d), "scatter_add", d, x);
  Tensor out = x.clone();
  scatter_add_into(out, d, idx, narrow_to(src, idx.shape(), -1).contiguous());
  const bool gx = x.requires_grad(), gs = src.requires_grad();
  record(
      "ScatterAddBackward", {&out}, {x, src}, {idx},
      [d, gx, gs, src_shape = src.shape()](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
        Tensor dsrc;
        if (gs) {
          dsrc = gather_raw(g[0], d, s[0]);
          if (dsrc.shape() != src_shape) {
            Tensor z = zeros(src_shape, dsrc.dtype());
            narrow_to(z, dsrc.shape(), -1).copy_(dsrc);
            dsrc = z;
          }
        }
        return std::vector{gx ? g[0] : Tensor(), dsrc};
      });
  return out;
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  check_float(x, "index_select", "input");
  check_rank(x, "index_select");
  const int64_t d = op_dim(dim, x.dim(), "index_select", x);
  Tensor idx = as_index(index, "index_select");
  SF_CHECK(idx.dim() <= 1) << "index_select: index must be 0-d or 1-d, got " << idx.describe();
  check_indices(idx, x.size(d), "index_select", d, x);
  Tensor out = index_select_raw(x, d, idx);
  record("IndexSelectBackward", {&out}, {x}, {idx},
         [shape = x.shape(), d](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
           return std::vector{index_select_grad(g[0], shape, d, s[0])};
         });
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_float(x, "index_add", "input");
  check_float(src, "index_add", "src");
  check_rank(x, "index_add");
  SF_CHECK(x.dtype() == src.dtype())
      << "index_add: dtypes differ: " << x.describe() << " and " << src.describe();
  const int64_t d = op_dim(dim, x.dim(), "index_add", x);
  Tensor idx = as_index(index, "index_add");
  SF_CHECK(idx.dim() <= 1) << "index_add: index must be 0-d or 1-d, got " << idx.describe();
  Shape want = x.shape();
  want[d] = idx.numel();
  SF_CHECK(src.shape() == want) << "index_add: src " << src.describe() << " must have shape "
                                << shape_str(want) << " (input " << x.describe() << ", "
                                << idx.numel() << " indices along dim " << d << ")";
  check_indices(idx, x.size(d), "index_add", d, x);
  Tensor out = x.clone();
  if (out.numel() > 0) index_add_into(out, d, idx, src.contiguous(), /*assign=*/false);
  const bool gx = x.requires_grad(), gs = src.requires_grad();
  record(
      "IndexAddBackward", {&out}, {x, src}, {idx},
      [d, gx, gs](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
        return std::vector{gx ? g[0] : Tensor(), gs ? index_select_raw(g[0], d, s[0]) : Tensor()};
      });
  return out;
}

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  check_float(weight, "embedding", "weight");
  SF_CHECK(weight.dim() == 2) << "embedding: weight must be [V, D], got " << weight.describe();
  Tensor idx = as_index(ids, "embedding");
  check_indices(idx, weight.size(0), "embedding", 0, weight);
  const int64_t n = idx.numel();
  Tensor flat = idx.view({n});
  Shape out_shape = idx.shape();
  out_shape.push_back(weight.size(1));
  Tensor out = index_select_raw(weight, 0, flat).view(out_shape);
  record("EmbeddingBackward", {&out}, {weight}, {flat},
         [shape = weight.shape()](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
           Tensor g2 = g[0].contiguous().view({s[0].numel(), shape[1]});
           return std::vector{index_select_grad(g2, shape, 0, s[0])};
         });
  return out;
}

TopKResult topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  (void)sorted;  // always sorted: deterministic and what every caller here wants
  check_float(x, "topk", "input");
  check_rank(x, "topk");
  const int64_t d = op_dim(dim, x.dim(), "topk", x), nd = x.dim();
  const int64_t n = x.size(d);
  SF_CHECK(k >= 0 && k <= n) << "topk: k = " << k << " is out of range for dim " << d << " of "
                             << x.describe() << " (size " << n << ")";
  // Work with dim last: rows [outer, n].
  std::vector<int64_t> perm, inv(nd);
  for (int64_t i = 0; i < nd; ++i)
    if (i != d) perm.push_back(i);
  perm.push_back(d);
  for (int64_t i = 0; i < nd; ++i) inv[perm[i]] = i;
  Tensor rows = x.permute(perm).contiguous();
  Shape moved = rows.shape();
  moved.back() = k;
  const int64_t outer = shape_numel(moved) / std::max<int64_t>(k, 1);
  Tensor values = empty(moved, x.dtype()), indices = empty(moved, DType::i64);
  if (k > 0 && outer > 0) {
    Tensor work = empty({outer * n}, DType::i64);
    dispatch_float(x.dtype(), "topk", [&](auto zero) {
      using T = decltype(zero);
      kernels::topk_forward(values.data<T>(), indices.data<int64_t>(), rows.data<T>(),
                            work.data<int64_t>(), outer, n, k, largest);
    });
  }
  values = values.permute(inv).contiguous();
  indices = indices.permute(inv).contiguous();
  record("TopkBackward", {&values}, {x}, {indices},
         [shape = x.shape(), d](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
           return std::vector{gather_grad(g[0], shape, d, s[0])};
         });
  return {values, indices};
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_mask(cond, "where", "condition");
  check_float(a, "where", "a");
  check_float(b, "where", "b");
  SF_CHECK(a.dtype() == b.dtype())
      << "where: dtypes differ: " << a.describe() << " and " << b.describe();
  Shape shape;
  try {
    shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape()), b.shape());
  } catch (const Error&) {
    SF_FAIL() << "where: shapes " << shape_str(cond.shape()) << ", " << shape_str(a.shape())
              << " and " << shape_str(b.shape()) << " cannot be broadcast";
  }
  Tensor out = where_raw(cond, a, b, shape);
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  record("WhereBackward", {&out}, {a, b}, {cond},
         [ga, gb, sa = a.shape(), sb = b.shape()](const std::vector<Tensor>& s,
                                                  std::vector<Tensor>& g) {
           Tensor z = zeros({}, g[0].dtype());
           Tensor da = ga ? sum_to(where_raw(s[0], g[0], z, g[0].shape()), sa) : Tensor();
           Tensor db = gb ? sum_to(where_raw(s[0], z, g[0], g[0].shape()), sb) : Tensor();
           return std::vector{da, db};
         });
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_float(x, "masked_fill", "input");
  check_mask(mask, "masked_fill", "mask");
  bool ok = mask.dim() <= x.dim();
  for (int64_t i = 1; ok && i <= mask.dim(); ++i)
    ok = mask.size(-i) == 1 || mask.size(-i) == x.size(-i);
  SF_CHECK(ok) << "masked_fill: mask " << mask.describe() << " cannot be broadcast to "
               << x.describe();
  Tensor out = where_raw(mask, scalar_tensor(value, x.dtype()), x, x.shape());
  record("MaskedFillBackward", {&out}, {x}, {mask},
         [](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
           return std::vector{where_raw(s[0], zeros({}, g[0].dtype()), g[0], g[0].shape())};
         });
  return out;
}

Tensor cumsum(const Tensor& x, int64_t dim) {
  check_float(x, "cumsum", "input");
  const int64_t d = op_dim(dim, x.dim(), "cumsum", x);
  Tensor out = cumsum_raw(x, d, false);
  record("CumsumBackward", {&out}, {x}, {},
         [d](const std::vector<Tensor>&, std::vector<Tensor>& g) {
           // out[j] = sum_{i<=j} x[i]  =>  dx[i] = sum_{j>=i} dout[j]
           return std::vector{cumsum_raw(g[0], d, true)};
         });
  return out;
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  check_float(x, "dropout", "input");
  SF_CHECK(p >= 0 && p <= 1) << "dropout: p must be in [0, 1], got " << p;
  if (!training || p == 0 || x.numel() == 0) return x;
  Generator& g = gen != nullptr ? *gen : default_generator();
  const uint64_t seed = g.state().seed;
  const uint64_t first = g.reserve(static_cast<uint64_t>(x.numel()));
  const double scale = p == 1 ? 0.0 : 1.0 / (1.0 - p);
  Tensor xc = x.contiguous();
  Tensor out = empty(x.shape(), x.dtype());
  Tensor mask = empty(x.shape(), DType::u8);
  dispatch_float(x.dtype(), "dropout", [&](auto zero) {
    using T = decltype(zero);
    kernels::dropout_forward(out.data<T>(), mask.data<uint8_t>(), xc.data<T>(), x.numel(), seed,
                             first, p, static_cast<T>(scale));
  });
  record("DropoutBackward", {&out}, {x}, {mask},
         [scale](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
           Tensor gc = g[0].contiguous();
           Tensor dx = empty(gc.shape(), gc.dtype());
           dispatch_float(gc.dtype(), "DropoutBackward", [&](auto zero) {
             using T = decltype(zero);
             kernels::dropout_apply(dx.data<T>(), gc.data<T>(), s[0].data<uint8_t>(), gc.numel(),
                                    static_cast<T>(scale));
           });
           return std::vector{dx};
         });
  return out;
}

Tensor concat(const std::vector<Tensor>& tensors, int64_t dim) {
  SF_CHECK(!tensors.empty()) << "concat: expects at least one tensor";
  const Tensor& t0 = tensors[0];
  SF_CHECK(t0.defined()) << "concat: tensor 0 is undefined";
  check_rank(t0, "concat");
  const int64_t d = op_dim(dim, t0.dim(), "concat", t0);
  Shape shape = t0.shape();
  shape[d] = 0;
  std::vector<int64_t> lens;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    SF_CHECK(t.defined()) << "concat: tensor " << i << " is undefined";
    SF_CHECK(t.dtype() == t0.dtype()) << "concat: tensor " << i << " " << t.describe()
                                      << " has a different dtype from " << t0.describe();
    bool ok = t.dim() == t0.dim();
    for (int64_t k = 0; ok && k < t.dim(); ++k) ok = k == d || t.size(k) == t0.size(k);
    SF_CHECK(ok) << "concat: tensor " << i << " " << t.describe() << " does not match "
                 << t0.describe() << " outside dim " << d;
    lens.push_back(t.size(d));
    shape[d] += t.size(d);
  }
  Tensor out = empty(shape, t0.dtype());
  int64_t off = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (lens[i] > 0) out.narrow(d, off, lens[i]).copy_(tensors[i]);
    off += lens[i];
  }
  std::vector<bool> need;
  for (const Tensor& t : tensors) need.push_back(t.requires_grad());
  record("ConcatBackward", {&out}, tensors, {},
         [d, lens, need](const std::vector<Tensor>&, std::vector<Tensor>& g) {
           std::vector<Tensor> grads;
           int64_t off = 0;
           for (size_t i = 0; i < lens.size(); ++i) {
             grads.push_back(need[i] ? g[0].narrow(d, off, lens[i]).contiguous() : Tensor());
             off += lens[i];
           }
           return grads;
         });
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  SF_CHECK(x.defined()) << "split: input is undefined";
  check_rank(x, "split");
  const int64_t d = op_dim(dim, x.dim(), "split", x);
  int64_t total = 0;
  for (int64_t s : sizes) {
    SF_CHECK(s >= 0) << "split: negative size " << s << " for " << x.describe();
    total += s;
  }
  SF_CHECK(total == x.size(d)) << "split: sizes " << shape_str(sizes) << " sum to " << total
                               << ", not to size " << x.size(d) << " of dim " << d << " of "
                               << x.describe();
  std::vector<Tensor> outs;
  int64_t off = 0;
  for (int64_t s : sizes) {
    outs.push_back(x.narrow(d, off, s));
    off += s;
  }
  std::vector<Tensor*> ptrs;
  for (Tensor& t : outs) ptrs.push_back(&t);
  record("SplitBackward", ptrs, {x}, {},
         [d, sizes, shape = x.shape()](const std::vector<Tensor>&, std::vector<Tensor>& g) {
           DType dt = DType::f32;  // of any gradient that flowed (at least one did)
           for (const Tensor& p : g)
             if (p.defined()) dt = p.dtype();
           std::vector<Tensor> pieces;
           for (size_t i = 0; i < sizes.size(); ++i) {
             Shape s = shape;
             s[d] = sizes[i];
             pieces.push_back(g[i].defined() ? g[i] : zeros(s, dt));
           }
           return std::vector{concat(pieces, d)};
         });
  return outs;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  SF_CHECK(!tensors.empty()) << "stack: expects at least one tensor";
  const Tensor& t0 = tensors[0];
  SF_CHECK(t0.defined()) << "stack: tensor 0 is undefined";
  const int64_t d = op_dim(dim, t0.dim() + 1, "stack", t0);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    SF_CHECK(t.defined()) << "stack: tensor " << i << " is undefined";
    SF_CHECK(t.dtype() == t0.dtype() && t.shape() == t0.shape())
        << "stack: tensor " << i << " " << t.describe() << " does not match " << t0.describe();
  }
  Shape shape = t0.shape();
  shape.insert(shape.begin() + d, static_cast<int64_t>(tensors.size()));
  Tensor out = empty(shape, t0.dtype());
  for (size_t i = 0; i < tensors.size(); ++i)
    if (t0.numel() > 0) out.select(d, static_cast<int64_t>(i)).copy_(tensors[i]);
  std::vector<bool> need;
  for (const Tensor& t : tensors) need.push_back(t.requires_grad());
  record("StackBackward", {&out}, tensors, {},
         [d, need](const std::vector<Tensor>&, std::vector<Tensor>& g) {
           std::vector<Tensor> grads;
           for (size_t i = 0; i < need.size(); ++i)
             grads.push_back(need[i] ? g[0].select(d, static_cast<int64_t>(i)).contiguous()
                                     : Tensor());
           return grads;
         });
  return out;
}

}  // namespace seekforge::ops
