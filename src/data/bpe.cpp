// Byte-level BPE encoding and decoding: see bpe.h.
#include "data/bpe.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <queue>

#include "core/error.h"
#include "core/threads.h"

namespace seekforge::data {
namespace {

constexpr uint32_t kNoRank = ~uint32_t(0);
// Pieces up to this many bytes go through the quadratic scan, which beats a heap on short input.
constexpr size_t kSmallPiece = 48;
// Pieces longer than this are rare and seldom repeat: not worth a cache entry.
constexpr size_t kMaxCachedPiece = 256;
constexpr size_t kMaxCacheEntries = 1 << 17;

std::atomic<uint64_t> g_instances{0};
std::atomic<uint64_t> g_cache_epoch{0};  // bumped by clear_piece_caches()

struct StrHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// The calling thread's cache of piece -> ids for one tokenizer instance.
struct PieceCache {
  uint64_t owner = ~uint64_t(0);
  uint64_t epoch = 0;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, StrHash, std::equal_to<>> map;
  std::vector<uint32_t> ids;  // the cached ids, back to back; map values are (offset, count)
  std::vector<std::string_view> pieces;  // scratch for the pre-tokeniser's output
  std::vector<uint32_t> parts;           // scratch for the merge loop
  void reset(uint64_t who) {
    owner = who;
    epoch = g_cache_epoch.load(std::memory_order_relaxed);
    map.clear();
    ids.clear();
  }
};

PieceCache& piece_cache() {
  thread_local PieceCache c;
  return c;
}

}  // namespace

void clear_piece_caches() { g_cache_epoch.fetch_add(1, std::memory_order_relaxed); }

const char* merge_mode_name(MergeMode m) { return m == MergeMode::merges ? "merges" : "ranks"; }

std::string escape_bytes(std::string_view bytes, size_t max_len) {
  std::string s;
  static const char* hex = "0123456789abcdef";
  for (size_t i = 0; i < bytes.size() && i < max_len; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      s.push_back(char(c));
    } else {
      s += "\\x";
      s.push_back(hex[c >> 4]);
      s.push_back(hex[c & 15]);
    }
  }
  if (bytes.size() > max_len) s += "...";
  return s;
}

std::vector<SpecialToken> default_special_tokens(uint32_t first_id) {
  const std::pair<const char*, const char*> specs[] = {
      {"<|bos|>", "bos"},       {"<|eos|>", "eos"},     {"<|pad|>", "pad"},
      {"<|system|>", "system"}, {"<|user|>", "user"},   {"<|assistant|>", "assistant"},
      {"<think>", "think"},     {"</think>", "/think"}, {"<answer>", "answer"},
      {"</answer>", "/answer"}};
  std::vector<SpecialToken> out;
  for (const auto& [content, role] : specs) out.push_back({first_id++, content, role});
  return out;
}

void Tokenizer::PairTable::build(const std::vector<std::pair<uint64_t, PairInfo>>& entries) {
  size_t cap = 16;
  while (cap < entries.size() * 2) cap *= 2;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  for (const auto& [key, info] : entries) {
    size_t i = hash(key) & mask_;
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
    if (slots_[i].key == key) continue;  // a repeated merge: the first (lowest rank) wins
    slots_[i].key = key;
    slots_[i].info = info;
  }
}

Tokenizer::Tokenizer(std::vector<std::string> tokens, std::vector<MergePair> merges, MergeMode mode,
                     Pretokenizer pretokenizer, std::vector<SpecialToken> specials,
                     const std::string& label)
    : tokens_(std::move(tokens)),
      merges_(std::move(merges)),
      mode_(mode),
      pre_(std::move(pretokenizer)),
      specials_(std::move(specials)),
      instance_(++g_instances) {
  SF_CHECK(tokens_.size() < (size_t(1) << 31))
      << label << ": too many tokens (" << tokens_.size() << ")";
  token_ids_.build(tokens_);
  for (uint32_t id = 0; id < tokens_.size(); ++id) {
    const std::string& t = tokens_[id];
    if (t.empty()) continue;
    const int64_t first = token_id(t);
    SF_CHECK(first == int64_t(id)) << label << ": ids " << first << " and " << id
                                   << " are the same token '" << escape_bytes(t) << "'";
  }
  for (int b = 0; b < 256; ++b) {
    const int64_t id = token_id(std::string(1, char(b)));
    SF_CHECK(id >= 0) << label << ": byte 0x" << escape_bytes(std::string(1, char(b)))
                      << " has no token; byte-level BPE needs all 256 bytes as tokens so that "
                      << "every input can be encoded";
    byte_id_[b] = uint32_t(id);
  }
  vocab_size_ = int64_t(tokens_.size());
  for (size_t i = 0; i < specials_.size(); ++i) {
    const SpecialToken& s = specials_[i];
    SF_CHECK(!s.content.empty()) << label << ": special token " << s.id << " has empty content";
    SF_CHECK(s.id >= tokens_.size() || tokens_[s.id].empty())
        << label << ": special token '" << s.content << "' has id " << s.id
        << ", which is already the BPE token '" << escape_bytes(tokens_[s.id]) << "'";
    SF_CHECK(s.id < (uint32_t(1) << 31)) << label << ": special token id " << s.id << " too large";
    auto [it, fresh] = special_index_.emplace(s.id, uint32_t(i));
    SF_CHECK(fresh) << label << ": two special tokens have id " << s.id;
    for (size_t j = 0; j < i; ++j)
      SF_CHECK(specials_[j].content != s.content)
          << label << ": special token '" << s.content << "' is listed twice";
    vocab_size_ = std::max<int64_t>(vocab_size_, int64_t(s.id) + 1);
  }

  std::vector<std::pair<uint64_t, PairInfo>> entries;
  if (mode_ == MergeMode::merges) {
    entries.reserve(merges_.size());
    for (size_t r = 0; r < merges_.size(); ++r) {
      const auto [a, b] = merges_[r];
      SF_CHECK(a < tokens_.size() && !tokens_[a].empty() && b < tokens_.size() &&
               !tokens_[b].empty())
          << label << ": merge " << r << " (" << a << ", " << b << ") names an id that is not a "
          << "token";
      const int64_t c = token_id(tokens_[a] + tokens_[b]);
      SF_CHECK(c >= 0) << label << ": merge " << r << " ('" << escape_bytes(tokens_[a]) << "', '"
                       << escape_bytes(tokens_[b]) << "') makes a token that is not in the "
                       << "vocabulary";
      entries.push_back({uint64_t(a) << 32 | b, PairInfo{uint32_t(r), uint32_t(c)}});
    }
  } else {
    SF_CHECK(merges_.empty()) << label << ": a rank-ordered tokenizer has no merge list";
    // Every split of every token into two tokens is a pair that may merge, ranked by the token.
    for (uint32_t id = 0; id < tokens_.size(); ++id) {
      const std::string_view t = tokens_[id];
      for (size_t k = 1; k < t.size(); ++k) {
        const int64_t a = token_id(t.substr(0, k)), b = token_id(t.substr(k));
        if (a >= 0 && b >= 0) entries.push_back({uint64_t(a) << 32 | uint64_t(b), {id, id}});
      }
    }
  }
  pairs_.build(entries);
}

int64_t Tokenizer::special_id(std::string_view role_or_content) const {
  for (const SpecialToken& s : specials_)
    if (s.role == role_or_content || s.content == role_or_content) return s.id;
  return -1;
}

uint64_t Tokenizer::TokenIndex::hash(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  uint64_t w = 0;
  std::memcpy(&w, s.data() + i, s.size() - i);
  h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  return h ^ (h >> 29);
}

void Tokenizer::TokenIndex::build(const std::vector<std::string>& tokens) {
  size_t cap = 16;
  while (cap < tokens.size() * 2) cap *= 2;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  for (uint32_t id = 0; id < tokens.size(); ++id) {
    if (tokens[id].empty() || find(tokens[id], tokens) >= 0) continue;  // the first id wins
    const uint64_t h = hash(tokens[id]);
    size_t i = h & mask_;
    while (slots_[i].id != ~0u) i = (i + 1) & mask_;
    slots_[i] = {uint32_t(h >> 32), id};
  }
}

int64_t Tokenizer::TokenIndex::find(std::string_view bytes,
                                    const std::vector<std::string>& tokens) const {
  const uint64_t h = hash(bytes);
  const uint32_t tag = uint32_t(h >> 32);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.id == ~0u) return -1;
    if (s.tag == tag && tokens[s.id] == bytes) return s.id;
  }
}

int64_t Tokenizer::token_id(std::string_view bytes) const {
  return token_ids_.find(bytes, tokens_);
}

void Tokenizer::merge_small(std::vector<uint32_t>& parts) const {
  size_t n = parts.size();
  uint32_t rank[kSmallPiece], merged[kSmallPiece];
  for (size_t i = 0; i + 1 < n; ++i) {
    const PairInfo* p = pair(parts[i], parts[i + 1]);
    rank[i] = p ? p->rank : kNoRank;
    merged[i] = p ? p->id : 0;
  }
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i)
      if (rank[i] < rank[best]) best = i;
    if (rank[best] == kNoRank) break;
    parts[best] = merged[best];
    // Close the gap left by parts[best + 1] and by the pair it started.
    std::memmove(&parts[best + 1], &parts[best + 2], (n - best - 2) * sizeof(uint32_t));
    std::memmove(&rank[best], &rank[best + 1], (n - best - 2) * sizeof(uint32_t));
    std::memmove(&merged[best], &merged[best + 1], (n - best - 2) * sizeof(uint32_t));
    --n;
    for (size_t i = best == 0 ? 0 : best - 1; i <= best && i + 1 < n; ++i) {
      const PairInfo* p = pair(parts[i], parts[i + 1]);
      rank[i] = p ? p->rank : kNoRank;
      merged[i] = p ? p->id : 0;
    }
  }
  parts.resize(n);
}

void Tokenizer::merge_large(std::vector<uint32_t>& parts) const {
  // A doubly linked list of symbols and a heap of candidate pairs, invalidated lazily: an entry
  // is stale when its left symbol was merged away, its right neighbour changed, or either id
  // changed since it was pushed.
  const int32_t n = int32_t(parts.size());
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Entry {
    uint32_t rank;
    int32_t left, right;
    uint32_t left_id, right_id;
    bool operator>(const Entry& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;  // leftmost of equal ranks first
    }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  auto push = [&](int32_t l) {
    if (l < 0 || next[l] < 0) return;
    const int32_t r = next[l];
    if (const PairInfo* p = pair(parts[l], parts[r]))
      heap.push({p->rank, l, r, parts[l], parts[r]});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  std::vector<bool> dead(n, false);
  while (!heap.empty()) {
    const Entry e = heap.top();
    heap.pop();
    if (dead[e.left] || next[e.left] != e.right || parts[e.left] != e.left_id ||
        parts[e.right] != e.right_id)
      continue;
    parts[e.left] = pair(e.left_id, e.right_id)->id;
    dead[e.right] = true;
    next[e.left] = next[e.right];
    if (next[e.left] >= 0) prev[next[e.left]] = e.left;
    push(prev[e.left]);
    push(e.left);
  }
  size_t w = 0;
  for (int32_t i = 0; i >= 0; i = next[i]) parts[w++] = parts[i];
  parts.resize(w);
}

void Tokenizer::encode_piece(std::string_view piece, std::vector<uint32_t>& out) const {
  std::vector<uint32_t> parts(piece.size());
  for (size_t i = 0; i < piece.size(); ++i)
    parts[i] = byte_id_[static_cast<unsigned char>(piece[i])];
  if (parts.size() <= kSmallPiece)
    merge_small(parts);
  else
    merge_large(parts);
  out.insert(out.end(), parts.begin(), parts.end());
}

void Tokenizer::encode_append(std::string_view text, std::vector<uint32_t>& out) const {
  PieceCache& cache = piece_cache();
  if (cache.owner != instance_ || cache.epoch != g_cache_epoch.load(std::memory_order_relaxed))
    cache.reset(instance_);
  std::vector<std::string_view>& pieces = cache.pieces;
  pieces.clear();
  pre_.split(text, pieces);
  for (std::string_view piece : pieces) {
    if (piece.size() == 1) {
      out.push_back(byte_id_[static_cast<unsigned char>(piece[0])]);
      continue;
    }
    if (mode_ == MergeMode::ranks) {
      // A piece that is a token is that token (tiktoken's rule, and the common case).
      if (const int64_t id = token_ids_.find(piece, tokens_); id >= 0) {
        out.push_back(uint32_t(id));
        continue;
      }
    }
    if (piece.size() > kMaxCachedPiece) {
      encode_piece(piece, out);
      continue;
    }
    if (auto it = cache.map.find(piece); it != cache.map.end()) {
      const auto [off, cnt] = it->second;
      out.insert(out.end(), cache.ids.begin() + off, cache.ids.begin() + off + cnt);
      continue;
    }
    const size_t before = out.size();
    encode_piece(piece, out);
    if (cache.map.size() >= kMaxCacheEntries) cache.reset(instance_);
    cache.map.emplace(
        std::string(piece),
        std::pair<uint32_t, uint32_t>(uint32_t(cache.ids.size()), uint32_t(out.size() - before)));
    cache.ids.insert(cache.ids.end(), out.begin() + before, out.end());
  }
}

std::vector<uint32_t> Tokenizer::encode(std::string_view text, size_t chunk_bytes) const {
  std::vector<uint32_t> out;
  const int threads = num_threads();
  if (!pre_.chunkable() || threads == 1 || text.size() < 2 * chunk_bytes) {
    out.reserve(text.size() / 3);
    encode_append(text, out);
    return out;
  }
  const std::vector<size_t> starts = chunk_starts(text, std::max<size_t>(chunk_bytes, 1));
  const int64_t n = int64_t(starts.size());
  std::vector<std::vector<uint32_t>> parts(starts.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t c = 0; c < n; ++c) {
    const size_t end = c + 1 < n ? starts[c + 1] : text.size();
    parts[c].reserve((end - starts[c]) / 3);
    encode_append(text.substr(starts[c], end - starts[c]), parts[c]);
  }
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  out.reserve(total);
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<uint32_t> Tokenizer::encode_with_special(std::string_view text) const {
  std::vector<uint32_t> out;
  // The next occurrence of each special token at or after pos, searched again only once pos has
  // passed it: one scan of the text per special token, however many occurrences there are.
  std::vector<size_t> next(specials_.size(), 0);
  for (size_t k = 0; k < specials_.size(); ++k) next[k] = text.find(specials_[k].content);
  size_t pos = 0;
  while (pos < text.size()) {
    // The earliest special token; the longest of those starting at the same place.
    size_t best_at = std::string_view::npos, best_len = 0;
    uint32_t best_id = 0;
    for (size_t k = 0; k < specials_.size(); ++k) {
      const SpecialToken& s = specials_[k];
      if (next[k] != std::string_view::npos && next[k] < pos) next[k] = text.find(s.content, pos);
      const size_t at = next[k];
      if (at == std::string_view::npos) continue;
      if (at < best_at || (at == best_at && s.content.size() > best_len)) {
        best_at = at;
        best_len = s.content.size();
        best_id = s.id;
      }
    }
    const size_t end = best_at == std::string_view::npos ? text.size() : best_at;
    const std::vector<uint32_t> ids = encode(text.substr(pos, end - pos));
    out.insert(out.end(), ids.begin(), ids.end());
    if (best_at == std::string_view::npos) break;
    out.push_back(best_id);
    pos = best_at + best_len;
  }
  return out;
}

std::string Tokenizer::decode(std::span<const uint32_t> ids) const {
  std::string out;
  out.reserve(ids.size() * 4);
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint32_t id = ids[i];
    if (id < tokens_.size() && !tokens_[id].empty()) {
      out += tokens_[id];
      continue;
    }
    auto it = special_index_.find(id);
    SF_CHECK(it != special_index_.end())
        << "decode: id " << id << " at position " << i << " is not in the vocabulary (size "
        << vocab_size_ << ")";
    out += specials_[it->second].content;
  }
  return out;
}

}  // namespace seekforge::data
