// The opt-in inspection of a forward pass (nn/inspect.h): captured attention probabilities are
// proper causal (and windowed) distributions that reproduce the fused kernel's output, for mha
// with GQA and for mla; captured MoE choices agree with the layer's own stats; capturing does
// not change the logits; inputs_embeds stands in for the lookup.
#include "nn/inspect.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/node.h"
#include "nn/transformer.h"

namespace seekforge {
namespace {

ModelConfig inspect_config(const std::string& attention, int64_t window) {
  ModelConfig c;
  c.vocab_size = 40;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.max_seq_len = 64;
  c.d_ff = 40;
  c.first_dense_layers = 1;
  c.window = window;
  c.attention = attention;
  if (attention == "mla") c.mla = MlaConfig{8, 12, 8, 4, 8};
  c.moe = MoeConfig{4, 1, 2, 16, "softmax", true, 1.0, 0.0, 0.001, 0.0};
  return c;
}

Tensor ids_for(int64_t B, int64_t T, int64_t V) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < B * T; ++i) v.push_back((i * 7 + 3) % V);
  return from_vector_i64(v, {B, T});
}

void expect_captured_attention_is_consistent(const ModelConfig& c) {
  Generator gen(3);
  nn::Transformer model(c, gen);
  const int64_t B = 2, T = 13;
  Tensor ids = ids_for(B, T, c.vocab_size);
  nn::Inspection ins;
  nn::ForwardOptions fo;
  fo.inspect = &ins;
  autograd::NoGradGuard no_grad;
  Tensor logits = model.forward(ids, Tensor(), fo).logits;
  Tensor plain = model.forward(ids, Tensor()).logits;
  ASSERT_EQ(logits.to_vector_f32(), plain.to_vector_f32()) << "capturing changed the output";
  ASSERT_EQ(ins.attention.size(), static_cast<size_t>(c.n_layers));
  for (const nn::AttentionCapture& a : ins.attention) {
    const int64_t H = c.n_heads;
    ASSERT_EQ(a.probs.shape(), Shape({B, H, T, T}));
    const float* p = a.probs.data<float>();
    const int64_t KV = a.values.size(2), Dv = a.values.size(3);
    const float* v = a.values.data<float>();
    const float* ctx = a.context.data<float>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < T; ++i) {
          const float* row = p + ((b * H + h) * T + i) * T;
          double sum = 0;
          for (int64_t j = 0; j < T; ++j) {
            const bool visible = j <= i && (c.window == 0 || j > i - c.window);
            if (!visible) {
              EXPECT_EQ(row[j], 0.0f) << "hidden key " << j << " of query " << i;
            }
            sum += row[j];
          }
          EXPECT_NEAR(sum, 1.0, 1e-5);
          // probs @ v reproduces the kernel's output for this (b, i, h).
          const int64_t kvh = h / (H / KV);
          for (int64_t d = 0; d < Dv; ++d) {
            double o = 0;
            for (int64_t j = 0; j < T; ++j) o += row[j] * v[((b * T + j) * KV + kvh) * Dv + d];
            EXPECT_NEAR(o, ctx[((b * T + i) * H + h) * Dv + d], 1e-5);
          }
        }
  }
}

TEST(Inspect, MhaProbabilitiesReproduceTheKernel) {
  expect_captured_attention_is_consistent(inspect_config("mha", 0));
}

TEST(Inspect, WindowedMhaProbabilitiesStayInTheWindow) {
  expect_captured_attention_is_consistent(inspect_config("mha", 4));
}

TEST(Inspect, MlaProbabilitiesReproduceTheKernel) {
  expect_captured_attention_is_consistent(inspect_config("mla", 0));
}

TEST(Inspect, MoeChoicesAgreeWithLayerStats) {
  ModelConfig c = inspect_config("mha", 0);
  Generator gen(5);
  nn::Transformer model(c, gen);
  Tensor ids = ids_for(2, 11, c.vocab_size);
  nn::Inspection ins;
  nn::ForwardOptions fo;
  fo.inspect = &ins;
  model.forward(ids, Tensor(), fo);
  ASSERT_EQ(ins.moe.size(), 1u);
  const nn::MoeCapture& m = ins.moe[0];
  EXPECT_EQ(m.layer, 1);
  ASSERT_EQ(m.experts.shape(), Shape({22, 2}));
  ASSERT_EQ(m.scores.shape(), Shape({22, 4}));
  std::vector<int64_t> load(4, 0);
  for (int64_t i = 0; i < m.experts.numel(); ++i) ++load[m.experts.data<int64_t>()[i]];
  EXPECT_EQ(load, model.moe_layers()[0]->last_stats().load);
  // Softmax scores with norm_topk: each token's combine weights are its chosen scores renormed.
  for (int64_t t = 0; t < 22; ++t) {
    const int64_t e0 = m.experts.data<int64_t>()[t * 2], e1 = m.experts.data<int64_t>()[t * 2 + 1];
    const float s0 = m.scores.data<float>()[t * 4 + e0], s1 = m.scores.data<float>()[t * 4 + e1];
    EXPECT_GE(s0, s1);  // zero bias: rank 0 is the larger score
    EXPECT_NEAR(m.weights.data<float>()[t * 2], s0 / (s0 + s1), 1e-6);
    EXPECT_NEAR(m.weights.data<float>()[t * 2] + m.weights.data<float>()[t * 2 + 1], 1.0, 1e-6);
  }
}

TEST(Inspect, InputsEmbedsStandInForTheLookup) {
  ModelConfig c = inspect_config("mha", 0);
  Generator gen(6);
  nn::Transformer model(c, gen);
  Tensor ids = ids_for(1, 9, c.vocab_size);
  autograd::NoGradGuard no_grad;
  nn::ForwardOptions fo;
  fo.inputs_embeds = model.embedding().forward(ids);
  EXPECT_EQ(model.forward(ids, Tensor(), fo).logits.to_vector_f32(),
            model.forward(ids, Tensor()).logits.to_vector_f32());
  fo.inputs_embeds = zeros({1, 8, c.d_model});
  EXPECT_THROW(model.forward(ids, Tensor(), fo), Error);
}

TEST(Inspect, ToDtypeConvertsEveryTensorInPlace) {
  ModelConfig c = inspect_config("mla", 0);
  Generator gen(7);
  nn::Transformer model(c, gen);
  Tensor ids = ids_for(1, 6, c.vocab_size);
  autograd::NoGradGuard no_grad;
  const std::vector<float> before = model.forward(ids, Tensor()).logits.to_vector_f32();
  model.to_dtype(DType::f64);
  for (auto& [n, t] : model.named_parameters()) EXPECT_EQ(t.dtype(), DType::f64) << n;
  for (auto& [n, t] : model.named_buffers()) EXPECT_EQ(t.dtype(), DType::f64) << n;
  Tensor logits = model.forward(ids, Tensor()).logits;
  ASSERT_EQ(logits.dtype(), DType::f64);
  const std::vector<float> after = logits.to_vector_f32();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_NEAR(after[i], before[i], 1e-4);
}

}  // namespace
}  // namespace seekforge
