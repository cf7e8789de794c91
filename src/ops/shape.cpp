#include "ops/shape.h"

#include "autograd/node.h"
#include "ops/reduce.h"

namespace seekforge::ops {

using autograd::record;
using Saved = std::vector<Tensor>;
using Grads = std::vector<Tensor>;

Tensor view(const Tensor& x, Shape shape) {
  Tensor out = x.view(std::move(shape));
  record("ViewBackward", {&out}, {x}, {}, [in = x.shape()](const Saved&, Grads& g) {
    return Grads{g[0].contiguous().view(in)};
  });
  return out;
}

Tensor reshape(const Tensor& x, Shape shape) {
  if (x.is_contiguous()) return view(x, std::move(shape));
  return view(contiguous(x), std::move(shape));
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  Tensor out = x.permute(dims);
  std::vector<int64_t> inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) inverse[wrap_dim(dims[i], x.dim())] = static_cast<int64_t>(i);
  record("PermuteBackward", {&out}, {x}, {},
         [inverse](const Saved&, Grads& g) { return Grads{g[0].permute(inverse)}; });
  return out;
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  std::vector<int64_t> p(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) p[i] = i;
  std::swap(p[wrap_dim(d0, x.dim())], p[wrap_dim(d1, x.dim())]);
  return permute(x, p);
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  Tensor out = x.narrow(dim, start, length);
  record("NarrowBackward", {&out}, {x}, {},
         [in = x.shape(), d = wrap_dim(dim, x.dim()), start, length, dt = x.dtype()](
             const Saved&, Grads& g) {
           Tensor dx = zeros(in, dt);
           dx.narrow(d, start, length).copy_(g[0]);
           return Grads{dx};
         });
  return out;
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  const int64_t d = wrap_dim(dim, x.dim());
  Tensor out = x.select(d, index);
  const int64_t idx = index < 0 ? index + x.size(d) : index;
  record("SelectBackward", {&out}, {x}, {},
         [in = x.shape(), d, idx, dt = x.dtype()](const Saved&, Grads& g) {
           Tensor dx = zeros(in, dt);
           dx.select(d, idx).copy_(g[0]);
           return Grads{dx};
         });
  return out;
}

Tensor expand(const Tensor& x, const Shape& shape) {
  Tensor out = x.expand(shape);
  record("ExpandBackward", {&out}, {x}, {},
         [in = x.shape()](const Saved&, Grads& g) { return Grads{sum_to(g[0], in)}; });
  return out;
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  Tensor out = x.squeeze(dim);
  record("SqueezeBackward", {&out}, {x}, {}, [in = x.shape()](const Saved&, Grads& g) {
    return Grads{g[0].contiguous().view(in)};
  });
  return out;
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  Tensor out = x.unsqueeze(dim);
  record("UnsqueezeBackward", {&out}, {x}, {}, [in = x.shape()](const Saved&, Grads& g) {
    return Grads{g[0].contiguous().view(in)};
  });
  return out;
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = x.clone();
  record("ContiguousBackward", {&out}, {x}, {},
         [](const Saved&, Grads& g) { return Grads{g[0]}; });
  return out;
}

}  // namespace seekforge::ops
