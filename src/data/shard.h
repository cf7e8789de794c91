// Token shards and the dataset manifest: the on-disk form of a tokenized corpus
// (docs/data-format.md is the full specification).
//
// A shard file (little-endian):
//   bytes  0..7   magic "SFTOKENS"
//   bytes  8..11  format version (u32, = kShardVersion)
//   bytes 12..15  token width in bytes (u32: 2 = u16 tokens, 4 = u32 tokens)
//   bytes 16..23  n_tokens (u64)
//   bytes 24..31  n_docs (u64)
//   bytes 32..63  reserved, zero
//   then n_tokens tokens, zero-padded to a multiple of 8 bytes (so the index is 8-aligned),
//   then the document index: n_docs + 1 u64 offsets into the tokens, first 0, last n_tokens,
//   non-decreasing. Document d is tokens [offset[d], offset[d+1]).
// A dataset is a directory of shards (*.bin) plus manifest.json naming them, the vocabulary
// size, the tokenizer hash, the train/val splits and free-form statistics.
//
// What this is not: the tokenizer, the cleaning pipeline or the batch sampler (source.h).
//
// Thread safety: Shard and Dataset are immutable after construction; const methods may be
// called from any thread. Writers are not synchronised: one writer per path.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "data/file_io.h"

namespace seekforge::data {

inline constexpr char kShardMagic[8] = {'S', 'F', 'T', 'O', 'K', 'E', 'N', 'S'};
inline constexpr uint32_t kShardVersion = 1;
inline constexpr size_t kShardHeaderBytes = 64;

// Token width on disk; the value is the number of bytes per token.
enum class TokenDType : uint32_t { u16 = 2, u32 = 4 };

// The narrowest width that holds every id below vocab_size.
TokenDType token_dtype_for_vocab(int64_t vocab_size);

// Writes a shard atomically (tmp + fsync + rename). `doc_offsets` has n_docs + 1 entries, first
// 0, last tokens.size(), non-decreasing; every token must fit `dtype`. Throws naming the path
// and the bad argument.
void write_shard(const std::string& path, std::span<const uint32_t> tokens,
                 std::span<const uint64_t> doc_offsets, TokenDType dtype);
// Convenience: one document per inner vector.
void write_shard(const std::string& path, const std::vector<std::vector<uint32_t>>& docs,
                 TokenDType dtype);

// An open, validated shard (mmap). Validation on open: magic, version, dtype, the file length
// against the counts, the document index (first 0, last n_tokens, monotonic), and, when
// vocab_size > 0, every token < vocab_size (a full scan). Errors name the file, the byte offset
// and the reason, e.g. "shard 'a.bin': byte 8: unknown format version 7 (this reader knows 1)".
class Shard {
 public:
  explicit Shard(const std::string& path, int64_t vocab_size = 0);

  const std::string& path() const { return file_.path(); }
  TokenDType dtype() const { return dtype_; }
  int64_t n_tokens() const { return n_tokens_; }
  int64_t n_docs() const { return n_docs_; }
  size_t file_size() const { return file_.size(); }
  uint32_t token(int64_t i) const;  // 0 <= i < n_tokens(): the caller's contract, not checked
  // Copies tokens [start, start + n) as int64 into out; throws when the range is out of bounds.
  void read_tokens(int64_t start, int64_t n, int64_t* out) const;
  // Document offsets (n_docs + 1 entries), pointing into the mapping.
  std::span<const uint64_t> doc_offsets() const { return {offsets_, size_t(n_docs_ + 1)}; }

 private:
  MappedFile file_;
  TokenDType dtype_ = TokenDType::u16;
  int64_t n_tokens_ = 0;
  int64_t n_docs_ = 0;
  const std::byte* tokens_ = nullptr;
  const uint64_t* offsets_ = nullptr;
};

// manifest.json of a dataset directory.
inline constexpr const char* kManifestFormat = "seekforge-tokens";
inline constexpr int64_t kManifestVersion = 1;

struct ShardInfo {
  std::string file;  // relative to the dataset directory, no '/'
  int64_t tokens = 0;
  int64_t docs = 0;
};

struct Manifest {
  int64_t vocab_size = 0;
  std::string tokenizer_hash;
  std::vector<ShardInfo> shards;
  std::map<std::string, std::vector<std::string>> splits;  // "train", "val", ...: shard files
  nlohmann::json stats = nlohmann::json::object();         // free-form: cleaning stages etc.
};

nlohmann::json manifest_to_json(const Manifest& m);
// Validates the structure (format, version, field types, shard names unique, splits naming
// listed shards); `label` names the file in errors, which also name the field.
Manifest manifest_from_json(const nlohmann::json& j, const std::string& label);
// Writes dir/manifest.json atomically.
void write_manifest(const std::string& dir, const Manifest& m);
// Reads and validates dir/manifest.json (does not open the shards; Dataset does).
Manifest read_manifest(const std::string& dir);

// A dataset directory opened for reading: the manifest and every shard it lists, each checked
// against the manifest's token and document counts and against manifest.vocab_size.
class Dataset {
 public:
  explicit Dataset(const std::string& dir);
  const std::string& dir() const { return dir_; }
  const Manifest& manifest() const { return manifest_; }
  uint64_t manifest_hash() const { return manifest_hash_; }  // fnv1a64 of manifest.json
  // The shards of a split, in manifest order; throws naming splits.<name> when it is absent.
  std::vector<const Shard*> split(const std::string& name) const;
  const Shard& shard(const std::string& file) const;

 private:
  std::string dir_;
  Manifest manifest_;
  uint64_t manifest_hash_ = 0;
  std::map<std::string, std::unique_ptr<Shard>> shards_;
};

}  // namespace seekforge::data
