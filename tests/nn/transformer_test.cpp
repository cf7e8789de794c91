#include "nn/transformer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "autograd/node.h"
#include "ops/autocast.h"
#include "ops/reduce.h"

namespace seekforge {
namespace {

ModelConfig tiny(const std::string& attention, bool moe) {
  ModelConfig c;
  c.vocab_size = 48;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.max_seq_len = 64;
  c.d_ff = 40;
  c.first_dense_layers = 1;
  c.attention = attention;
  if (attention == "mla") c.mla = MlaConfig{8, 12, 8, 4, 8};
  if (moe) c.moe = MoeConfig{4, 1, 2, 16, "sigmoid", true, 1.5, 0.01, 0.01, 0.0};
  return c;
}

Tensor random_ids(int64_t B, int64_t T, int64_t V, uint64_t seed) {
  Generator g(seed);
  Tensor u = uniform({B, T}, 0, static_cast<double>(V), DType::f32, &g);
  return u.to(DType::i64);
}

TEST(Transformer, ParameterNamesFollowTheDesign) {
  ModelConfig c = tiny("mha", true);
  c.mtp = MtpConfig{1, 0.3};
  Generator g(0);
  nn::Transformer m(c, g);
  std::set<std::string> names;
  for (auto& [n, t] : m.named_parameters()) names.insert(n);
  for (auto& [n, t] : m.named_buffers()) names.insert(n);
  for (const char* n :
       {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
        "model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.q_proj.weight",
        "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.o_proj.weight",
        "model.layers.0.post_attention_layernorm.weight", "model.layers.0.mlp.gate_proj.weight",
        "model.layers.0.mlp.down_proj.weight", "model.layers.1.mlp.gate.weight",
        "model.layers.1.mlp.gate.e_score_correction_bias",
        "model.layers.1.mlp.experts.3.up_proj.weight",
        "model.layers.1.mlp.shared_experts.down_proj.weight", "model.layers.2.enorm.weight",
        "model.layers.2.hnorm.weight", "model.layers.2.eh_proj.weight",
        "model.layers.2.shared_head.norm.weight", "model.layers.2.mlp.experts.0.gate_proj.weight"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_EQ(m.named_buffers().size(), 2u);  // one bias per MoE layer (trunk 1, MTP 1)
}

TEST(Transformer, MlaNames) {
  Generator g(0);
  nn::Transformer m(tiny("mla", false), g);
  std::set<std::string> names;
  for (auto& [n, t] : m.named_parameters()) names.insert(n);
  for (const char* n :
       {"model.layers.0.self_attn.q_a_proj.weight", "model.layers.0.self_attn.q_a_layernorm.weight",
        "model.layers.0.self_attn.q_b_proj.weight",
        "model.layers.0.self_attn.kv_a_proj_with_mqa.weight",
        "model.layers.0.self_attn.kv_a_layernorm.weight",
        "model.layers.0.self_attn.kv_b_proj.weight"})
    EXPECT_TRUE(names.count(n)) << n;
}

TEST(Transformer, InitialLossIsNearLogVocab) {
  for (auto attn : {"mha", "mla"}) {
    Generator g(1);
    ModelConfig c = tiny(attn, true);
    c.mtp = MtpConfig{1, 0.3};
    nn::Transformer m(c, g);
    Tensor ids = random_ids(2, 16, c.vocab_size, 5);
    auto out = m.forward(ids, random_ids(2, 16, c.vocab_size, 6));
    EXPECT_NEAR(out.ce_loss.item_double(), std::log(48.0), 0.15) << attn;
    EXPECT_TRUE(out.aux_loss.defined());
    EXPECT_TRUE(out.mtp_loss.defined());
    out.loss.backward();
    for (auto& [n, t] : m.named_parameters()) {
      ASSERT_TRUE(t.grad().defined()) << n;
      EXPECT_TRUE(std::isfinite(ops::sum(t.grad()).item_double())) << n;
    }
  }
}

TEST(Transformer, CachedDecodingMatchesFullForward) {
  for (auto attn : {"mha", "mla"}) {
    for (int64_t window : {0, 3}) {
      Generator g(2);
      ModelConfig c = tiny(attn, true);
      c.window = window;
      nn::Transformer m(c, g);
      autograd::NoGradGuard no_grad;
      Tensor ids = random_ids(2, 9, c.vocab_size, 7);
      auto full = m.forward(ids, Tensor()).logits.to_vector_f32();
      auto cache = m.make_cache(2, 16);
      nn::ForwardOptions opt;
      opt.cache = &cache;
      // A prompt of 5 tokens, then 4 single-token steps.
      std::vector<Tensor> parts;
      parts.push_back(m.forward(ids.narrow(1, 0, 5).contiguous(), Tensor(), opt).logits);
      for (int64_t t = 5; t < 9; ++t) {
        opt.start_pos = t;
        parts.push_back(m.forward(ids.narrow(1, t, 1).contiguous(), Tensor(), opt).logits);
      }
      const int64_t V = c.vocab_size;
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t t = 0; t < 9; ++t) {
          const Tensor& p = t < 5 ? parts[0] : parts[t - 4];
          const int64_t tt = t < 5 ? t : 0;
          auto row = p.select(0, b).select(0, tt).to_vector_f32();
          for (int64_t v = 0; v < V; ++v)
            ASSERT_NEAR(row[v], full[(b * 9 + t) * V + v], 2e-5)
                << attn << " window " << window << " b " << b << " t " << t;
        }
    }
  }
}

// The loss and every parameter's gradient of one forward + backward.
struct LossAndGrads {
  double loss = 0;  // the f32 loss, widened exactly
  std::vector<std::pair<std::string, std::vector<float>>> grads;
};

LossAndGrads loss_and_grads(const ModelConfig& c, nn::Recompute mode,
                            DType precision = DType::f32) {
  Generator g(3);
  nn::Transformer m(c, g);
  ops::LowpWeights weights;
  ops::AutocastScope autocast(precision, &weights);
  Tensor ids = random_ids(2, 12, c.vocab_size, 8), labels = random_ids(2, 12, c.vocab_size, 9);
  nn::ForwardOptions opt;
  opt.checkpoint_activations = mode;
  nn::ModelOutput out = m.forward(ids, labels, opt);
  out.loss.backward();
  LossAndGrads r;
  r.loss = out.loss.item_double();
  for (auto& [n, t] : m.named_parameters()) {
    EXPECT_TRUE(t.grad().defined()) << n;
    if (t.grad().defined()) r.grads.emplace_back(n, t.grad().to_vector_f32());
  }
  return r;
}

// Recomputing in backward runs the same kernels on the same inputs: not close, the same bits.
TEST(Transformer, CheckpointingGivesTheSameBits) {
  ModelConfig mla = tiny("mla", true);
  ModelConfig mtp = tiny("mha", true);
  mtp.mtp = MtpConfig{1, 0.3};
  const std::vector<std::pair<const char*, ModelConfig>> configs = {
      {"mha+moe", tiny("mha", true)},
      {"mla+moe", mla},
      {"mha dense", tiny("mha", false)},
      {"mha+moe+mtp", mtp}};
  // In every precision: the recomputation reads the same 16-bit weight copies.
  for (const auto& [config_name, c] : configs) {
    for (DType precision : {DType::f32, DType::bf16, DType::f16}) {
      std::string name = config_name;
      name += " ";
      name += dtype_name(precision);
      const LossAndGrads none = loss_and_grads(c, nn::Recompute::none, precision);
      for (nn::Recompute mode : {nn::Recompute::attention, nn::Recompute::block}) {
        const char* mode_name = mode == nn::Recompute::block ? "block" : "attention";
        const LossAndGrads other = loss_and_grads(c, mode, precision);
        EXPECT_EQ(std::memcmp(&none.loss, &other.loss, sizeof(double)), 0)
            << name << " " << mode_name << ": loss " << none.loss << " vs " << other.loss;
        ASSERT_EQ(none.grads.size(), other.grads.size()) << name << " " << mode_name;
        for (size_t i = 0; i < none.grads.size(); ++i) {
          const auto& x = none.grads[i].second;
          const auto& y = other.grads[i].second;
          ASSERT_EQ(x.size(), y.size()) << none.grads[i].first;
          EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0)
              << name << " " << mode_name << ": gradient of " << none.grads[i].first << " differs";
        }
      }
    }
  }
}

TEST(Transformer, ParseRecompute) {
  EXPECT_EQ(nn::parse_recompute("none"), nn::Recompute::none);
  EXPECT_EQ(nn::parse_recompute("attention"), nn::Recompute::attention);
  EXPECT_EQ(nn::parse_recompute("block"), nn::Recompute::block);
  EXPECT_THROW(nn::parse_recompute("blocks"), Error);
}

TEST(Transformer, BiasUpdateMovesTowardBalance) {
  Generator g(4);
  nn::Transformer m(tiny("mha", true), g);
  auto layers = m.moe_layers();
  ASSERT_EQ(layers.size(), 1u);
  m.update_expert_biases({{10, 2, 4, 4}});
  auto b = layers[0]->correction_bias().to_vector_f32();
  EXPECT_FLOAT_EQ(b[0], -0.01f);  // overloaded: pushed down
  EXPECT_FLOAT_EQ(b[1], 0.01f);
  EXPECT_FLOAT_EQ(b[2], 0.01f);  // mean is 5: 4 < 5
  EXPECT_THROW(m.update_expert_biases({{1, 2}}), Error);
}

}  // namespace
}  // namespace seekforge
