// Saliency (viz/saliency.h) on tiny models: the embedding gradient against central differences
// in float64, gradient x input and the norms computed from it, the argmax target, the
// parameter ranking, out-of-range targets, and the pictures it writes.
#include "viz/saliency.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/node.h"
#include "data/temp_dir.h"

namespace seekforge {
namespace {

ModelConfig saliency_config(bool moe) {
  ModelConfig c;
  c.vocab_size = 300;
  c.d_model = 16;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.head_dim = 8;
  c.max_seq_len = 32;
  c.d_ff = 24;
  c.first_dense_layers = 1;
  if (moe) c.moe = MoeConfig{4, 1, 2, 8, "softmax", true, 1.0, 0.0, 0.001, 0.0};
  c.init_std = 0.2;  // large enough that the logits depend visibly on the inputs
  return c;
}

void expect_gradient_matches_finite_differences(bool moe) {
  Generator gen(11);
  nn::Transformer model(saliency_config(moe), gen);
  model.to_dtype(DType::f64);
  const std::vector<int64_t> prompt = {72, 101, 108, 108, 111, 32, 119};
  const int64_t target = 5;  // predict prompt[5] from prompt[0..4]
  viz::Saliency s = viz::compute_saliency(model, prompt, target);
  ASSERT_EQ(s.inputs.size(), 5u);
  EXPECT_EQ(s.target_token, 32);
  ASSERT_EQ(s.embedding_grad.dtype(), DType::f64);
  const int64_t N = 5, D = 16;
  Tensor e;
  {
    autograd::NoGradGuard no_grad;
    e = model.embedding().forward(from_vector_i64(s.inputs, {1, N})).contiguous();
  }
  const double lp0 = viz::target_log_prob(model, s.inputs, e, s.target_token);
  EXPECT_NEAR(lp0, s.log_prob, 1e-12);
  const double eps = 1e-6;
  double* pe = e.data<double>();
  const double* pg = s.embedding_grad.data<double>();
  for (int64_t i = 0; i < N * D; ++i) {
    const double orig = pe[i];
    pe[i] = orig + eps;
    const double up = viz::target_log_prob(model, s.inputs, e, s.target_token);
    pe[i] = orig - eps;
    const double down = viz::target_log_prob(model, s.inputs, e, s.target_token);
    pe[i] = orig;
    const double numeric = (up - down) / (2 * eps);
    ASSERT_NEAR(pg[i], numeric, 1e-7 + 1e-5 * std::abs(numeric)) << "element " << i;
  }
  for (int64_t t = 0; t < N; ++t) {
    double dot = 0, sq = 0;
    for (int64_t d = 0; d < D; ++d) {
      dot += pg[t * D + d] * pe[t * D + d];
      sq += pg[t * D + d] * pg[t * D + d];
    }
    EXPECT_NEAR(s.saliency[t], dot, 1e-12);
    EXPECT_NEAR(s.grad_norm[t], std::sqrt(sq), 1e-12);
  }
}

TEST(Saliency, EmbeddingGradientMatchesFiniteDifferencesDense) {
  expect_gradient_matches_finite_differences(false);
}

TEST(Saliency, EmbeddingGradientMatchesFiniteDifferencesMoE) {
  expect_gradient_matches_finite_differences(true);
}

TEST(Saliency, LastPositionTargetsTheArgmaxAndParametersAreRanked) {
  Generator gen(12);
  nn::Transformer model(saliency_config(true), gen);
  const std::vector<int64_t> prompt = {104};
  viz::Saliency s = viz::compute_saliency(model, prompt, 1);
  EXPECT_EQ(s.inputs, prompt);
  EXPECT_TRUE(s.predicted);
  EXPECT_EQ(s.target_token, s.argmax_token);
  EXPECT_LE(s.log_prob, 0.0);
  ASSERT_EQ(s.params.size(), model.named_parameters().size());
  for (size_t i = 1; i < s.params.size(); ++i) EXPECT_GE(s.params[i - 1].norm, s.params[i].norm);
  // The head, the embedding and the final norm are on every path to the target; the routed
  // experts no prompt token chose get no gradient at all. The query and key projections' gradient
  // is zero in exact arithmetic too (a softmax over one key is constant), but what is left of it
  // is rounding, ~1e-7, or exactly 0 in builds that round the two sides the same: only bounded.
  int64_t zero_experts = 0;
  const double largest = s.params.front().norm;
  for (const auto& p : s.params) {
    if (p.name == "lm_head.weight" || p.name == "model.embed_tokens.weight" ||
        p.name == "model.norm.weight") {
      EXPECT_GT(p.norm, 0.0) << p.name;
    }
    if (p.name.find(".mlp.experts.") != std::string::npos) zero_experts += p.norm == 0.0;
    if (p.name.find("q_proj") != std::string::npos || p.name.find("k_proj") != std::string::npos) {
      EXPECT_LT(p.norm, 1e-5 * largest) << p.name;
    }
  }
  EXPECT_EQ(zero_experts, 6);  // one token's top-2 leaves 2 of the 4 experts (3 matrices each)...
  EXPECT_EQ(s.params.back().norm, 0.0);  // ...and they rank last
}

TEST(Saliency, TargetOutOfRangeSaysTheRange) {
  Generator gen(13);
  nn::Transformer model(saliency_config(false), gen);
  const std::vector<int64_t> prompt = {97, 98, 99, 100};
  for (int64_t bad : {0, 5, -1})
    data::testing::expect_error([&] { viz::compute_saliency(model, prompt, bad); },
                                {"--target " + std::to_string(bad), "[1, 4]"});
  EXPECT_THROW(viz::compute_saliency(model, {}, 1), Error);
}

TEST(Saliency, WritesHtmlAndCharts) {
  Generator gen(14);
  nn::Transformer model(saliency_config(true), gen);
  const std::vector<int64_t> prompt = {72, 105, 32, 60, 98, 62, 10};  // "Hi <b>\n"
  viz::Saliency s = viz::compute_saliency(model, prompt, 6);
  data::testing::TempDir dir;
  viz::SaliencyMapOptions opt;
  opt.out_dir = dir.path();
  opt.title = "tiny";
  auto files = viz::write_saliency_maps(s, 300, opt);
  EXPECT_EQ(files.size(), 3u);
  const std::string png = data::testing::read_bytes(dir.file("saliency.png"));
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  const std::string html = data::testing::read_bytes(dir.file("saliency.html"));
  EXPECT_NE(html.find("&lt;"), std::string::npos);    // '<' escaped
  EXPECT_EQ(html.find("<b>"), std::string::npos);     // never raw
  EXPECT_NE(html.find("\u2423"), std::string::npos);  // the space made visible
  EXPECT_NE(html.find("lm_head.weight"), std::string::npos);
  EXPECT_NE(data::testing::read_bytes(dir.file("saliency.svg")).find("<svg"), std::string::npos);
}

}  // namespace
}  // namespace seekforge
