// Attention maps (viz/attention_map.h): long prompts are tiled into blocks that cover every
// visible (query, key) pair and no hidden-only block; layer/head selection errors name the
// range; the files for a short prompt are written with the tokens in the HTML.
#include "viz/attention_map.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "data/temp_dir.h"
#include "nn/transformer.h"
#include "viz/inspect_test_util.h"

namespace seekforge {
namespace {

using viz::AttentionBlock;

// Every visible pair is in exactly one block, every block holds one visible pair at least.
void expect_cover(int64_t T, int64_t block, int64_t window) {
  auto blocks = viz::attention_blocks(T, block, window);
  std::vector<int> seen(static_cast<size_t>(T * T), 0);
  for (const AttentionBlock& b : blocks) {
    EXPECT_LE(b.q1 - b.q0, block);
    EXPECT_LE(b.k1 - b.k0, block);
    bool any = false;
    for (int64_t q = b.q0; q < b.q1; ++q)
      for (int64_t k = b.k0; k < b.k1; ++k) {
        ++seen[static_cast<size_t>(q * T + k)];
        any |= k <= q && (window == 0 || k > q - window);
      }
    EXPECT_TRUE(any) << "block q" << b.q0 << " k" << b.k0 << " shows only hidden pairs";
  }
  for (int64_t q = 0; q < T; ++q)
    for (int64_t k = 0; k <= q; ++k)
      if (window == 0 || k > q - window) {
        EXPECT_EQ(seen[static_cast<size_t>(q * T + k)], 1) << "pair " << q << "," << k;
      }
}

TEST(AttentionMap, ShortPromptIsOneBlock) {
  EXPECT_EQ(viz::attention_blocks(20, 48, 0), (std::vector<AttentionBlock>{{0, 20, 0, 20}}));
  EXPECT_TRUE(viz::attention_blocks(0, 48, 0).empty());
}

TEST(AttentionMap, LongPromptsAreTiledAlongTheCausalBand) {
  // 100 positions in blocks of 48: query blocks [0,48) [48,96) [96,100); the causal triangle
  // needs 1 + 2 + 3 blocks.
  auto blocks = viz::attention_blocks(100, 48, 0);
  EXPECT_EQ(blocks.size(), 6u);
  EXPECT_EQ(blocks.back(), (AttentionBlock{96, 100, 96, 100}));
  expect_cover(100, 48, 0);
  expect_cover(130, 48, 0);
  expect_cover(97, 16, 0);
}

TEST(AttentionMap, SlidingWindowKeepsOnlyTheBand) {
  // Window 10, blocks of 16 over 100 positions: each query block needs its own key block and
  // the one before it (except the first), never older ones.
  auto blocks = viz::attention_blocks(100, 16, 10);
  for (const AttentionBlock& b : blocks) EXPECT_GE(b.k0, b.q0 - 16);
  EXPECT_EQ(blocks.size(), 1u + 2u * 6u);
  expect_cover(100, 16, 10);
  expect_cover(100, 48, 7);
}

TEST(AttentionMap, SelectionOutOfRangeSaysTheRange) {
  ModelConfig c;
  c.n_layers = 3;
  c.n_heads = 4;
  data::testing::expect_error([&] { viz::check_attention_selection(c, 3, -1); },
                              {"--layer 3", "0 to 2"});
  data::testing::expect_error([&] { viz::check_attention_selection(c, 0, 4); },
                              {"--head 4", "0 to 3"});
  EXPECT_NO_THROW(viz::check_attention_selection(c, 2, 3));
  EXPECT_NO_THROW(viz::check_attention_selection(c, -1, -1));
}

TEST(AttentionMap, WritesImagesPerBlockAndAnHtmlPage) {
  ModelConfig c;
  c.vocab_size = 256;
  c.d_model = 16;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.head_dim = 8;
  c.max_seq_len = 64;
  c.d_ff = 24;
  Generator gen(2);
  nn::Transformer model(c, gen);
  viz::testing::InspectedPrompt p =
      viz::testing::inspect_prompt(model, "to be or not to be, that is the question");
  data::testing::TempDir dir;
  viz::AttentionMapOptions opt;
  opt.out_dir = dir.path();
  opt.block = 24;  // 40 tokens: 2 query blocks, 3 tiles per layer
  opt.layer = 1;
  auto files = viz::write_attention_maps(p.ids, c, p.inspection, opt);
  EXPECT_EQ(files.size(), 3u * 2u + 1u);
  EXPECT_TRUE(std::filesystem::exists(dir.file("attention-L1-q24-39-k0-23.png")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("attention-L1-q24-39-k24-39.svg")));
  const std::string html = data::testing::read_bytes(dir.file("attention.html"));
  EXPECT_NE(html.find("\"q\",\"u\",\"e\""), std::string::npos);  // the tokens, in order
  EXPECT_NE(html.find("\u2423"), std::string::npos);             // spaces made visible
  EXPECT_EQ(html.find("\"0\":{"), std::string::npos);            // only the chosen layer
}

}  // namespace
}  // namespace seekforge
