// Opens every PyTorch reference fixture (tests/reference/fixtures, written by
// tests/reference/make_fixtures.py with its own small Python writer) and checks that the names,
// dtypes and shapes documented in that script are there: proof that the Python writer and the
// C++ reader agree. Two forward passes (RMSNorm, RoPE) are recomputed here to show the bytes
// are read as the values they were. The op tests themselves live with the ops.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/safetensors.h"

namespace seekforge {
namespace {

namespace fs = std::filesystem;

const std::string kFixtureDir = std::string(SEEKFORGE_SOURCE_DIR) + "/tests/reference/fixtures/";

struct Expected {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
};

int64_t meta_int(const SafetensorsFile& f, const std::string& key) {
  auto it = f.metadata().find(key);
  SF_CHECK(it != f.metadata().end()) << f.path() << ": no metadata key " << key;
  return std::stoll(it->second);
}

double meta_double(const SafetensorsFile& f, const std::string& key) {
  auto it = f.metadata().find(key);
  SF_CHECK(it != f.metadata().end()) << f.path() << ": no metadata key " << key;
  return std::stod(it->second);
}

template <typename T>
const T* typed(const SafetensorsEntry& e, DType want) {
  SF_CHECK(e.dtype == want && e.is_aligned()) << e.name;
  return reinterpret_cast<const T*>(e.data);
}

// The exact set of tensors a fixture must hold, from its metadata.
std::vector<Expected> expected_for(const SafetensorsFile& f) {
  const std::string kind = f.metadata().at("fixture");
  if (kind.rfind("attention_", 0) == 0) {
    int64_t B = meta_int(f, "B"), T = meta_int(f, "T"), H = meta_int(f, "H");
    int64_t KV = meta_int(f, "KV"), hd = meta_int(f, "hd");
    std::vector<Expected> e = {
        {"q", DType::f32, {B, T, H, hd}},   {"k", DType::f32, {B, T, KV, hd}},
        {"v", DType::f32, {B, T, KV, hd}},  {"dout", DType::f32, {B, T, H, hd}},
        {"out", DType::f64, {B, T, H, hd}}, {"lse", DType::f64, {B, H, T}},
        {"dq", DType::f64, {B, T, H, hd}},  {"dk", DType::f64, {B, T, KV, hd}},
        {"dv", DType::f64, {B, T, KV, hd}}};
    if (meta_int(f, "key_mask") == 1) e.push_back({"key_mask", DType::u8, {B, T}});
    EXPECT_DOUBLE_EQ(meta_double(f, "scale"), 1.0 / std::sqrt(static_cast<double>(hd)));
    meta_int(f, "window");
    return e;
  }
  if (kind == "rmsnorm") {
    int64_t N = meta_int(f, "N"), C = meta_int(f, "C");
    return {{"x", DType::f32, {N, C}}, {"w", DType::f32, {C}},    {"dout", DType::f32, {N, C}},
            {"y", DType::f64, {N, C}}, {"rstd", DType::f64, {N}}, {"dx", DType::f64, {N, C}},
            {"dw", DType::f64, {C}}};
  }
  if (kind == "rope") {
    int64_t B = meta_int(f, "B"), T = meta_int(f, "T"), H = meta_int(f, "H");
    int64_t hd = meta_int(f, "hd");
    return {{"x", DType::f32, {B, T, H, hd}},   {"dout", DType::f32, {B, T, H, hd}},
            {"cos", DType::f64, {T, hd / 2}},   {"sin", DType::f64, {T, hd / 2}},
            {"out", DType::f64, {B, T, H, hd}}, {"dx", DType::f64, {B, T, H, hd}}};
  }
  if (kind == "cross_entropy") {
    int64_t N = meta_int(f, "N"), V = meta_int(f, "V");
    return {{"logits", DType::f32, {N, V}},
            {"targets", DType::i64, {N}},
            {"loss", DType::f64, {}},
            {"losses", DType::f64, {N}},
            {"dlogits", DType::f64, {N, V}},
            {"loss_plain", DType::f64, {}},
            {"dlogits_plain", DType::f64, {N, V}}};
  }
  if (kind == "adamw") {
    int64_t steps = meta_int(f, "steps");
    const std::vector<std::vector<int64_t>> shapes = {{8, 6}, {6}, {10, 4}};
    std::vector<Expected> e;
    for (int i = 0; i < 3; ++i) {
      // (built with += : GCC 12 warns falsely on "p" + std::to_string(i), bug 105651)
      std::string p = "p";
      p += std::to_string(i);
      p += '_';
      std::vector<int64_t> stacked = {steps};
      stacked.insert(stacked.end(), shapes[i].begin(), shapes[i].end());
      e.push_back({p + "init", DType::f32, shapes[i]});
      e.push_back({p + "grads", DType::f32, stacked});
      e.push_back({p + "after", DType::f64, stacked});
      e.push_back({p + "exp_avg", DType::f64, shapes[i]});
      e.push_back({p + "exp_avg_sq", DType::f64, shapes[i]});
      meta_double(f, p + "weight_decay");
    }
    return e;
  }
  ADD_FAILURE() << f.path() << ": unknown fixture kind " << kind;
  return {};
}

TEST(Fixtures, EveryFixtureHoldsItsDocumentedTensors) {
  const std::set<std::string> known = {"attention_causal", "attention_window",
                                       "attention_gqa",    "attention_padmask",
                                       "rmsnorm",          "rope",
                                       "cross_entropy",    "adamw"};
  std::set<std::string> seen;
  ASSERT_TRUE(fs::is_directory(kFixtureDir)) << kFixtureDir;
  for (const auto& item : fs::directory_iterator(kFixtureDir)) {
    if (item.path().extension() != ".safetensors") continue;
    const std::string stem = item.path().stem().string();
    // Whole-model fixtures are read, tensor by tensor, by tests/reference/model_reference_test.
    if (stem.rfind("model_", 0) == 0) continue;
    SCOPED_TRACE(stem);
    EXPECT_TRUE(known.count(stem)) << "fixture not covered by this test: " << stem;
    seen.insert(stem);
    SafetensorsFile f(item.path().string());
    ASSERT_EQ(f.metadata().at("fixture"), stem);
    EXPECT_EQ(f.metadata().at("inputs_dtype"), "F32");
    EXPECT_EQ(f.metadata().at("expected_dtype"), "F64");
    const std::vector<Expected> want = expected_for(f);
    EXPECT_EQ(f.size(), want.size());
    for (const Expected& w : want) {
      const SafetensorsEntry* e = f.find(w.name);
      ASSERT_NE(e, nullptr) << w.name;
      EXPECT_EQ(e->dtype, w.dtype) << w.name;
      EXPECT_EQ(e->shape, w.shape) << w.name;
      EXPECT_TRUE(e->is_aligned()) << w.name;
    }
  }
  EXPECT_EQ(seen, known);
}

TEST(Fixtures, RmsNormForwardMatchesTheStoredValues) {
  SafetensorsFile f(kFixtureDir + "rmsnorm.safetensors");
  const int64_t N = meta_int(f, "N"), C = meta_int(f, "C");
  const double eps = meta_double(f, "eps");
  const float* x = typed<float>(f.at("x"), DType::f32);
  const float* w = typed<float>(f.at("w"), DType::f32);
  const double* y = typed<double>(f.at("y"), DType::f64);
  const double* rstd = typed<double>(f.at("rstd"), DType::f64);
  for (int64_t n = 0; n < N; ++n) {
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += double{x[n * C + c]} * x[n * C + c];
    const double r = 1.0 / std::sqrt(ss / C + eps);
    EXPECT_NEAR(r, rstd[n], 1e-12 * r);
    for (int64_t c = 0; c < C; ++c) {
      EXPECT_NEAR(x[n * C + c] * r * w[c], y[n * C + c], 1e-12);
    }
  }
}

TEST(Fixtures, RopeForwardMatchesTheStoredValues) {
  SafetensorsFile f(kFixtureDir + "rope.safetensors");
  const int64_t B = meta_int(f, "B"), T = meta_int(f, "T"), H = meta_int(f, "H");
  const int64_t hd = meta_int(f, "hd"), start = meta_int(f, "start_pos");
  const double theta = meta_double(f, "theta");
  const float* x = typed<float>(f.at("x"), DType::f32);
  const double* out = typed<double>(f.at("out"), DType::f64);
  const int64_t half = hd / 2;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t h = 0; h < H; ++h) {
        const int64_t base = ((b * T + t) * H + h) * hd;
        for (int64_t j = 0; j < half; ++j) {
          const double a = static_cast<double>(start + t) *
                           std::pow(theta, -2.0 * static_cast<double>(j) / static_cast<double>(hd));
          const double x1 = x[base + j], x2 = x[base + j + half];
          EXPECT_NEAR(x1 * std::cos(a) - x2 * std::sin(a), out[base + j], 1e-12);
          EXPECT_NEAR(x2 * std::cos(a) + x1 * std::sin(a), out[base + j + half], 1e-12);
        }
      }
    }
  }
}

}  // namespace
}  // namespace seekforge
