#include "rl/rollout.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/node.h"
#include "core/error.h"
#include "infer/generate.h"
#include "ops/elementwise.h"
#include "ops/softmax.h"

namespace seekforge::rl {
namespace {

ModelConfig small_model(bool moe) {
  ModelConfig c;
  c.vocab_size = 40;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.max_seq_len = 48;
  c.d_ff = 48;
  c.first_dense_layers = 1;
  // Large weights: wide logit margins, so greedy choices do not hinge on the last bit of a sum
  // whose order differs between a batch of one and a batch of many.
  c.init_std = 0.3;
  if (moe) c.moe = MoeConfig{4, 1, 2, 16, "softmax", true, 1.0, 0.0, 0.001, 0.0};
  return c;
}

TEST(Rollout, GreedyBatchedCompletionsEqualOneAtATimeGeneration) {
  Generator gen(3);
  nn::Transformer model(small_model(true), gen);
  const std::vector<std::vector<int64_t>> prompts{{1, 2, 3}, {4, 5, 6}, {7, 8}, {9, 10, 11, 12}};
  SamplingConfig s;
  s.max_tokens = 10;
  s.temperature = 0;
  const int64_t stop = 0;
  const auto out = sample_completions(model, prompts, 2, s, stop, 0);
  ASSERT_EQ(out.size(), 8u);
  for (size_t p = 0; p < prompts.size(); ++p) {
    infer::GenerateOptions go;
    go.max_tokens = 10;
    go.sampling.temperature = 0;
    go.stop_tokens = {stop};
    const auto want = infer::generate(model, prompts[p], go);
    EXPECT_EQ(out[2 * p].tokens, want) << "prompt " << p;
    EXPECT_EQ(out[2 * p + 1].tokens, want) << "prompt " << p << " (second of the group)";
    EXPECT_EQ(out[2 * p].finished, !want.empty() && want.back() == stop);
  }
}

TEST(Rollout, SampledCompletionsAreSeededPerRowAndRepeat) {
  Generator gen(4);
  nn::Transformer model(small_model(false), gen);
  const std::vector<std::vector<int64_t>> prompts{{1, 2, 3}, {4, 5}};
  SamplingConfig s;
  s.max_tokens = 12;
  s.seed = 11;
  const auto a = sample_completions(model, prompts, 4, s, 0, 5);
  const auto b = sample_completions(model, prompts, 4, s, 0, 5);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].tokens, b[i].tokens);
  const auto c = sample_completions(model, prompts, 4, s, 0, 6);
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) differs |= a[i].tokens != c[i].tokens;
  EXPECT_TRUE(differs) << "another stream must draw other tokens";
  bool group_varies = false;
  for (size_t g = 1; g < 4; ++g) group_varies |= a[g].tokens != a[0].tokens;
  EXPECT_TRUE(group_varies) << "the samples of one group must differ";
}

std::vector<int64_t> ids_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::vector<int64_t>(c.data<int64_t>(), c.data<int64_t>() + c.numel());
}

TEST(Rollout, PackedLayoutPutsTargetsAtTheCompletionPositions) {
  const std::vector<int64_t> p0{1, 2, 3}, c0{4, 5}, p1{6}, c1{7, 8, 9, 10};
  const SequenceBatch b = pack_sequences({&p0, &p1}, {&c0, &c1}, 0);
  ASSERT_EQ(b.input_ids.shape(), (Shape{2, 4}));
  EXPECT_EQ(ids_of(b.input_ids), (std::vector<int64_t>{1, 2, 3, 4, 6, 7, 8, 9}));
  EXPECT_EQ(ids_of(b.targets), (std::vector<int64_t>{-100, -100, 4, 5, 7, 8, 9, 10}));
  EXPECT_EQ(b.mask.to_vector_f32(), (std::vector<float>{0, 0, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(b.first, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(b.length, (std::vector<int64_t>{2, 4}));
}

TEST(Rollout, LogprobsOfAPaddedRowEqualThoseOfTheRowAlone) {
  Generator gen(5);
  nn::Transformer model(small_model(true), gen);
  autograd::NoGradGuard no_grad;
  const std::vector<int64_t> p0{1, 2, 3}, c0{4, 5}, p1{6, 7}, c1{8, 9, 10, 11, 12};
  const SequenceBatch both = pack_sequences({&p0, &p1}, {&c0, &c1}, 0);
  const SequenceBatch alone = pack_sequences({&p0}, {&c0}, 0);
  const auto lb = completion_values(completion_logprobs(model, both, 0.7), both);
  const auto la = completion_values(completion_logprobs(model, alone, 0.7), alone);
  ASSERT_EQ(lb[0].size(), 2u);
  for (size_t j = 0; j < 2; ++j) EXPECT_NEAR(lb[0][j], la[0][j], 1e-5);
  // Against log_softmax(logits / T) read by hand.
  Tensor logits = model.forward(alone.input_ids, Tensor()).logits;
  Tensor ls = ops::log_softmax(ops::mul(logits, 1.0 / 0.7), -1).contiguous();
  const float* p = ls.data<float>();
  const int64_t V = 40;
  EXPECT_NEAR(la[0][0], p[2 * V + 4], 1e-5);
  EXPECT_NEAR(la[0][1], p[3 * V + 5], 1e-5);
  for (float x : lb[1]) EXPECT_LT(x, 0.0f);
}

TEST(Rollout, BadPromptsAreRefusedNamingThem) {
  Generator gen(6);
  nn::Transformer model(small_model(false), gen);
  SamplingConfig s;
  EXPECT_THROW(sample_completions(model, {{1, 99}}, 1, s, 0, 0), Error);
  EXPECT_THROW(sample_completions(model, {{}}, 1, s, 0, 0), Error);
  EXPECT_THROW(sample_completions(model, {std::vector<int64_t>(48, 1)}, 1, s, 0, 0), Error);
  try {
    sample_completions(model, {{1, 2}, {3, 40}}, 1, s, 0, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("prompt 1 has token 40"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace seekforge::rl
