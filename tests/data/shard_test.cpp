// Tests of the token shard format and the dataset manifest: round trips in both token widths,
// the atomic writer, one test per validation rule (the message names the file, the byte offset
// and the reason), and manifests that are malformed or disagree with their shards.
#include "data/shard.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/temp_dir.h"

namespace seekforge::data {
namespace {

using testing::read_bytes;
using testing::TempDir;
using testing::expect_error;
using testing::write_bytes;


void put_u32(std::string& b, size_t at, uint32_t v) { std::memcpy(&b[at], &v, 4); }
void put_u64(std::string& b, size_t at, uint64_t v) { std::memcpy(&b[at], &v, 8); }

// A shard of 3 documents, 7 tokens: [5 6 7] [8] [9 10 11].
std::string write_sample(const TempDir& dir, TokenDType dt = TokenDType::u16) {
  const std::string path = dir.file("a.bin");
  write_shard(path, {{5, 6, 7}, {8}, {9, 10, 11}}, dt);
  return path;
}

TEST(Shard, RoundTripU16AndU32) {
  TempDir dir;
  for (TokenDType dt : {TokenDType::u16, TokenDType::u32}) {
    const std::string path = dir.file("s.bin");
    std::vector<uint32_t> tokens = {0, 1, 65535, 3, 4};
    if (dt == TokenDType::u32) tokens[2] = 100000;
    const std::vector<uint64_t> offsets = {0, 2, 2, 5};  // an empty document in the middle
    write_shard(path, tokens, offsets, dt);
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    Shard s(path, dt == TokenDType::u16 ? 65536 : 200000);
    EXPECT_EQ(s.dtype(), dt);
    EXPECT_EQ(s.n_tokens(), 5);
    EXPECT_EQ(s.n_docs(), 3);
    for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(s.token(i), tokens[size_t(i)]);
    std::vector<int64_t> got(3);
    s.read_tokens(2, 3, got.data());
    EXPECT_EQ(got, (std::vector<int64_t>{tokens[2], 3, 4}));
    EXPECT_EQ(std::vector<uint64_t>(s.doc_offsets().begin(), s.doc_offsets().end()), offsets);
    // Header 64 + tokens padded to 8 + 4 offsets.
    const size_t tok_bytes = 5 * static_cast<size_t>(dt);
    EXPECT_EQ(s.file_size(), 64 + ((tok_bytes + 7) / 8) * 8 + 4 * 8);
    EXPECT_THROW(s.read_tokens(3, 3, got.data()), Error);
  }
}

TEST(Shard, EmptyShard) {
  TempDir dir;
  write_shard(dir.file("e.bin"), std::vector<std::vector<uint32_t>>{}, TokenDType::u16);
  Shard s(dir.file("e.bin"));
  EXPECT_EQ(s.n_tokens(), 0);
  EXPECT_EQ(s.n_docs(), 0);
  EXPECT_EQ(s.file_size(), 72u);
}

TEST(Shard, WriterRefusesBadArguments) {
  TempDir dir;
  const std::vector<uint32_t> tokens = {1, 2, 3};
  const std::string p = dir.file("w.bin");
  expect_error(
      [&] {
        write_shard(p, tokens, std::vector<uint64_t>{0, 2}, TokenDType::u16);
      },
      {"w.bin", "not n_tokens 3"});
  expect_error(
      [&] {
        write_shard(p, tokens, std::vector<uint64_t>{1, 3}, TokenDType::u16);
      },
      {"doc_offsets[0] = 1"});
  expect_error(
      [&] {
        write_shard(p, tokens, std::vector<uint64_t>{0, 2, 1, 3}, TokenDType::u16);
      },
      {"doc_offsets[2] = 1"});
  const std::vector<uint32_t> big = {70000};
  expect_error(
      [&] {
        write_shard(p, big, std::vector<uint64_t>{0, 1}, TokenDType::u16);
      },
      {"does not fit u16"});
  EXPECT_FALSE(std::filesystem::exists(p));
}

TEST(Shard, TokenDTypeForVocab) {
  EXPECT_EQ(token_dtype_for_vocab(256), TokenDType::u16);
  EXPECT_EQ(token_dtype_for_vocab(65536), TokenDType::u16);
  EXPECT_EQ(token_dtype_for_vocab(65537), TokenDType::u32);
  EXPECT_THROW(token_dtype_for_vocab(0), Error);
}

TEST(Shard, MissingFileNamesPath) {
  TempDir dir;
  expect_error([&] { Shard s(dir.file("nope.bin")); }, {"nope.bin", "cannot open"});
}

TEST(Shard, RefusesShortFile) {
  TempDir dir;
  write_bytes(dir.file("short.bin"), "SFTOKENS");
  expect_error([&] { Shard s(dir.file("short.bin")); },
               {"short.bin", "byte 0", "shorter than the 64-byte header"});
}

TEST(Shard, RefusesBadMagic) {
  TempDir dir;
  const std::string path = write_sample(dir);
  std::string b = read_bytes(path);
  b[0] = 'X';
  write_bytes(path, b);
  expect_error([&] { Shard s(path); }, {"a.bin", "byte 0", "bad magic"});
}

TEST(Shard, RefusesUnknownVersion) {
  TempDir dir;
  const std::string path = write_sample(dir);
  std::string b = read_bytes(path);
  put_u32(b, 8, 7);
  write_bytes(path, b);
  expect_error([&] { Shard s(path); }, {"a.bin", "byte 8", "unknown format version 7"});
}

TEST(Shard, RefusesUnknownDType) {
  TempDir dir;
  const std::string path = write_sample(dir);
  std::string b = read_bytes(path);
  put_u32(b, 12, 3);
  write_bytes(path, b);
  expect_error([&] { Shard s(path); }, {"a.bin", "byte 12", "unknown token dtype 3"});
}

TEST(Shard, RefusesNonZeroReserved) {
  TempDir dir;
  const std::string path = write_sample(dir);
  std::string b = read_bytes(path);
  b[40] = 1;
  write_bytes(path, b);
  expect_error([&] { Shard s(path); }, {"a.bin", "byte 40", "reserved"});
}

TEST(Shard, RefusesSizeMismatch) {
  TempDir dir;
  const std::string path = write_sample(dir);
  std::string b = read_bytes(path);
  write_bytes(path, b + std::string(8, '\0'));  // trailing bytes
  expect_error([&] { Shard s(path); }, {"a.bin", "byte 16", "do not match the file length"});
  write_bytes(path, b.substr(0, b.size() - 8));  // truncated index
  expect_error([&] { Shard s(path); }, {"a.bin", "do not match the file length"});
  std::string c = b;
  put_u64(c, 16, 8);  // n_tokens says 8, the file holds 7 (+ padding: same length!)
  write_bytes(path, c);
  // 8 u16 tokens still pad to 16 bytes: the length matches, the index's last offset does not.
  expect_error([&] { Shard s(path); }, {"a.bin", "last document offset 7 is not n_tokens 8"});
  put_u64(c, 16, 1ull << 62);  // absurd count: refused without overflow
  write_bytes(path, c);
  expect_error([&] { Shard s(path); }, {"a.bin", "impossibly large"});
  std::string d = b;
  put_u64(d, 24, 4);  // one more document than the index holds
  write_bytes(path, d);
  expect_error([&] { Shard s(path); }, {"a.bin", "do not match the file length"});
}

TEST(Shard, RefusesBadDocumentIndex) {
  TempDir dir;
  const std::string path = write_sample(dir);
  const std::string b = read_bytes(path);
  const size_t index_at = 64 + 16;  // 7 u16 tokens padded to 16 bytes
  std::string c = b;
  put_u64(c, index_at, 1);
  write_bytes(path, c);
  expect_error([&] { Shard s(path); }, {"a.bin", "byte 80", "starts at 1, not 0"});
  c = b;
  put_u64(c, index_at + 16, 2);  // offsets 0 3 2 7: not monotonic
  write_bytes(path, c);
  expect_error([&] { Shard s(path); }, {"a.bin", "byte 96", "below the previous offset"});
  c = b;
  put_u64(c, index_at + 16, 9);  // beyond n_tokens
  write_bytes(path, c);
  expect_error([&] { Shard s(path); }, {"a.bin", "byte 96", "out of range"});
}

TEST(Shard, RefusesTokenBeyondVocab) {
  TempDir dir;
  const std::string path = write_sample(dir, TokenDType::u32);
  EXPECT_NO_THROW(Shard(path, 12));
  expect_error([&] { Shard s(path, 11); },
               {"a.bin", "byte 88", "token 6 = 11 is >= vocab_size 11"});
  EXPECT_NO_THROW(Shard(path, 0));  // vocab 0: no scan
}

Manifest sample_manifest() {
  Manifest m;
  m.vocab_size = 300;
  m.tokenizer_hash = "abc123";
  m.shards = {{"a.bin", 7, 3}, {"b.bin", 4, 1}};
  m.splits = {{"train", {"a.bin"}}, {"val", {"b.bin"}}};
  m.stats = {{"documents_in", 10}, {"dropped_short", 6}};
  return m;
}

void write_sample_dataset(const TempDir& dir) {
  write_shard(dir.file("a.bin"), {{5, 6, 7}, {8}, {9, 10, 11}}, TokenDType::u16);
  write_shard(dir.file("b.bin"), {{1, 2, 3, 299}}, TokenDType::u16);
  write_manifest(dir.path(), sample_manifest());
}

TEST(Manifest, RoundTrip) {
  TempDir dir;
  write_sample_dataset(dir);
  const Manifest m = read_manifest(dir.path());
  const Manifest want = sample_manifest();
  EXPECT_EQ(m.vocab_size, want.vocab_size);
  EXPECT_EQ(m.tokenizer_hash, want.tokenizer_hash);
  ASSERT_EQ(m.shards.size(), 2u);
  EXPECT_EQ(m.shards[1].file, "b.bin");
  EXPECT_EQ(m.shards[1].tokens, 4);
  EXPECT_EQ(m.shards[1].docs, 1);
  EXPECT_EQ(m.splits, want.splits);
  EXPECT_EQ(m.stats, want.stats);
  const nlohmann::json j = nlohmann::json::parse(read_bytes(dir.file("manifest.json")));
  EXPECT_EQ(j["format"], "seekforge-tokens");
  EXPECT_EQ(j["version"], 1);

  Dataset ds(dir.path());
  EXPECT_EQ(ds.split("train").size(), 1u);
  EXPECT_EQ(ds.split("val")[0]->n_tokens(), 4);
  expect_error([&] { ds.split("test"); }, {"manifest.json", "splits.test is missing"});
}

TEST(Manifest, RefusesMalformedFields) {
  const nlohmann::json good = manifest_to_json(sample_manifest());
  auto check = [&](auto mutate, const std::vector<std::string>& fragments) {
    nlohmann::json j = good;
    mutate(j);
    expect_error([&] { manifest_from_json(j, "d/manifest.json"); }, fragments);
  };
  check([](auto& j) { j["format"] = "other"; }, {"d/manifest.json", "format"});
  check([](auto& j) { j["version"] = 2; }, {"version", "unknown version 2"});
  check([](auto& j) { j.erase("vocab_size"); }, {"vocab_size: missing"});
  check([](auto& j) { j["vocab_size"] = "big"; }, {"vocab_size: must be an integer"});
  check([](auto& j) { j["vocab_size"] = 0; }, {"vocab_size", "not in [1, 2^32]"});
  check([](auto& j) { j["tokenizer_hash"] = 5; }, {"tokenizer_hash: must be a string"});
  check([](auto& j) { j["shards"][1]["file"] = "a.bin"; }, {"shards[1].file", "listed twice"});
  check([](auto& j) { j["shards"][0]["file"] = "../x.bin"; }, {"shards[0].file", "plain file"});
  check([](auto& j) { j["shards"][0]["tokens"] = -1; }, {"shards[0].tokens", "negative"});
  check([](auto& j) { j["shards"][0].erase("docs"); }, {"shards[0].docs: missing"});
  check([](auto& j) { j["splits"]["val"] = {"c.bin"}; }, {"splits.val[0]", "not listed"});
  check([](auto& j) { j["splits"]["train"] = "a.bin"; }, {"splits.train", "must be an array"});
  check([](auto& j) { j["stats"] = 3; }, {"stats: must be an object"});
}

TEST(Manifest, CorruptedManifestOrShardRefusedNamingFile) {
  TempDir dir;
  write_sample_dataset(dir);
  const std::string manifest = read_bytes(dir.file("manifest.json"));
  write_bytes(dir.file("manifest.json"), manifest.substr(0, manifest.size() / 2));
  expect_error([&] { Dataset ds(dir.path()); }, {"manifest.json", "not valid JSON"});
  write_bytes(dir.file("manifest.json"), manifest);

  // A shard whose counts disagree with the manifest.
  write_shard(dir.file("b.bin"), {{1, 2, 3}}, TokenDType::u16);
  expect_error([&] { Dataset ds(dir.path()); }, {"b.bin", "the manifest says 4 and 1"});
  // A shard with a token beyond the manifest's vocabulary.
  write_shard(dir.file("b.bin"), {{1, 2, 3, 300}}, TokenDType::u16);
  expect_error([&] { Dataset ds(dir.path()); }, {"b.bin", ">= vocab_size 300"});
  // A shard that is missing.
  std::filesystem::remove(dir.file("b.bin"));
  expect_error([&] { Dataset ds(dir.path()); }, {"b.bin", "cannot open"});
  // A corrupted shard body.
  write_sample_dataset(dir);
  std::string b = read_bytes(dir.file("a.bin"));
  b[3] = '!';
  write_bytes(dir.file("a.bin"), b);
  expect_error([&] { Dataset ds(dir.path()); }, {"a.bin", "bad magic"});
  expect_error([&] { Dataset ds(dir.file("missing_dir")); }, {"missing_dir", "does not exist"});
}

}  // namespace
}  // namespace seekforge::data
