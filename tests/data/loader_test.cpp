// Tests of the dataset loaders on a tokenized corpus: packed windows, the bucketed loader
// (dynamic width, padding, attention mask, labels -100 on padding), domain mixing frequencies,
// prefetching (the same batches as without), and exact resumption through state()/set_state().
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/batch_values.h"
#include "data/bucketed_source.h"
#include "data/prefetch.h"
#include "data/shard.h"
#include "data/source.h"
#include "data/temp_dir.h"

namespace seekforge::data {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::TempDir;

using testing::mask_values;
using testing::values;

bool same(const Batch& a, const Batch& b) {
  if (values(a.input_ids) != values(b.input_ids) || values(a.labels) != values(b.labels))
    return false;
  if (a.attention_mask.defined() != b.attention_mask.defined()) return false;
  return !a.attention_mask.defined() ||
         mask_values(a.attention_mask) == mask_values(b.attention_mask);
}

// A two-domain dataset written the way tokenize_corpus lays it out: domain "a" holds tokens in
// [1000, 2000), domain "b" in [2000, 3000), so a row tells its domain; documents have lengths
// 2..41 (token i of a document = base + i), pad id 7.
void make_domains(const std::string& dir) {
  Manifest m;
  m.vocab_size = 4000;
  m.tokenizer_hash = "test";
  for (const char* split : {"train", "val"}) {
    for (int dom = 0; dom < 2; ++dom) {
      const std::string name = dom == 0 ? "a" : "b";
      std::vector<std::vector<uint32_t>> docs;
      for (int d = 0; d < (split[0] == 't' ? 40 : 8); ++d) {
        std::vector<uint32_t> doc;
        for (int i = 0; i < 2 + d; ++i) doc.push_back(uint32_t(1000 * (dom + 1) + d + i));
        docs.push_back(doc);
      }
      const std::string file = std::string(split) + "-" + name + "-0000.bin";
      write_shard(dir + "/" + file, docs, TokenDType::u16);
      int64_t tokens = 0;
      for (auto& d : docs) tokens += int64_t(d.size());
      m.shards.push_back({file, tokens, int64_t(docs.size())});
      m.splits[split].push_back(file);
      m.splits[std::string(split) + "/" + name].push_back(file);
    }
  }
  m.stats["tokenize"] = {{"pad_id", 7}, {"eos_id", 8}};
  write_manifest(dir, m);
}

DataConfig dataset_config(const std::string& dir, bool prefetch) {
  DataConfig d;
  d.path = dir;
  d.prefetch = prefetch;
  return d;
}

TEST(Loader, PackedWindowsCrossDocumentsOfTheSplit) {
  TempDir dir;
  make_domains(dir.path());
  auto src = make_source(dataset_config(dir.path(), false), 4000, 3, Split::val);
  const Batch b = src->next(4, 16);
  EXPECT_FALSE(b.attention_mask.defined());
  const auto in = values(b.input_ids), lab = values(b.labels);
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t t = 0; t + 1 < 16; ++t)
      EXPECT_EQ(lab[size_t(r * 16 + t)], in[size_t(r * 16 + t + 1)]);
  for (int64_t v : in) EXPECT_TRUE(v >= 1000 && v < 3000);
}

TEST(Loader, BucketedPadsToTheLongestWithMasksAndIgnoredLabels) {
  TempDir dir;
  make_domains(dir.path());
  DataConfig cfg = dataset_config(dir.path(), false);
  cfg.loader = "bucketed";
  cfg.buckets = 4;
  auto src = make_source(cfg, 4000, 1, Split::train);
  bool saw_padding = false;
  for (int c = 0; c < 20; ++c) {
    const Batch b = src->next(6, 32);
    ASSERT_TRUE(b.attention_mask.defined());
    const int64_t W = b.input_ids.shape()[1];
    EXPECT_LE(W, 32);
    const auto in = values(b.input_ids), lab = values(b.labels);
    const auto mask = mask_values(b.attention_mask);
    int64_t longest = 0;
    for (int64_t r = 0; r < 6; ++r) {
      int64_t real = 0;
      for (int64_t t = 0; t < W; ++t) {
        const size_t i = size_t(r * W + t);
        if (mask[i]) {
          EXPECT_EQ(real, t) << "padding is on the right only";
          ++real;
          EXPECT_NE(lab[i], kIgnoreLabel);
          EXPECT_EQ(lab[i] - in[i], 1) << "the next token of the same document";
        } else {
          saw_padding = true;
          EXPECT_EQ(lab[i], kIgnoreLabel);
          EXPECT_EQ(in[i], 7) << "the manifest's pad id";
        }
      }
      longest = std::max(longest, real);
      EXPECT_GE(real, 1);
    }
    EXPECT_EQ(longest, W) << "width = the longest row (dynamic padding)";
  }
  EXPECT_TRUE(saw_padding);
}

TEST(Loader, BucketsGroupSimilarLengths) {
  TempDir dir;
  make_domains(dir.path());
  DataConfig cfg = dataset_config(dir.path(), false);
  cfg.loader = "bucketed";
  cfg.buckets = 8;
  auto src = make_source(cfg, 4000, 2, Split::train);
  // 80 documents of lengths 2..41 (two each), 8 quantile buckets: a batch's rows differ in length
  // by at most one bucket's span (10 lengths).
  for (int c = 0; c < 10; ++c) {
    const Batch b = src->next(8, 64);
    const int64_t W = b.input_ids.shape()[1];
    const auto mask = mask_values(b.attention_mask);
    int64_t lo = W, hi = 0;
    for (int64_t r = 0; r < 8; ++r) {
      int64_t real = 0;
      for (int64_t t = 0; t < W; ++t) real += mask[size_t(r * W + t)];
      lo = std::min(lo, real);
      hi = std::max(hi, real);
    }
    EXPECT_LE(hi - lo, 5);
  }
}

TEST(Loader, DomainMixingFollowsTheWeights) {
  TempDir dir;
  make_domains(dir.path());
  DataConfig cfg = dataset_config(dir.path(), false);
  cfg.domain_weights = {{"a", 0.8}, {"b", 0.2}};
  auto src = make_source(cfg, 4000, 5, Split::train);
  int64_t rows = 0, a = 0;
  for (int c = 0; c < 100; ++c) {
    const Batch b = src->next(20, 8);
    const auto in = values(b.input_ids);
    for (int64_t r = 0; r < 20; ++r) {
      ++rows;
      a += in[size_t(r * 8)] < 2000;
      for (int64_t t = 1; t < 8; ++t)  // a row stays in its domain
        EXPECT_EQ(in[size_t(r * 8 + t)] < 2000, in[size_t(r * 8)] < 2000);
    }
  }
  // 2000 rows, p = 0.8: standard deviation ~0.009; 5 sigma.
  EXPECT_NEAR(double(a) / double(rows), 0.8, 0.045);

  cfg.domain_weights = {{"a", 1.0}, {"zzz", 1.0}};
  expect_error([&] { make_source(cfg, 4000, 5, Split::train); },
               {"data.domain_weights.zzz", "no domain \"zzz\"", "a, b"});
}

TEST(Loader, PrefetchGivesTheSameBatches) {
  TempDir dir;
  make_domains(dir.path());
  for (const char* loader : {"packed", "bucketed"}) {
    DataConfig cfg = dataset_config(dir.path(), false);
    cfg.loader = loader;
    if (cfg.loader == "packed") cfg.domain_weights = {{"a", 0.5}, {"b", 0.5}};
    auto plain = make_source(cfg, 4000, 9, Split::train);
    cfg.prefetch = true;
    auto ahead = make_source(cfg, 4000, 9, Split::train);
    EXPECT_NE(ahead->describe().find("prefetching"), std::string::npos);
    for (int c = 0; c < 12; ++c) {
      const int64_t T = c == 5 ? 8 : 16;  // a shape change throws the made-ahead batch away
      EXPECT_TRUE(same(plain->next(4, T), ahead->next(4, T))) << loader << " batch " << c;
      EXPECT_EQ(plain->state(), ahead->state()) << loader << " batch " << c;
    }
  }
}

TEST(Loader, ResumesBitwiseFromState) {
  TempDir dir;
  make_domains(dir.path());
  for (const char* loader : {"packed", "bucketed"}) {
    for (bool prefetch : {false, true}) {
      DataConfig cfg = dataset_config(dir.path(), prefetch);
      cfg.loader = loader;
      auto a = make_source(cfg, 4000, 11, Split::train);
      for (int c = 0; c < 3; ++c) a->next(5, 12);
      const nlohmann::json saved = a->state();
      std::vector<Batch> expected;
      for (int c = 0; c < 3; ++c) expected.push_back(a->next(5, 12));
      auto b = make_source(cfg, 4000, 11, Split::train);
      b->set_state(saved);
      for (int c = 0; c < 3; ++c) EXPECT_TRUE(same(expected[size_t(c)], b->next(5, 12))) << loader;
      // set_state on a prefetching source rewinds a batch already made ahead.
      a->set_state(saved);
      EXPECT_TRUE(same(expected[0], a->next(5, 12))) << loader;
    }
  }
  DataConfig packed = dataset_config(dir.path(), false);
  packed.domain_weights = {{"a", 0.5}, {"b", 0.5}};
  auto mixed = make_source(packed, 4000, 11, Split::train);
  packed.domain_weights = {{"a", 0.9}, {"b", 0.1}};
  auto other = make_source(packed, 4000, 11, Split::train);
  expect_error([&] { other->set_state(mixed->state()); }, {"domain_weights"});
  DataConfig bucketed = dataset_config(dir.path(), false);
  bucketed.loader = "bucketed";
  auto bk = make_source(bucketed, 4000, 11, Split::train);
  expect_error([&] { bk->set_state(mixed->state()); }, {"set_state", "kind"});
}

TEST(Loader, ConfigErrorsNameTheKey) {
  TempDir dir;
  make_domains(dir.path());
  DataConfig cfg;
  cfg.synthetic = "random";
  cfg.domain_weights = {{"a", 1.0}};
  expect_error([&] { make_source(cfg, 64, 0, Split::train); }, {"data.domain_weights"});
  cfg = dataset_config(dir.path(), false);
  cfg.loader = "bucketed";
  cfg.domain_weights = {{"a", 1.0}};
  expect_error([&] { make_source(cfg, 4000, 0, Split::train); },
               {"data.domain_weights", "bucketed"});
  cfg.domain_weights.clear();
  cfg.loader = "zigzag";
  expect_error([&] { make_source(cfg, 4000, 0, Split::train); }, {"data.loader", "zigzag"});
}

}  // namespace
}  // namespace seekforge::data
