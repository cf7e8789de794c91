#include "ops/elementwise.h"

#include <cmath>

#include "autograd/node.h"
#include "kernels/activation.h"
#include "kernels/elementwise.h"
#include "ops/reduce.h"

namespace seekforge::ops {

using autograd::record;

namespace {

void check_float(const Tensor& t, const char* op) {
  SF_CHECK(t.defined()) << op << ": undefined tensor";
  SF_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64)
      << op << ": expected an f32 or f64 tensor, got " << t.describe();
}

// out = f(a, b) with broadcasting; no autograd.
template <typename F>
Tensor binary_raw(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_float(a, op);
  check_float(b, op);
  SF_CHECK(a.dtype() == b.dtype())
      << op << ": dtypes differ: " << a.describe() << " and " << b.describe();
  Shape shape;
  try {
    shape = broadcast_shapes(a.shape(), b.shape());
  } catch (const Error&) {
    SF_FAIL() << op << ": shapes " << shape_str(a.shape()) << " and " << shape_str(b.shape())
              << " cannot be broadcast";
  }
  Tensor out = empty(shape, a.dtype());
  dispatch_float(a.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    if (a.shape() == shape && b.shape() == shape && a.is_contiguous() && b.is_contiguous()) {
      kernels::binary_map_contiguous(out.data<T>(), a.data<T>(), b.data<T>(), out.numel(), f);
      return;
    }
    const Tensor ea = a.expand(shape), eb = b.expand(shape);
    kernels::binary_map_strided(out.data<T>(), ea.data<T>(), eb.data<T>(), shape, ea.strides(),
                                eb.strides(), f);
  });
  return out;
}

template <typename F>
Tensor unary_raw(const Tensor& a, const char* op, F f) {
  check_float(a, op);
  Tensor ac = a.contiguous();
  Tensor out = empty(a.shape(), a.dtype());
  dispatch_float(a.dtype(), op, [&](auto zero) {
    using T = decltype(zero);
    kernels::unary_map(out.data<T>(), ac.data<T>(), out.numel(), f);
  });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw(a, b, "add", [](auto x, auto y) { return x + y; });
  record("AddBackward", {&out}, {a, b}, {},
         [sa = a.shape(), sb = b.shape()](const std::vector<Tensor>&, std::vector<Tensor>& g) {
           return std::vector<Tensor>{sum_to(g[0], sa), sum_to(g[0], sb)};
         });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw(a, b, "sub", [](auto x, auto y) { return x - y; });
  record("SubBackward", {&out}, {a, b}, {},
         [sa = a.shape(), sb = b.shape()](const std::vector<Tensor>&, std::vector<Tensor>& g) {
           return std::vector<Tensor>{sum_to(g[0], sa), sum_to(neg(g[0]), sb)};
         });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw(a, b, "mul", [](auto x, auto y) { return x * y; });
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  record("MulBackward", {&out}, {a, b}, {gb ? a : Tensor(), ga ? b : Tensor()},
         [sa = a.shape(), sb = b.shape()](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
           Tensor da = s[1].defined() ? sum_to(mul(g[0], s[1]), sa) : Tensor();
           Tensor db = s[0].defined() ? sum_to(mul(g[0], s[0]), sb) : Tensor();
           return std::vector<Tensor>{da, db};
         });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw(a, b, "div", [](auto x, auto y) { return x / y; });
  record("DivBackward", {&out}, {a, b}, {b, out},
         [sa = a.shape(), sb = b.shape()](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
           // d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b
           Tensor ga = div(g[0], s[0]);
           Tensor gb = neg(mul(ga, s[1]));
           return std::vector<Tensor>{sum_to(ga, sa), sum_to(gb, sb)};
         });
  return out;
}

Tensor add(const Tensor& a, double b) {
  Tensor out = unary_raw(a, "add", [b](auto x) { return x + static_cast<decltype(x)>(b); });
  record("AddScalarBackward", {&out}, {a}, {},
         [](const std::vector<Tensor>&, std::vector<Tensor>& g) { return std::vector{g[0]}; });
  return out;
}

Tensor mul(const Tensor& a, double b) {
  Tensor out = unary_raw(a, "mul", [b](auto x) { return x * static_cast<decltype(x)>(b); });
  record("MulScalarBackward", {&out}, {a}, {},
         [b](const std::vector<Tensor>&, std::vector<Tensor>& g) {
           return std::vector{mul(g[0], b)};
         });
  return out;
}

Tensor neg(const Tensor& a) {
  Tensor out = unary_raw(a, "neg", [](auto x) { return -x; });
  record("NegBackward", {&out}, {a}, {},
         [](const std::vector<Tensor>&, std::vector<Tensor>& g) { return std::vector{neg(g[0])}; });
  return out;
}

Tensor pow(const Tensor& a, double p) {
  Tensor out = unary_raw(a, "pow", [p](auto x) {
    using T = decltype(x);
    return static_cast<T>(std::pow(x, static_cast<T>(p)));
  });
  record("PowBackward", {&out}, {a}, {a},
         [p](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
           // d x^p = p x^(p-1)
           Tensor d = unary_raw(s[0], "pow", [p](auto x) {
             using T = decltype(x);
             return static_cast<T>(p * std::pow(x, static_cast<T>(p - 1)));
           });
           return std::vector{mul(g[0], d)};
         });
  return out;
}

// Unary functions whose derivative is a function of the output y (or of x), fused into one pass.
#define SF_UNARY_FROM_OUTPUT(NAME, NODE, FWD, DERIV_OF_Y)                                       \
  Tensor NAME(const Tensor& a) {                                                                \
    Tensor out = unary_raw(a, #NAME, [](auto x) {                                               \
      using T = decltype(x);                                                                    \
      return static_cast<T>(FWD);                                                               \
    });                                                                                         \
    record(NODE, {&out}, {a}, {out}, [](const std::vector<Tensor>& s, std::vector<Tensor>& g) { \
      Tensor d = binary_raw(g[0], s[0], NODE, [](auto gy, auto y) {                             \
        using T = decltype(y);                                                                  \
        return static_cast<T>(gy * (DERIV_OF_Y));                                               \
      });                                                                                       \
      return std::vector{d};                                                                    \
    });                                                                                         \
    return out;                                                                                 \
  }

#define SF_UNARY_FROM_INPUT(NAME, NODE, FWD, DERIV_OF_X)                                      \
  Tensor NAME(const Tensor& a) {                                                              \
    Tensor out = unary_raw(a, #NAME, [](auto x) {                                             \
      using T = decltype(x);                                                                  \
      return static_cast<T>(FWD);                                                             \
    });                                                                                       \
    record(NODE, {&out}, {a}, {a}, [](const std::vector<Tensor>& s, std::vector<Tensor>& g) { \
      Tensor d = binary_raw(g[0], s[0], NODE, [](auto gy, auto x) {                           \
        using T = decltype(x);                                                                \
        return static_cast<T>(gy * (DERIV_OF_X));                                             \
      });                                                                                     \
      return std::vector{d};                                                                  \
    });                                                                                       \
    return out;                                                                               \
  }

SF_UNARY_FROM_OUTPUT(exp, "ExpBackward", std::exp(x), y)
SF_UNARY_FROM_INPUT(log, "LogBackward", std::log(x), T(1) / x)
SF_UNARY_FROM_OUTPUT(sqrt, "SqrtBackward", std::sqrt(x), T(0.5) / y)
SF_UNARY_FROM_OUTPUT(rsqrt, "RsqrtBackward", T(1) / std::sqrt(x), T(-0.5) * y * y * y)
SF_UNARY_FROM_OUTPUT(tanh, "TanhBackward", std::tanh(x), T(1) - y * y)
SF_UNARY_FROM_OUTPUT(sigmoid, "SigmoidBackward", T(1) / (T(1) + std::exp(-x)), y*(T(1) - y))
SF_UNARY_FROM_INPUT(relu, "ReluBackward", x > T(0) ? x : T(0), x > T(0) ? T(1) : T(0))

#undef SF_UNARY_FROM_OUTPUT
#undef SF_UNARY_FROM_INPUT

namespace {

// An activation with a vectorised forward/backward kernel pair in kernels/activation.h.
template <typename Fwd, typename Bwd>
Tensor activation_op(const Tensor& a, const char* name, const char* node, Fwd fwd, Bwd bwd) {
  check_float(a, name);
  Tensor ac = a.contiguous();
  Tensor out = empty(a.shape(), a.dtype());
  const int64_t n = out.numel();
  dispatch_float(a.dtype(), name, [&](auto zero) {
    using T = decltype(zero);
    fwd(out.data<T>(), ac.data<T>(), n);
  });
  record(node, {&out}, {a}, {ac}, [n, bwd](const std::vector<Tensor>& s, std::vector<Tensor>& g) {
    Tensor dy = g[0].contiguous();
    Tensor dx = zeros(s[0].shape(), s[0].dtype());
    dispatch_float(dy.dtype(), "activation backward", [&](auto zero) {
      using T = decltype(zero);
      bwd(dx.data<T>(), dy.data<T>(), s[0].data<T>(), n);
    });
    return std::vector{dx};
  });
  return out;
}

}  // namespace

Tensor silu(const Tensor& a) {
  return activation_op(
      a, "silu", "SiluBackward",
      [](auto* y, const auto* x, int64_t n) { kernels::silu_forward(y, x, n); },
      [](auto* dx, const auto* dy, const auto* x, int64_t n) {
        kernels::silu_backward(dx, dy, x, n);
      });
}

Tensor gelu(const Tensor& a, GeluApprox approx) {
  if (approx == GeluApprox::tanh)
    return activation_op(
        a, "gelu", "GeluBackward",
        [](auto* y, const auto* x, int64_t n) { kernels::gelu_tanh_forward(y, x, n); },
        [](auto* dx, const auto* dy, const auto* x, int64_t n) {
          kernels::gelu_tanh_backward(dx, dy, x, n);
        });
  return activation_op(
      a, "gelu", "GeluBackward",
      [](auto* y, const auto* x, int64_t n) { kernels::gelu_erf_forward(y, x, n); },
      [](auto* dx, const auto* dy, const auto* x, int64_t n) {
        kernels::gelu_erf_backward(dx, dy, x, n);
      });
}

}  // namespace seekforge::ops
