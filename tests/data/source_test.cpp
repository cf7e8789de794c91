// Tests of the batch sources: shapes and label semantics of every kind, exact resumption from
// state(), train/val separation, identity checks on resume, and the configuration errors.
#include "data/source.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/batch_values.h"
#include "data/shard.h"
#include "data/temp_dir.h"

namespace seekforge::data {
namespace {

using testing::TempDir;
using testing::expect_error;
using testing::write_bytes;


using testing::values;

bool same_ids(const Batch& a, const Batch& b) {
  return values(a.input_ids) == values(b.input_ids) && values(a.labels) == values(b.labels);
}

DataConfig synthetic(const std::string& kind) {
  DataConfig d;
  d.synthetic = kind;
  return d;
}

// A text file of n pseudo-random bytes (every value 0..255 appears).
std::string make_text(const TempDir& dir, size_t n) {
  std::string s(n, '\0');
  std::mt19937 gen(1234);
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(gen() >> 24);
  write_bytes(dir.file("text.txt"), s);
  return dir.file("text.txt");
}

// A dataset of three shards (train: two, val: one) with token i of shard k = k*1000 + i % 997.
void make_dataset(const TempDir& dir, int64_t vocab = 4000) {
  Manifest m;
  m.vocab_size = vocab;
  m.tokenizer_hash = "test";
  const int64_t sizes[3] = {500, 40, 300};
  for (int k = 0; k < 3; ++k) {
    std::vector<uint32_t> tokens;
    for (int64_t i = 0; i < sizes[k]; ++i) tokens.push_back(uint32_t(k * 1000 + i % 997));
    const std::vector<uint64_t> offsets = {0, uint64_t(sizes[k] / 2), uint64_t(sizes[k])};
    // Appended rather than "s" + ...: GCC 12 at -O3 reports a false -Wrestrict (bug 105329) for
    // that concatenation when this file shares a unity-build translation unit.
    std::string file = "s";
    file += std::to_string(k);
    file += ".bin";
    write_shard(dir.file(file), tokens, offsets, TokenDType::u16);
    m.shards.push_back({file, sizes[k], 2});
  }
  m.splits = {{"train", {"s0.bin", "s1.bin"}}, {"val", {"s2.bin"}}};
  write_manifest(dir.path(), m);
}

TEST(Source, RandomShapesAndLabels) {
  auto src = make_source(synthetic("random"), 50, 1, Split::train);
  const Batch b = src->next(4, 16);
  EXPECT_EQ(b.input_ids.shape(), (Shape{4, 16}));
  EXPECT_EQ(b.labels.shape(), (Shape{4, 16}));
  EXPECT_EQ(b.input_ids.dtype(), DType::i64);
  EXPECT_EQ(b.labels.dtype(), DType::i64);
  const auto in = values(b.input_ids), lab = values(b.labels);
  for (int64_t r = 0; r < 4; ++r) {
    for (int64_t t = 0; t < 16; ++t) {
      EXPECT_GE(in[r * 16 + t], 0);
      EXPECT_LT(in[r * 16 + t], 50);
      EXPECT_GE(lab[r * 16 + t], 0);
      EXPECT_LT(lab[r * 16 + t], 50);
      if (t + 1 < 16) {
        EXPECT_EQ(lab[r * 16 + t], in[r * 16 + t + 1]);  // next-token targets
      }
    }
  }
  // Roughly uniform: every token of a small vocabulary appears in a large batch.
  const auto big = values(src->next(64, 64).input_ids);
  std::vector<int> seen(50, 0);
  for (int64_t v : big) seen[size_t(v)]++;
  for (int c : seen) EXPECT_GT(c, 40);  // mean 82
}

void check_copy_rows(const Batch& b, int64_t B, int64_t T, bool reverse) {
  const auto in = values(b.input_ids), lab = values(b.labels);
  const int64_t m = T / 2;
  for (int64_t r = 0; r < B; ++r) {
    const int64_t* x = &in[size_t(r * T)];
    const int64_t* y = &lab[size_t(r * T)];
    for (int64_t i = 0; i < m; ++i) {
      EXPECT_GE(x[i], kCopyFirstContent);
      EXPECT_EQ(y[i], kIgnoreLabel) << "first copy positions are not predictable";
    }
    EXPECT_EQ(x[m], kCopySeparator);
    for (int64_t i = 0; i < m; ++i) {
      const int64_t want = reverse ? x[m - 1 - i] : x[i];
      EXPECT_EQ(y[m + i], want) << "row " << r << " position " << m + i;
      if (m + 1 + i < T) {
        EXPECT_EQ(x[m + 1 + i], want);
      }
    }
    for (int64_t t = 2 * m; t < T; ++t) {
      if (t > 2 * m) {
        EXPECT_EQ(x[t], kCopyPad);
      }
      EXPECT_EQ(y[t], kIgnoreLabel);
    }
  }
}

TEST(Source, CopyLabelSemantics) {
  for (int64_t T : {16, 17, 2, 3}) {
    auto src = make_source(synthetic("copy"), 20, 3, Split::train);
    check_copy_rows(src->next(5, T), 5, T, false);
  }
  // Exactly m labels per row count.
  auto src = make_source(synthetic("copy"), 20, 3, Split::train);
  const auto lab = values(src->next(1, 11).labels);
  int counted = 0;
  for (int64_t v : lab) counted += v != kIgnoreLabel;
  EXPECT_EQ(counted, 5);
}

TEST(Source, ReverseLabelSemantics) {
  for (int64_t T : {16, 9}) {
    auto src = make_source(synthetic("reverse"), 20, 3, Split::train);
    check_copy_rows(src->next(5, T), 5, T, true);
  }
  auto src = make_source(synthetic("reverse"), 1000, 3, Split::train);
  const auto in = values(src->next(1, 8).input_ids);  // m = 4: a b c d SEP d c b
  EXPECT_EQ(in[5], in[3]);
  EXPECT_EQ(in[6], in[2]);
  EXPECT_EQ(in[7], in[1]);
}

TEST(Source, CopyRefusesTinyVocabAndSequence) {
  expect_error([] { make_source(synthetic("copy"), 2, 0, Split::train); },
               {"data.synthetic", "model.vocab_size = 2"});
  auto src = make_source(synthetic("copy"), 10, 0, Split::train);
  expect_error([&] { src->next(1, 1); }, {"train.seq_len = 1"});
}

TEST(Source, TextFileWindows) {
  TempDir dir;
  DataConfig d;
  d.text_file = make_text(dir, 1000);
  d.val_fraction = 0.2;
  const std::string bytes = testing::read_bytes(d.text_file);
  for (Split split : {Split::train, Split::val}) {
    auto src = make_source(d, 256, 7, split);
    const Batch b = src->next(8, 32);
    const auto in = values(b.input_ids), lab = values(b.labels);
    for (int64_t r = 0; r < 8; ++r) {
      // The row is a window of the file's bytes inside the split: find where it starts.
      const int64_t* x = &in[size_t(r * 32)];
      std::string window(33, '\0');
      for (int t = 0; t < 32; ++t) window[size_t(t)] = char(x[t]);
      window[32] = char(lab[size_t(r * 32 + 31)]);
      const size_t at = bytes.find(window);
      ASSERT_NE(at, std::string::npos);
      if (split == Split::train) {
        EXPECT_LE(at + 33, 800u);
      } else {
        EXPECT_GE(at, 800u);
      }
      for (int t = 0; t + 1 < 32; ++t) EXPECT_EQ(lab[size_t(r * 32 + t)], x[t + 1]);
    }
  }
}

TEST(Source, TextFileRefusesSmallVocabAndMissingFile) {
  TempDir dir;
  DataConfig d;
  d.text_file = make_text(dir, 100);
  expect_error([&] { make_source(d, 128, 0, Split::train); },
               {"data.text_file", "model.vocab_size = 128", ">= 256"});
  d.text_file = dir.file("absent.txt");
  expect_error([&] { make_source(d, 256, 0, Split::train); }, {"absent.txt"});
  d.text_file = make_text(dir, 100);
  d.val_fraction = 0.05;  // 5 bytes of val
  auto val = make_source(d, 256, 0, Split::val);
  expect_error([&] { val->next(1, 8); }, {"data.val_fraction", "train.seq_len + 1 = 9"});
  auto train = make_source(d, 256, 0, Split::train);
  expect_error([&] { train->next(1, 200); }, {"data.text_file", "train split is 95 bytes"});
}

TEST(Source, DatasetWindowsStayInsideSplitShards) {
  TempDir dir;
  make_dataset(dir);
  DataConfig d;
  d.path = dir.path();
  auto train = make_source(d, 4096, 5, Split::train);
  auto val = make_source(d, 4096, 5, Split::val);
  bool saw_shard1 = false;
  for (int rep = 0; rep < 20; ++rep) {
    for (auto* src : {train.get(), val.get()}) {
      const Batch b = src->next(8, 24);
      const auto in = values(b.input_ids), lab = values(b.labels);
      for (int64_t r = 0; r < 8; ++r) {
        const int64_t shard = in[size_t(r * 24)] / 1000;
        EXPECT_EQ(shard == 2, src == val.get());
        saw_shard1 |= shard == 1;
        for (int t = 0; t < 24; ++t) {
          const int64_t next = t + 1 < 24 ? in[size_t(r * 24 + t + 1)] : lab[size_t(r * 24 + t)];
          EXPECT_EQ(lab[size_t(r * 24 + t)], next);
          EXPECT_EQ(next, in[size_t(r * 24 + t)] + 1) << "window crosses a shard";
        }
      }
    }
  }
  EXPECT_TRUE(saw_shard1);  // 40-token shard still holds windows of 25
  // A window longer than every shard of the split is refused.
  expect_error([&] { val->next(1, 300); }, {"splits.val", "train.seq_len + 1 = 301"});
}

TEST(Source, DatasetRefusesLargerVocabAndMissingDir) {
  TempDir dir;
  make_dataset(dir, 4000);
  DataConfig d;
  d.path = dir.path();
  expect_error([&] { make_source(d, 3999, 0, Split::train); },
               {"data.path", "vocab_size 4000", "model.vocab_size = 3999"});
  d.path = dir.file("nowhere");
  expect_error([&] { make_source(d, 4000, 0, Split::train); }, {"nowhere"});
}

TEST(Source, ConfigErrors) {
  DataConfig none;
  expect_error([&] { make_source(none, 10, 0, Split::train); }, {"exactly one of data.path"});
  expect_error([] { make_source(synthetic("zipf"), 10, 0, Split::train); },
               {"data.synthetic = \"zipf\""});
}

// Every kind: 5 batches, save, 3 more; a fresh source restored from the state gives the same 3.
TEST(Source, ResumesExactly) {
  TempDir dir;
  make_dataset(dir);
  std::vector<DataConfig> configs = {synthetic("random"), synthetic("copy"), synthetic("reverse")};
  DataConfig text;
  text.text_file = make_text(dir, 5000);
  configs.push_back(text);
  DataConfig ds;
  ds.path = dir.path();
  configs.push_back(ds);
  for (const DataConfig& d : configs) {
    for (Split split : {Split::train, Split::val}) {
      auto a = make_source(d, 4096, 42, split);
      for (int i = 0; i < 5; ++i) a->next(4, 20);
      const nlohmann::json state = a->state();
      EXPECT_EQ(state["counter"], 5);
      std::vector<Batch> expected;
      for (int i = 0; i < 3; ++i) expected.push_back(a->next(4, 20));
      auto b = make_source(d, 4096, 42, split);
      b->set_state(nlohmann::json::parse(state.dump()));  // through text, as a checkpoint does
      for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(same_ids(b->next(4, 20), expected[size_t(i)])) << a->describe();
      }
      // Same seed, same counter: a third source from scratch matches batch 0 of the first.
      auto c = make_source(d, 4096, 42, split);
      auto e = make_source(d, 4096, 42, split);
      EXPECT_TRUE(same_ids(c->next(4, 20), e->next(4, 20)));
    }
  }
}

TEST(Source, TrainAndValDiffer) {
  for (const char* kind : {"random", "copy", "reverse"}) {
    auto train = make_source(synthetic(kind), 1000, 9, Split::train);
    auto val = make_source(synthetic(kind), 1000, 9, Split::val);
    EXPECT_FALSE(same_ids(train->next(4, 32), val->next(4, 32))) << kind;
  }
  // Different seeds differ; consecutive batches differ.
  auto a = make_source(synthetic("random"), 1000, 1, Split::train);
  auto b = make_source(synthetic("random"), 1000, 2, Split::train);
  const Batch a0 = a->next(2, 8);
  EXPECT_FALSE(same_ids(a0, b->next(2, 8)));
  EXPECT_FALSE(same_ids(a0, a->next(2, 8)));
}

TEST(Source, SetStateVerifiesIdentityNamingField) {
  TempDir dir;
  DataConfig text;
  text.text_file = make_text(dir, 3000);
  auto a = make_source(text, 256, 1, Split::train);
  a->next(2, 8);
  const nlohmann::json state = a->state();
  EXPECT_EQ(state["kind"], "text_file");
  EXPECT_TRUE(state.contains("file_hash"));
  // The file changed between runs. The first run ends before the rewrite: its prefetch thread
  // reads the mapping, and a truncated mapped file faults the reader.
  a.reset();
  make_text(dir, 3001);
  auto changed = make_source(text, 256, 1, Split::train);
  expect_error([&] { changed->set_state(state); }, {"\"file_", "does not match"});

  auto r = make_source(synthetic("random"), 100, 1, Split::train);
  auto bad = [&](const char* key, nlohmann::json v, const char* fragment) {
    nlohmann::json s = r->state();
    if (v.is_null()) {
      s.erase(key);
    } else {
      s[key] = v;
    }
    expect_error([&] { r->set_state(s); }, {std::string("\"") + key + "\"", fragment});
  };
  bad("kind", "copy", "does not match");
  bad("split", "val", "does not match");
  bad("seed", 2, "does not match");
  bad("vocab_size", 99, "does not match");
  bad("counter", -1, "not a non-negative integer");
  bad("counter", "7", "not a non-negative integer");
  bad("counter", nullptr, "missing");
  expect_error([&] { r->set_state(nlohmann::json::array()); }, {"not a JSON object"});
}

TEST(Source, Describe) {
  auto src = make_source(synthetic("copy"), 64, 0, Split::val);
  src->next(1, 4);
  const std::string d = src->describe();
  EXPECT_NE(d.find("copy"), std::string::npos) << d;
  EXPECT_NE(d.find("val split"), std::string::npos) << d;
  EXPECT_NE(d.find("batch 1"), std::string::npos) << d;
}

}  // namespace
}  // namespace seekforge::data
