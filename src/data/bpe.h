// Byte-level BPE: the vocabulary (id -> bytes), the merge table, special tokens and the
// pre-tokeniser, and with them encoding and decoding.
//
// Two merge orders are supported, both "repeatedly merge the lowest-ranked adjacent pair, the
// leftmost of equals first":
//   - MergeMode::merges: an explicit merge list (Hugging Face, our training); the rank of a
//     pair is its index in the list.
//   - MergeMode::ranks: tiktoken rank files; any adjacent pair whose concatenation is a token
//     may merge, and its rank is the id of that token. A piece that is itself a token encodes
//     to that token directly (as tiktoken does).
//
// Contract: encode() never fails, on any byte string (invalid UTF-8 included), because every
// single byte is a token (the constructor checks). decode(encode(x)) == x for every x.
// encode() treats special-token strings as ordinary text; encode_with_special() turns them
// into their ids.
//
// What this is not: training (bpe_train.h) or file formats (tokenizer_io.h).
//
// Thread safety: a Tokenizer is immutable after construction; encode and decode may run on any
// number of threads at once. Each thread keeps a cache of piece -> ids for the last tokenizer it
// used.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "data/pretokenize.h"

namespace seekforge::data {

enum class MergeMode { merges, ranks };
const char* merge_mode_name(MergeMode m);

struct SpecialToken {
  uint32_t id = 0;
  std::string content;  // the text that stands for it, e.g. "<|eos|>"
  std::string role;     // what it is for ("bos", "eos", "pad", "user", ...), or ""
  bool operator==(const SpecialToken&) const = default;
};

// The special tokens a trained tokenizer gets, in id order after the merges: bos, eos, pad,
// the chat roles (system, user, assistant), and the reasoning markers.
std::vector<SpecialToken> default_special_tokens(uint32_t first_id);

// Bytes made readable for an error message: printable ASCII as is, the rest as \xNN.
std::string escape_bytes(std::string_view bytes, size_t max_len = 40);

// Empties every thread's piece cache before its next encode (for benchmarks of a cold start).
void clear_piece_caches();

// A merge list entry: the ids of the left and right token.
using MergePair = std::pair<uint32_t, uint32_t>;

class Tokenizer {
 public:
  // tokens[id] is the id's bytes; an empty string marks an id that is not a BPE token (a hole,
  // or a special token). Every single byte must be a token; tokens must be distinct. In merges
  // mode every merge's two ids must be tokens and their concatenation a token. Special ids must
  // not be BPE tokens, and their contents must be distinct and non-empty. `label` names the
  // source in error messages.
  Tokenizer(std::vector<std::string> tokens, std::vector<MergePair> merges, MergeMode mode,
            Pretokenizer pretokenizer, std::vector<SpecialToken> specials,
            const std::string& label = "tokenizer");

  int64_t vocab_size() const { return vocab_size_; }  // largest id + 1
  MergeMode mode() const { return mode_; }
  const Pretokenizer& pretokenizer() const { return pre_; }
  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::vector<MergePair>& merges() const { return merges_; }
  const std::vector<SpecialToken>& special_tokens() const { return specials_; }
  // The id of the special token with this role (or content); -1 when there is none.
  int64_t special_id(std::string_view role_or_content) const;
  // The id of a BPE token's bytes, or -1.
  int64_t token_id(std::string_view bytes) const;

  // Ids of `text`, special-token strings included as ordinary text. Large texts are split
  // into chunks of about `chunk_bytes` at points where the pieces cannot change (see
  // Pretokenizer::chunkable) and encoded on all threads; the result does not depend on the
  // thread count or the chunk size.
  std::vector<uint32_t> encode(std::string_view text, size_t chunk_bytes = 1 << 20) const;
  // Appends the ids of `text` to `out`, on the calling thread only.
  void encode_append(std::string_view text, std::vector<uint32_t>& out) const;
  // Like encode(), but each occurrence of a special token's content becomes its id.
  std::vector<uint32_t> encode_with_special(std::string_view text) const;
  // The ids of one piece (no pre-tokenisation): the merge loop alone.
  void encode_piece(std::string_view piece, std::vector<uint32_t>& out) const;

  // The bytes of `ids`; throws naming the position and the id when an id is not in the
  // vocabulary.
  std::string decode(std::span<const uint32_t> ids) const;

 private:
  struct PairInfo {
    uint32_t rank;
    uint32_t id;
  };
  // Open addressing on (left << 32 | right): the merge loop's one lookup.
  class PairTable {
   public:
    void build(const std::vector<std::pair<uint64_t, PairInfo>>& entries);
    const PairInfo* find(uint64_t key) const {
      if (mask_ == 0) return nullptr;
      for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
        const Slot& s = slots_[i];
        if (s.key == key) return &s.info;
        if (s.key == kEmpty) return nullptr;
      }
    }

   private:
    static constexpr uint64_t kEmpty = ~uint64_t(0);
    static size_t hash(uint64_t k) { return size_t((k * 0x9E3779B97F4A7C15ull) >> 20); }
    struct Slot {
      uint64_t key = kEmpty;
      PairInfo info{};
    };
    std::vector<Slot> slots_;
    size_t mask_ = 0;
  };
  // Open addressing on a hash of the bytes, verified against tokens_: the lookup every piece
  // makes in rank mode, several times faster than a node-based map.
  class TokenIndex {
   public:
    void build(const std::vector<std::string>& tokens);
    int64_t find(std::string_view bytes, const std::vector<std::string>& tokens) const;
    static uint64_t hash(std::string_view s);

   private:
    struct Slot {
      uint32_t tag = 0;  // high hash bits, to skip most mismatches without reading the token
      uint32_t id = ~0u;
    };
    std::vector<Slot> slots_;
    size_t mask_ = 0;
  };

  void merge_small(std::vector<uint32_t>& parts) const;
  void merge_large(std::vector<uint32_t>& parts) const;
  const PairInfo* pair(uint32_t a, uint32_t b) const { return pairs_.find(uint64_t(a) << 32 | b); }

  std::vector<std::string> tokens_;
  std::vector<MergePair> merges_;
  MergeMode mode_;
  Pretokenizer pre_;
  std::vector<SpecialToken> specials_;
  int64_t vocab_size_ = 0;
  uint32_t byte_id_[256] = {};
  TokenIndex token_ids_;
  std::unordered_map<uint32_t, uint32_t> special_index_;  // id -> index into specials_
  PairTable pairs_;
  uint64_t instance_ = 0;  // tells the per-thread piece caches apart
};

}  // namespace seekforge::data
