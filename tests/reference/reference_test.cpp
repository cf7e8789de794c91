// Ops against PyTorch: forward outputs and gradients compared with the fixtures written by
// make_fixtures.py. Each op runs twice: in f32 (normwise relative error <= 1e-5, the project's
// bar) and in f64 on the same inputs promoted exactly (<= 1e-10: the formulas are the same).
#include <gtest/gtest.h>

// GCC 12 at -O3 reports a false -Wrestrict inside std::string concatenation (GCC bug 105329).
// Pushed and popped at the end: in a unity build the files after this one share its translation
// unit and keep the warning.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "io/tensor_file.h"
#include "ops/attention.h"
#include "ops/loss.h"
#include "ops/norm.h"
#include "ops/rope.h"
#include "optim/optimizer.h"

namespace seekforge {
namespace {

struct OpFixture {
  std::map<std::string, Tensor> t;
  std::map<std::string, std::string> meta;
  const Tensor& operator[](const std::string& name) const {
    auto it = t.find(name);
    if (it == t.end()) throw Error("fixture has no tensor " + name);
    return it->second;
  }
  double num(const std::string& key) const { return std::stod(meta.at(key)); }
};

OpFixture load_op(const std::string& name) {
  OpFixture f;
  for (auto& [n, t] : load_tensors(std::string(SEEKFORGE_SOURCE_DIR) + "/tests/reference/fixtures/" +
                                   name + ".safetensors",
                                   &f.meta))
    f.t[n] = t;
  return f;
}

// max_i |a_i - b_i| / max_i |b_i|
double op_rel_err(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  Tensor x = a.to(DType::f64).contiguous(), y = b.to(DType::f64).contiguous();
  double num = 0, den = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    num = std::max(num, std::abs(x.data<double>()[i] - y.data<double>()[i]));
    den = std::max(den, std::abs(y.data<double>()[i]));
  }
  return den > 0 ? num / den : num;
}

Tensor input(const OpFixture& f, const std::string& name, DType dt) {
  Tensor x = f[name].to(dt).clone();
  x.set_requires_grad(true);
  return x;
}

double tolerance(DType dt) { return dt == DType::f32 ? 1e-5 : 1e-10; }

class Reference : public ::testing::TestWithParam<DType> {};

TEST_P(Reference, Attention) {
  const DType dt = GetParam();
  for (const char* name : {"attention_causal", "attention_window", "attention_gqa",
                           "attention_padmask"}) {
    SCOPED_TRACE(name);
    OpFixture f = load_op(name);
    Tensor q = input(f, "q", dt), k = input(f, "k", dt), v = input(f, "v", dt);
    ops::AttentionOptions opt;
    opt.window = static_cast<int64_t>(f.num("window"));
    opt.scale = f.num("scale");
    if (f.meta.at("key_mask") == "1") opt.key_keep = f["key_mask"];
    Tensor out = ops::attention(q, k, v, opt);
    out.backward(f["dout"].to(dt));
    EXPECT_LE(op_rel_err(out, f["out"]), tolerance(dt));
    EXPECT_LE(op_rel_err(q.grad(), f["dq"]), tolerance(dt));
    EXPECT_LE(op_rel_err(k.grad(), f["dk"]), tolerance(dt));
    EXPECT_LE(op_rel_err(v.grad(), f["dv"]), tolerance(dt));
  }
}

TEST_P(Reference, RmsNorm) {
  const DType dt = GetParam();
  OpFixture f = load_op("rmsnorm");
  Tensor x = input(f, "x", dt), w = input(f, "w", dt);
  Tensor y = ops::rms_norm(x, w, f.num("eps"));
  y.backward(f["dout"].to(dt));
  EXPECT_LE(op_rel_err(y, f["y"]), tolerance(dt));
  EXPECT_LE(op_rel_err(x.grad(), f["dx"]), tolerance(dt));
  EXPECT_LE(op_rel_err(w.grad(), f["dw"]), tolerance(dt));
}

TEST_P(Reference, Rope) {
  const DType dt = GetParam();
  OpFixture f = load_op("rope");
  Tensor x = input(f, "x", dt);
  Tensor y = ops::rope(x, static_cast<int64_t>(f.num("start_pos")), f.num("theta"));
  y.backward(f["dout"].to(dt));
  EXPECT_LE(op_rel_err(y, f["out"]), tolerance(dt));
  EXPECT_LE(op_rel_err(x.grad(), f["dx"]), tolerance(dt));
}

TEST_P(Reference, CrossEntropyWithLabelSmoothing) {
  const DType dt = GetParam();
  OpFixture f = load_op("cross_entropy");
  for (bool smooth : {true, false}) {
    Tensor logits = input(f, "logits", dt);
    Tensor loss = ops::cross_entropy(logits, f["targets"], smooth ? f.num("label_smoothing") : 0.0);
    loss.backward();
    EXPECT_LE(op_rel_err(loss, f[smooth ? "loss" : "loss_plain"]), tolerance(dt));
    EXPECT_LE(op_rel_err(logits.grad(), f[smooth ? "dlogits" : "dlogits_plain"]), tolerance(dt));
  }
}

TEST_P(Reference, AdamWTenSteps) {
  const DType dt = GetParam();
  OpFixture f = load_op("adamw");
  std::vector<Tensor> p;
  for (int i = 0; i < 3; ++i) p.push_back(f["p" + std::to_string(i) + "_init"].to(dt).clone());
  const double lr = f.num("lr");
  optim::ParamGroup decay{{p[0], p[2]}, lr, f.num("p0_weight_decay"), 1.0, "decay"};
  optim::ParamGroup no_decay{{p[1]}, lr, f.num("p1_weight_decay"), 1.0, "no_decay"};
  optim::AdamW opt({decay, no_decay}, {f.num("beta1"), f.num("beta2"), f.num("eps")});
  const int steps = static_cast<int>(f.num("steps"));
  for (int s = 0; s < steps; ++s) {
    for (int i = 0; i < 3; ++i) p[i].set_grad(f["p" + std::to_string(i) + "_grads"].select(0, s).to(dt).clone());
    opt.step();
    for (int i = 0; i < 3; ++i)
      ASSERT_LE(op_rel_err(p[i], f["p" + std::to_string(i) + "_after"].select(0, s)), tolerance(dt))
          << "param " << i << " after step " << s + 1;
  }
}

INSTANTIATE_TEST_SUITE_P(F32AndF64, Reference, ::testing::Values(DType::f32, DType::f64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace seekforge

#pragma GCC diagnostic pop
