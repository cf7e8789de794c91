// Token shards and the dataset manifest: see shard.h and docs/data-format.md.
#include "data/shard.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"

namespace seekforge::data {
namespace {

using nlohmann::json;

uint32_t load_u32(const std::byte* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(std::to_integer<uint8_t>(p[i])) << (8 * i);
  return v;
}
uint64_t load_u64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(std::to_integer<uint8_t>(p[i])) << (8 * i);
  return v;
}
void store_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void store_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t round_up8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

[[noreturn]] void shard_fail(const std::string& path, uint64_t offset, const std::string& why) {
  SF_FAIL() << "shard '" << path << "': byte " << offset << ": " << why;
  __builtin_unreachable();
}

std::string join_path(const std::string& dir, const std::string& file) {
  if (dir.empty()) return file;
  return dir.back() == '/' ? dir + file : dir + "/" + file;
}

}  // namespace

static_assert(std::endian::native == std::endian::little,
              "shards are little-endian and read through typed pointers");

TokenDType token_dtype_for_vocab(int64_t vocab_size) {
  SF_CHECK(vocab_size > 0 && vocab_size <= (int64_t{1} << 32))
      << "vocab_size " << vocab_size << ": must be in [1, 2^32]";
  return vocab_size <= 65536 ? TokenDType::u16 : TokenDType::u32;
}

void write_shard(const std::string& path, std::span<const uint32_t> tokens,
                 std::span<const uint64_t> doc_offsets, TokenDType dtype) {
  auto bad = [&](const std::string& why) { SF_FAIL() << "write_shard '" << path << "': " << why; };
  if (dtype != TokenDType::u16 && dtype != TokenDType::u32) bad("unknown token dtype");
  const uint64_t n = tokens.size();
  if (doc_offsets.empty()) bad("doc_offsets is empty; it needs n_docs + 1 entries (first 0)");
  if (doc_offsets.front() != 0) bad("doc_offsets[0] = " + std::to_string(doc_offsets.front()));
  if (doc_offsets.back() != n) {
    bad("doc_offsets ends at " + std::to_string(doc_offsets.back()) + ", not n_tokens " +
        std::to_string(n));
  }
  for (size_t d = 1; d < doc_offsets.size(); ++d) {
    if (doc_offsets[d] < doc_offsets[d - 1]) {
      bad("doc_offsets[" + std::to_string(d) + "] = " + std::to_string(doc_offsets[d]) +
          " < doc_offsets[" + std::to_string(d - 1) + "]");
    }
  }
  const uint32_t width = static_cast<uint32_t>(dtype);
  std::string out;
  out.reserve(kShardHeaderBytes + round_up8(n * width) + doc_offsets.size() * 8);
  out.append(kShardMagic, 8);
  store_u32(out, kShardVersion);
  store_u32(out, width);
  store_u64(out, n);
  store_u64(out, doc_offsets.size() - 1);
  out.resize(kShardHeaderBytes, '\0');
  if (dtype == TokenDType::u16) {
    for (uint64_t i = 0; i < n; ++i) {
      if (tokens[i] > 0xFFFF) {
        bad("token " + std::to_string(i) + " = " + std::to_string(tokens[i]) +
            " does not fit u16; use TokenDType::u32");
      }
      out.push_back(static_cast<char>(tokens[i]));
      out.push_back(static_cast<char>(tokens[i] >> 8));
    }
  } else {
    for (uint64_t i = 0; i < n; ++i) store_u32(out, tokens[i]);
  }
  out.resize(kShardHeaderBytes + round_up8(n * width), '\0');
  for (uint64_t o : doc_offsets) store_u64(out, o);
  write_file_atomic(path, out);
}

void write_shard(const std::string& path, const std::vector<std::vector<uint32_t>>& docs,
                 TokenDType dtype) {
  std::vector<uint32_t> tokens;
  std::vector<uint64_t> offsets{0};
  for (const auto& d : docs) {
    tokens.insert(tokens.end(), d.begin(), d.end());
    offsets.push_back(tokens.size());
  }
  write_shard(path, tokens, offsets, dtype);
}

Shard::Shard(const std::string& path, int64_t vocab_size) : file_(path) {
  const std::byte* p = file_.data();
  const uint64_t size = file_.size();
  if (size < kShardHeaderBytes) {
    shard_fail(path, 0,
               "file is " + std::to_string(size) + " bytes, shorter than the 64-byte header");
  }
  if (std::memcmp(p, kShardMagic, 8) != 0) {
    shard_fail(path, 0, "bad magic (expected \"SFTOKENS\"): not a seekforge token shard");
  }
  const uint32_t version = load_u32(p + 8);
  if (version != kShardVersion) {
    shard_fail(path, 8,
               "unknown format version " + std::to_string(version) + " (this reader knows " +
                   std::to_string(kShardVersion) + ")");
  }
  const uint32_t width = load_u32(p + 12);
  if (width != 2 && width != 4) {
    shard_fail(path, 12,
               "unknown token dtype " + std::to_string(width) + " (2 = u16 or 4 = u32 expected)");
  }
  dtype_ = static_cast<TokenDType>(width);
  const uint64_t n_tokens = load_u64(p + 16);
  const uint64_t n_docs = load_u64(p + 24);
  for (uint64_t b = 32; b < kShardHeaderBytes; ++b) {
    if (p[b] != std::byte{0}) shard_fail(path, b, "reserved header byte is not zero");
  }
  // Sizes, with overflow guarded: the counts must describe this file's length exactly.
  const uint64_t limit = uint64_t{1} << 60;
  if (n_tokens > limit / 4 || n_docs > limit / 8) {
    shard_fail(path, 16,
               "counts n_tokens " + std::to_string(n_tokens) + ", n_docs " +
                   std::to_string(n_docs) + " are impossibly large");
  }
  const uint64_t index_at = kShardHeaderBytes + round_up8(n_tokens * width);
  const uint64_t expected = index_at + (n_docs + 1) * 8;
  if (expected != size) {
    shard_fail(path, 16,
               "sizes do not match the file length: n_tokens " + std::to_string(n_tokens) + " of " +
                   std::to_string(width) + " bytes and n_docs " + std::to_string(n_docs) +
                   " need " + std::to_string(expected) + " bytes, the file has " +
                   std::to_string(size));
  }
  n_tokens_ = static_cast<int64_t>(n_tokens);
  n_docs_ = static_cast<int64_t>(n_docs);
  tokens_ = p + kShardHeaderBytes;
  offsets_ = reinterpret_cast<const uint64_t*>(p + index_at);  // 8-aligned: page + multiple of 8
  if (offsets_[0] != 0) {
    shard_fail(path, index_at,
               "document index starts at " + std::to_string(offsets_[0]) + ", not 0");
  }
  for (uint64_t d = 1; d <= n_docs; ++d) {
    if (offsets_[d] < offsets_[d - 1] || offsets_[d] > n_tokens) {
      shard_fail(path, index_at + 8 * d,
                 "document offset " + std::to_string(d) + " = " + std::to_string(offsets_[d]) +
                     (offsets_[d] > n_tokens
                          ? " is out of range (n_tokens " + std::to_string(n_tokens) + ")"
                          : " is below the previous offset " + std::to_string(offsets_[d - 1])));
    }
  }
  if (offsets_[n_docs] != n_tokens) {
    shard_fail(path, index_at + 8 * n_docs,
               "last document offset " + std::to_string(offsets_[n_docs]) + " is not n_tokens " +
                   std::to_string(n_tokens));
  }
  if (vocab_size > 0) {
    const uint64_t v = static_cast<uint64_t>(vocab_size);
    for (uint64_t i = 0; i < n_tokens; ++i) {
      const uint32_t t = token(static_cast<int64_t>(i));
      if (t >= v) {
        shard_fail(path, kShardHeaderBytes + i * width,
                   "token " + std::to_string(i) + " = " + std::to_string(t) + " is >= vocab_size " +
                       std::to_string(vocab_size));
      }
    }
  }
}

uint32_t Shard::token(int64_t i) const {
  if (dtype_ == TokenDType::u16) return reinterpret_cast<const uint16_t*>(tokens_)[i];
  return reinterpret_cast<const uint32_t*>(tokens_)[i];
}

void Shard::read_tokens(int64_t start, int64_t n, int64_t* out) const {
  SF_CHECK(start >= 0 && n >= 0 && start <= n_tokens_ - n)
      << "shard '" << path() << "': read of tokens [" << start << ", " << start + n
      << ") outside [0, " << n_tokens_ << ")";
  if (dtype_ == TokenDType::u16) {
    const uint16_t* t = reinterpret_cast<const uint16_t*>(tokens_) + start;
    for (int64_t i = 0; i < n; ++i) out[i] = t[i];
  } else {
    const uint32_t* t = reinterpret_cast<const uint32_t*>(tokens_) + start;
    for (int64_t i = 0; i < n; ++i) out[i] = t[i];
  }
}

// ---- manifest ----

json manifest_to_json(const Manifest& m) {
  json shards = json::array();
  for (const ShardInfo& s : m.shards) {
    shards.push_back({{"file", s.file}, {"tokens", s.tokens}, {"docs", s.docs}});
  }
  json splits = json::object();
  for (const auto& [name, files] : m.splits) splits[name] = files;
  return json{{"format", kManifestFormat},
              {"version", kManifestVersion},
              {"vocab_size", m.vocab_size},
              {"tokenizer_hash", m.tokenizer_hash},
              {"shards", shards},
              {"splits", splits},
              {"stats", m.stats}};
}

Manifest manifest_from_json(const json& j, const std::string& label) {
  auto bad = [&](const std::string& field, const std::string& why) {
    SF_FAIL() << "manifest '" << label << "': " << field << ": " << why;
  };
  if (!j.is_object()) bad("(top level)", "not a JSON object");
  auto need = [&](const json& obj, const char* key, const std::string& field) -> const json& {
    auto it = obj.find(key);
    if (it == obj.end()) bad(field, "missing");
    return *it;
  };
  auto need_int = [&](const json& obj, const char* key, const std::string& field) -> int64_t {
    const json& v = need(obj, key, field);
    if (!v.is_number_integer()) bad(field, "must be an integer, got " + v.dump());
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) bad(field, "too large");
    return v.get<int64_t>();
  };
  auto need_str = [&](const json& obj, const char* key, const std::string& field) -> std::string {
    const json& v = need(obj, key, field);
    if (!v.is_string()) bad(field, "must be a string, got " + v.dump());
    return v.get<std::string>();
  };
  if (need_str(j, "format", "format") != kManifestFormat) {
    bad("format", j["format"].dump() + " is not \"" + std::string(kManifestFormat) + "\"");
  }
  const int64_t version = need_int(j, "version", "version");
  if (version != kManifestVersion) {
    bad("version", "unknown version " + std::to_string(version) + " (this reader knows " +
                       std::to_string(kManifestVersion) + ")");
  }
  Manifest m;
  m.vocab_size = need_int(j, "vocab_size", "vocab_size");
  if (m.vocab_size <= 0 || m.vocab_size > (int64_t{1} << 32)) {
    bad("vocab_size", std::to_string(m.vocab_size) + " is not in [1, 2^32]");
  }
  m.tokenizer_hash = need_str(j, "tokenizer_hash", "tokenizer_hash");
  const json& shards = need(j, "shards", "shards");
  if (!shards.is_array()) bad("shards", "must be an array");
  std::set<std::string> files;
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string f = "shards[" + std::to_string(i) + "]";
    const json& s = shards[i];
    if (!s.is_object()) bad(f, "must be an object");
    ShardInfo info;
    info.file = need_str(s, "file", f + ".file");
    if (info.file.empty() || info.file.find('/') != std::string::npos || info.file == "." ||
        info.file == "..") {
      bad(f + ".file", "\"" + info.file + "\" must be a plain file name inside the directory");
    }
    if (!files.insert(info.file).second) bad(f + ".file", "\"" + info.file + "\" listed twice");
    info.tokens = need_int(s, "tokens", f + ".tokens");
    info.docs = need_int(s, "docs", f + ".docs");
    if (info.tokens < 0) bad(f + ".tokens", "negative");
    if (info.docs < 0) bad(f + ".docs", "negative");
    m.shards.push_back(std::move(info));
  }
  const json& splits = need(j, "splits", "splits");
  if (!splits.is_object()) bad("splits", "must be an object of name: [shard files]");
  for (const auto& [name, list] : splits.items()) {
    const std::string f = "splits." + name;
    if (!list.is_array()) bad(f, "must be an array of shard file names");
    std::vector<std::string> names;
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string()) bad(f + "[" + std::to_string(i) + "]", "must be a string");
      const std::string name_i = list[i].get<std::string>();
      if (!files.count(name_i)) {
        bad(f + "[" + std::to_string(i) + "]", "\"" + name_i + "\" is not listed in shards");
      }
      names.push_back(name_i);
    }
    m.splits[name] = std::move(names);
  }
  if (auto it = j.find("stats"); it != j.end()) {
    if (!it->is_object()) bad("stats", "must be an object");
    m.stats = *it;
  }
  return m;
}

void write_manifest(const std::string& dir, const Manifest& m) {
  // Round-trip through the validator so that a writer never produces a file the reader refuses.
  const json j = manifest_to_json(m);
  const std::string path = join_path(dir, "manifest.json");
  manifest_from_json(j, path);
  write_file_atomic(path, j.dump(2) + "\n");
}

namespace {

std::string read_text(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  SF_CHECK(in.good()) << "cannot open " << what << " '" << path << "'";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json parse_manifest_text(const std::string& text, const std::string& path) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    SF_FAIL() << "manifest '" << path << "': byte " << e.byte << ": not valid JSON: " << e.what();
  }
  return {};
}

}  // namespace

Manifest read_manifest(const std::string& dir) {
  const std::string path = join_path(dir, "manifest.json");
  return manifest_from_json(parse_manifest_text(read_text(path, "manifest"), path), path);
}

Dataset::Dataset(const std::string& dir) : dir_(dir) {
  SF_CHECK(std::filesystem::is_directory(dir))
      << "dataset directory '" << dir << "' does not exist or is not a directory";
  const std::string path = join_path(dir, "manifest.json");
  const std::string text = read_text(path, "manifest");
  manifest_hash_ = fnv1a64(text.data(), text.size());
  manifest_ = manifest_from_json(parse_manifest_text(text, path), path);
  for (const ShardInfo& info : manifest_.shards) {
    auto shard = std::make_unique<Shard>(join_path(dir, info.file), manifest_.vocab_size);
    SF_CHECK(shard->n_tokens() == info.tokens && shard->n_docs() == info.docs)
        << "manifest '" << path << "': shard '" << shard->path() << "' has " << shard->n_tokens()
        << " tokens and " << shard->n_docs() << " docs, the manifest says " << info.tokens
        << " and " << info.docs;
    shards_.emplace(info.file, std::move(shard));
  }
}

std::vector<const Shard*> Dataset::split(const std::string& name) const {
  auto it = manifest_.splits.find(name);
  SF_CHECK(it != manifest_.splits.end())
      << "manifest '" << join_path(dir_, "manifest.json") << "': splits." << name << " is missing";
  std::vector<const Shard*> out;
  for (const std::string& f : it->second) out.push_back(&shard(f));
  return out;
}

const Shard& Dataset::shard(const std::string& file) const {
  auto it = shards_.find(file);
  SF_CHECK(it != shards_.end()) << "dataset '" << dir_ << "': no shard '" << file << "'";
  return *it->second;
}

}  // namespace seekforge::data
