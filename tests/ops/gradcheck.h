// Gradient checking for tests: analytic gradients from backward() against central differences,
// both in float64. The scalar checked is L = sum(f(inputs) * W) for a fixed random W, so every
// output element contributes with its own weight.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "autograd/node.h"
#include "core/tensor.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace seekforge::testing {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Offsets (in elements, from the tensor's data pointer) of every logical element.
inline std::vector<int64_t> element_offsets(const Tensor& t) {
  std::vector<int64_t> out;
  const int64_t n = t.numel();
  std::vector<int64_t> idx(t.dim(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (int64_t d = 0; d < t.dim(); ++d) off += idx[d] * t.stride(d);
    out.push_back(off);
    for (int64_t d = t.dim() - 1; d >= 0; --d) {
      if (++idx[d] < t.size(d)) break;
      idx[d] = 0;
    }
  }
  return out;
}

inline double weighted_sum(const Tensor& out, const Tensor& w) {
  Tensor o = out.contiguous();
  const double* po = o.data<double>();
  const double* pw = w.data<double>();
  double s = 0;
  for (int64_t i = 0; i < o.numel(); ++i) s += po[i] * pw[i];
  return s;
}

// Checks d sum(f(inputs)*W) / d inputs[i] for every f64 input with requires_grad set.
// |analytic - numeric| <= atol + rtol * |numeric| elementwise.
inline void expect_gradcheck(const Fn& f, std::vector<Tensor> inputs, double atol = 1e-6,
                             double rtol = 1e-5, double eps = 1e-6) {
  Tensor out = f(inputs);
  ASSERT_EQ(out.dtype(), DType::f64);
  Generator gen(1234);
  Tensor w = randn(out.shape(), DType::f64, &gen);
  for (auto& t : inputs)
    if (t.defined() && t.requires_grad()) t.set_grad(Tensor());
  Tensor loss = ops::sum(ops::mul(out, w));
  loss.backward();
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor x = inputs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    ASSERT_TRUE(x.grad().defined()) << "input " << k << " got no gradient";
    Tensor g = x.grad().contiguous();
    const double* pg = g.data<double>();
    double* px = x.data<double>();
    const auto offs = element_offsets(x);
    autograd::NoGradGuard no_grad;
    for (size_t i = 0; i < offs.size(); ++i) {
      const double orig = px[offs[i]];
      px[offs[i]] = orig + eps;
      const double lp = weighted_sum(f(inputs), w);
      px[offs[i]] = orig - eps;
      const double lm = weighted_sum(f(inputs), w);
      px[offs[i]] = orig;
      const double numeric = (lp - lm) / (2 * eps);
      ASSERT_NEAR(pg[i], numeric, atol + rtol * std::abs(numeric))
          << "input " << k << " element " << i << " of " << x.describe();
    }
  }
}

// A random f64 leaf that requires grad.
inline Tensor rand_leaf(const Shape& shape, uint64_t seed, double lo = -1, double hi = 1) {
  Generator g(seed);
  Tensor t = uniform(shape, lo, hi, DType::f64, &g);
  t.set_requires_grad(true);
  return t;
}

// A non-contiguous leaf: the transpose of a random [shape[1], shape[0]] tensor.
inline Tensor rand_leaf_transposed(const Shape& shape2d, uint64_t seed) {
  Generator g(seed);
  Tensor base = uniform({shape2d[1], shape2d[0]}, -1, 1, DType::f64, &g);
  Tensor t = base.transpose(0, 1);
  t.set_requires_grad(true);
  return t;
}

}  // namespace seekforge::testing
