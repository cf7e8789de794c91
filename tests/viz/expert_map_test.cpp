// Expert maps (viz/expert_map.h): loads from a captured layer, the files written with the
// tokens and gate weights in the HTML, and the error for a model without MoE layers.
#include "viz/expert_map.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "data/temp_dir.h"
#include "nn/transformer.h"
#include "viz/inspect_test_util.h"

namespace seekforge {
namespace {

ModelConfig expert_config(bool moe) {
  ModelConfig c;
  c.vocab_size = 256;
  c.d_model = 16;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.max_seq_len = 64;
  c.d_ff = 24;
  c.first_dense_layers = 1;
  if (moe) c.moe = MoeConfig{4, 1, 2, 8, "softmax", true, 1.0, 0.0, 0.001, 0.0};
  return c;
}

TEST(MoEExpertMap, WritesColouredTextAndLoads) {
  ModelConfig c = expert_config(true);
  Generator gen(4);
  nn::Transformer model(c, gen);
  viz::testing::InspectedPrompt p = viz::testing::inspect_prompt(model, "a <tag> & more");
  const nn::Inspection& ins = p.inspection;
  ASSERT_EQ(ins.moe.size(), 1u);
  EXPECT_EQ(viz::expert_loads(ins.moe[0], 4), model.moe_layers()[0]->last_stats().load);
  data::testing::TempDir dir;
  viz::ExpertMapOptions opt;
  opt.out_dir = dir.path();
  auto files = viz::write_expert_maps(p.ids, c, ins, opt);
  EXPECT_EQ(files.size(), 4u);
  for (const char* f :
       {"experts-load.png", "experts-load.svg", "experts-tokens.png", "experts.html"})
    EXPECT_TRUE(std::filesystem::exists(dir.file(f))) << f;
  const std::string html = data::testing::read_bytes(dir.file("experts.html"));
  EXPECT_NE(html.find("&lt;"), std::string::npos);
  EXPECT_NE(html.find("gate weight"), std::string::npos);
  EXPECT_NE(html.find("layer 1"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);  // the load chart inline
}

TEST(MoEExpertMap, DenseModelIsAnError) {
  ModelConfig c = expert_config(false);
  nn::Inspection ins;
  viz::ExpertMapOptions opt;
  opt.out_dir = "unused";
  data::testing::expect_error(
      [&] {
        viz::write_expert_maps({1, 2}, c, ins, opt);
      },
      {"no MoE layers"});
}

}  // namespace
}  // namespace seekforge
