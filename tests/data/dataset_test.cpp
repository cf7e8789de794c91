// Tests of tokenizing a corpus into a dataset: shards and manifest round trip (counts, domains,
// tokenizer hash, eos per document), the val split by document (seeded, exact, disjoint), the
// shard size bound, independence from the thread count, and the bad-input errors (missing and
// empty inputs, binary files, bad JSONL lines, bad domains).
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "data/bpe_train.h"
#include "data/corpus_reader.h"
#include "data/dataset_writer.h"
#include "data/shard.h"
#include "data/temp_dir.h"
#include "data/tokenizer_io.h"

namespace seekforge::data {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

// A small tokenizer trained on a few sentences (bytes + some merges + the default specials).
const Tokenizer& small_tokenizer() {
  static const Tokenizer tok = [] {
    const std::string text =
        "the quick brown fox jumps over the lazy dog. int main() { return 0; } the the the";
    TrainOptions opt;
    opt.vocab_size = 300;
    return train_bpe({text}, opt);
  }();
  return tok;
}

// CorpusDocument i of domain d: distinct text so the documents can be told apart after decoding.
std::string doc_text(const std::string& domain, int i) {
  return domain + " document " + std::to_string(i) + ": the quick brown fox " +
         std::string(size_t(i % 7), 'x');
}

// A corpus directory: prose.jsonl (30 documents, domain "prose", one blank line, one with an
// empty text), code/ (12 .txt files, domain "code") and one JSONL line without a domain.
std::string make_corpus(const TempDir& dir) {
  fs::create_directories(dir.file("in/code"));
  std::string jsonl;
  for (int i = 0; i < 30; ++i) {
    jsonl += nlohmann::json{{"id", i}, {"text", doc_text("prose", i)}, {"domain", "prose"}}.dump();
    jsonl += "\n";
    if (i == 10) jsonl += "\n";
  }
  jsonl += R"({"id": "e", "text": "", "domain": "prose"})"
           "\n";
  jsonl += R"({"id": "n", "text": "no domain here"})"
           "\n";
  write_bytes(dir.file("in/prose.jsonl"), jsonl);
  for (int i = 0; i < 12; ++i)
    write_bytes(dir.file("in/code/f" + std::to_string(i) + ".txt"), doc_text("code", i));
  return dir.file("in");
}

// Every document of a split decoded, eos removed (checking that each ends with eos).
std::multiset<std::string> split_docs(const Dataset& ds, const std::string& split) {
  const Tokenizer& tok = small_tokenizer();
  const uint32_t eos = uint32_t(tok.special_id("eos"));
  std::multiset<std::string> out;
  for (const Shard* s : ds.split(split)) {
    auto off = s->doc_offsets();
    for (int64_t d = 0; d < s->n_docs(); ++d) {
      std::vector<uint32_t> ids;
      for (uint64_t i = off[size_t(d)]; i < off[size_t(d) + 1]; ++i)
        ids.push_back(s->token(int64_t(i)));
      EXPECT_FALSE(ids.empty());
      EXPECT_EQ(ids.back(), eos) << s->path() << " document " << d;
      ids.pop_back();
      out.insert(tok.decode(ids));
    }
  }
  return out;
}

TEST(Dataset, TokenizeRoundTrip) {
  TempDir dir;
  const std::string in = make_corpus(dir);
  const Tokenizer& tok = small_tokenizer();
  TokenizeOptions opt;
  opt.val_fraction = 0.2;
  opt.seed = 7;
  TokenizeStats st;
  tokenize_corpus(in, tok, "small.json", dir.file("out"), opt, &st);
  EXPECT_EQ(st.documents, 43);  // 30 prose + 1 without domain + 12 code
  EXPECT_EQ(st.empty_documents, 1);
  EXPECT_FALSE(fs::exists(dir.file("out/manifest.json.tmp")));

  const Dataset ds(dir.file("out"));
  const Manifest& m = ds.manifest();
  EXPECT_EQ(m.vocab_size, tok.vocab_size());
  EXPECT_EQ(m.tokenizer_hash, "fnv1a64:" + hex64(tokenizer_hash(tok)));
  EXPECT_EQ(m.stats["tokenize"]["documents"], 43);
  EXPECT_EQ(m.stats["tokenize"]["eos_id"], tok.special_id("eos"));

  const auto train = split_docs(ds, "train"), val = split_docs(ds, "val");
  // round(44 * 0.2) = 9 of the 44 input documents go to val (the split is chosen before
  // encoding, so the empty one may be among them), the rest to train, none to both.
  EXPECT_GE(val.size(), 8u);
  EXPECT_LE(val.size(), 9u);
  EXPECT_EQ(train.size() + val.size(), 43u);
  for (const std::string& d : val) EXPECT_EQ(train.count(d), 0u) << d;
  std::multiset<std::string> all = train;
  all.insert(val.begin(), val.end());
  for (int i = 0; i < 30; ++i) EXPECT_EQ(all.count(doc_text("prose", i)), 1u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(all.count(doc_text("code", i)), 1u);
  EXPECT_EQ(all.count("no domain here"), 1u);

  // Per-domain splits and counts.
  const auto tr = domain_counts(m, "train"), va = domain_counts(m, "val");
  std::set<std::string> domains;
  int64_t docs = 0, tokens = 0;
  for (const auto* c : {&tr, &va}) {
    for (const auto& [d, n] : *c) {
      domains.insert(d);
      docs += n.docs;
      tokens += n.tokens;
    }
  }
  EXPECT_EQ(domains, (std::set<std::string>{"code", "default", "prose"}));
  EXPECT_EQ(docs, 43);
  EXPECT_EQ(tokens, st.tokens);
  EXPECT_EQ(tr.at("code").docs + (va.count("code") ? va.at("code").docs : 0), 12);
  for (const Shard* s : ds.split("train/code"))
    EXPECT_TRUE(s->path().find("train-code-") != std::string::npos);
}

TEST(Dataset, ValSplitIsSeededAndThreadIndependent) {
  TempDir dir;
  const std::string in = make_corpus(dir);
  TokenizeOptions opt;
  opt.val_fraction = 0.2;
  opt.seed = 1;
  const int saved = num_threads();
  set_num_threads(1);
  tokenize_corpus(in, small_tokenizer(), "t", dir.file("a"), opt);
  set_num_threads(2);
  tokenize_corpus(in, small_tokenizer(), "t", dir.file("b"), opt);
  opt.seed = 2;
  tokenize_corpus(in, small_tokenizer(), "t", dir.file("c"), opt);
  set_num_threads(saved);
  for (const auto& e : fs::directory_iterator(dir.file("a"))) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(read_bytes(e.path().string()), read_bytes(dir.file("b/" + name))) << name;
  }
  EXPECT_NE(split_docs(Dataset(dir.file("a")), "val"), split_docs(Dataset(dir.file("c")), "val"));
}

TEST(Dataset, ShardsAreBoundedAndRewriteRemovesOldShards) {
  TempDir dir;
  const std::string in = make_corpus(dir);
  TokenizeOptions opt;
  opt.val_fraction = 0.0;
  opt.shard_tokens = 40;
  const Manifest m = tokenize_corpus(in, small_tokenizer(), "t", dir.file("out"), opt);
  EXPECT_GT(m.shards.size(), 3u);
  for (const ShardInfo& s : m.shards) EXPECT_TRUE(s.tokens <= 40 || s.docs == 1) << s.file;
  EXPECT_TRUE(m.splits.at("val").empty());
  opt.shard_tokens = int64_t{1} << 24;
  const Manifest m2 = tokenize_corpus(in, small_tokenizer(), "t", dir.file("out"), opt);
  size_t bins = 0;
  for (const auto& e : fs::directory_iterator(dir.file("out")))
    bins += e.path().extension() == ".bin";
  EXPECT_EQ(bins, m2.shards.size());
  EXPECT_EQ(m2.shards.size(), 3u);  // one train shard per domain
}

TEST(Dataset, BadInputErrorsNameTheInput) {
  TempDir dir;
  const Tokenizer& tok = small_tokenizer();
  const TokenizeOptions opt;
  auto run = [&](const std::string& in) { tokenize_corpus(in, tok, "t", dir.file("out"), opt); };
  expect_error([&] { run(dir.file("missing.jsonl")); }, {"missing.jsonl", "no such file"});
  fs::create_directories(dir.file("emptydir"));
  expect_error([&] { run(dir.file("emptydir")); }, {"emptydir", "no .jsonl or .txt"});
  write_bytes(dir.file("empty.jsonl"), "");
  expect_error([&] { run(dir.file("empty.jsonl")); }, {"empty.jsonl", "empty"});
  write_bytes(dir.file("blank.jsonl"), "\n  \n");
  expect_error([&] { run(dir.file("blank.jsonl")); }, {"blank.jsonl", "no documents"});
  write_bytes(dir.file("bin.txt"), std::string("ab\0cd", 5));
  expect_error([&] { run(dir.file("bin.txt")); }, {"bin.txt", "byte 2", "binary"});
  write_bytes(dir.file("bad.jsonl"), "{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n");
  expect_error([&] { run(dir.file("bad.jsonl")); }, {"bad.jsonl:2", "not a JSON object"});
  write_bytes(dir.file("notext.jsonl"), "{\"text\": \"ok\"}\n\n[1, 2]\n");
  expect_error([&] { run(dir.file("notext.jsonl")); },
               {"notext.jsonl:3", "expected a JSON object"});
  write_bytes(dir.file("num.jsonl"), "{\"text\": 5}\n");
  expect_error([&] { run(dir.file("num.jsonl")); }, {"num.jsonl:1", "\"text\""});
  write_bytes(dir.file("dom.jsonl"), "{\"text\": \"a\", \"domain\": \"a/b\"}\n");
  expect_error([&] { run(dir.file("dom.jsonl")); }, {"dom.jsonl:1", "domain \"a/b\""});
  write_bytes(dir.file("x.csv"), "a,b\n");
  expect_error([&] { run(dir.file("x.csv")); }, {"x.csv", "expected a .jsonl or .txt"});
  write_bytes(dir.file("ok.jsonl"), "{\"text\": \"a\"}\n");
  expect_error(
      [&] {
        tokenize_corpus(dir.file("ok.jsonl"), tok, "t", dir.file("o"), [] {
          TokenizeOptions o;
          o.val_fraction = 0.9;
          return o;
        }());
      },
      {"--val-fraction", "[0, 0.5]"});
  write_bytes(dir.file("tok.json"), "{\"format\": \"nope\"}");
  expect_error([&] { load_tokenizer(dir.file("tok.json")); }, {"tok.json"});
}

}  // namespace
}  // namespace seekforge::data
