// Tokenizing a corpus into shards and a manifest: see dataset_writer.h.
#include "data/dataset_writer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/threads.h"
#include "data/corpus_reader.h"
#include "data/tokenizer_io.h"

namespace seekforge::data {
namespace fs = std::filesystem;

namespace {

// Documents this large are encoded with Tokenizer::encode (its own chunked parallelism) rather
// than one per thread, so one big file does not serialise a block.
constexpr size_t kBigDocument = size_t{1} << 20;
// A block of documents encoded together: bounded so memory stays bounded on any corpus.
constexpr size_t kBlockBytes = size_t{16} << 20;
constexpr size_t kBlockDocs = 8192;

// Which documents go to val: the n_val smallest Philox keys of (seed, index). Exact count, any
// document equally likely, and the choice depends on nothing but the seed and the count.
std::vector<uint8_t> choose_val(int64_t n, double fraction, uint64_t seed) {
  std::vector<uint8_t> is_val(size_t(n), 0);
  int64_t n_val = std::llround(double(n) * fraction);
  if (fraction > 0 && n_val == 0 && n >= 2) n_val = 1;  // a val split exists whenever asked
  if (n_val >= n) n_val = n - 1;                        // and train keeps a document
  if (n_val <= 0) return is_val;
  std::vector<std::pair<uint64_t, int64_t>> keys(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto r = philox4x32(uint64_t(i), 0x76616c73706c6974ull /* "valsplit" */, seed);
    keys[size_t(i)] = {(uint64_t(r[1]) << 32) | r[0], i};
  }
  std::nth_element(keys.begin(), keys.begin() + n_val, keys.end());
  for (int64_t k = 0; k < n_val; ++k) is_val[size_t(keys[size_t(k)].second)] = 1;
  return is_val;
}

// Accumulates the documents of one (split, domain) and writes a shard when the next document
// would pass the bound.
class ShardSink {
 public:
  ShardSink(std::string dir, std::string prefix, int64_t bound, TokenDType dtype)
      : dir_(std::move(dir)), prefix_(std::move(prefix)), bound_(bound), dtype_(dtype) {}

  void add(const std::vector<uint32_t>& doc, Manifest& m, std::vector<std::string>& files) {
    if (offsets_.size() > 1 && int64_t(tokens_.size() + doc.size()) > bound_) flush(m, files);
    tokens_.insert(tokens_.end(), doc.begin(), doc.end());
    offsets_.push_back(tokens_.size());
  }
  void flush(Manifest& m, std::vector<std::string>& files) {
    if (offsets_.size() <= 1) return;
    char name[32];
    std::snprintf(name, sizeof name, "-%04d.bin", next_++);
    const std::string file = prefix_ + name;
    write_shard(dir_ + "/" + file, tokens_, offsets_, dtype_);
    m.shards.push_back({file, int64_t(tokens_.size()), int64_t(offsets_.size() - 1)});
    files.push_back(file);
    tokens_.clear();
    offsets_.assign(1, 0);
  }

 private:
  std::string dir_, prefix_;
  int64_t bound_;
  TokenDType dtype_;
  std::vector<uint32_t> tokens_;
  std::vector<uint64_t> offsets_ = {0};
  int next_ = 0;
};

int64_t eos_id_of(const Tokenizer& tok, const std::string& label) {
  int64_t id = tok.special_id("eos");
  if (id < 0) id = tok.special_id("<|endoftext|>");
  SF_CHECK(id >= 0) << "tokenizer '" << label
                    << "' has no eos special token (role \"eos\" or <|endoftext|>): documents "
                       "need one appended so packed sequences see their boundaries";
  return id;
}

}  // namespace

Manifest tokenize_corpus(const std::string& input, const Tokenizer& tok,
                         const std::string& tokenizer_label, const std::string& out_dir,
                         const TokenizeOptions& opt, TokenizeStats* stats) {
  SF_CHECK(opt.val_fraction >= 0 && opt.val_fraction <= 0.5)
      << "--val-fraction " << opt.val_fraction << ": must be in [0, 0.5]";
  SF_CHECK(opt.shard_tokens >= 1) << "--shard-tokens " << opt.shard_tokens << ": must be >= 1";
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t eos = eos_id_of(tok, tokenizer_label);
  int64_t pad = tok.special_id("pad");
  if (pad < 0) pad = eos;

  const CorpusReader reader(input);
  const int64_t n_docs = reader.count_documents();
  SF_CHECK(n_docs > 0) << "corpus input '" << input << "': no documents (only blank lines)";
  const std::vector<uint8_t> is_val = choose_val(n_docs, opt.val_fraction, opt.seed);

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  SF_CHECK(fs::is_directory(out_dir))
      << "--out '" << out_dir << "': cannot create: " << ec.message();
  // A manifest is the mark of a finished dataset: remove it first, so a crash from here on
  // leaves a directory that no reader takes for whole; then the shards of the earlier run.
  fs::remove(out_dir + "/manifest.json", ec);
  for (const auto& e : fs::directory_iterator(out_dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && (e.path().extension() == ".bin" || name.ends_with(".bin.tmp")))
      fs::remove(e.path(), ec);
  }

  Manifest m;
  m.vocab_size = tok.vocab_size();
  m.tokenizer_hash = "fnv1a64:" + hex64(tokenizer_hash(tok));
  const TokenDType dtype = token_dtype_for_vocab(m.vocab_size);
  std::map<std::string, std::unique_ptr<ShardSink>> sinks;  // "<split>/<domain>"
  TokenizeStats st;

  std::vector<CorpusDocument> block;
  std::vector<int64_t> block_index;
  std::vector<std::vector<uint32_t>> encoded;
  size_t block_bytes = 0;
  auto run_block = [&] {
    encoded.assign(block.size(), {});
    const int64_t nb = int64_t(block.size());
    const int threads = num_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t i = 0; i < nb; ++i) {
      if (block[size_t(i)].text.size() < kBigDocument)
        tok.encode_append(block[size_t(i)].text, encoded[size_t(i)]);
    }
    for (int64_t i = 0; i < nb; ++i) {
      CorpusDocument& d = block[size_t(i)];
      std::vector<uint32_t>& ids = encoded[size_t(i)];
      if (d.text.size() >= kBigDocument) ids = tok.encode(d.text);
      ids.push_back(uint32_t(eos));
      const bool val = is_val[size_t(block_index[size_t(i)])];
      const std::string split = val ? "val" : "train";
      const std::string key = split + "/" + d.domain;
      auto& sink = sinks[key];
      if (!sink)
        sink =
            std::make_unique<ShardSink>(out_dir, split + "-" + d.domain, opt.shard_tokens, dtype);
      sink->add(ids, m, m.splits[key]);
      ++st.documents;
      st.bytes += int64_t(d.text.size());
      st.tokens += int64_t(ids.size());
      std::vector<uint32_t>().swap(ids);
    }
    if (opt.progress) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "tokenize: %lld / %lld documents, %.1f MB, %.2f MB/s\n",
                   static_cast<long long>(st.documents + st.empty_documents),
                   static_cast<long long>(n_docs), double(st.bytes) / 1e6,
                   s > 0 ? double(st.bytes) / s / 1e6 : 0.0);
    }
    block.clear();
    block_index.clear();
    block_bytes = 0;
  };
  int64_t seen = 0;
  reader.for_each([&](int64_t index, CorpusDocument&& doc) {
    ++seen;
    if (doc.text.empty()) {
      ++st.empty_documents;
      return;
    }
    block_bytes += doc.text.size();
    block.push_back(std::move(doc));
    block_index.push_back(index);
    if (block_bytes >= kBlockBytes || block.size() >= kBlockDocs) run_block();
  });
  if (!block.empty()) run_block();
  SF_CHECK(seen == n_docs) << "corpus input '" << input << "': " << seen << " documents read but "
                           << n_docs << " counted (changed meanwhile?)";
  SF_CHECK(st.documents > 0) << "corpus input '" << input << "': every document is empty";
  for (auto& [key, sink] : sinks) sink->flush(m, m.splits[key]);

  // "train" and "val" list every shard of the split; both always exist so training and
  // evaluation find them (val may be empty when --val-fraction is 0).
  std::vector<std::string>& train = m.splits["train"];
  std::vector<std::string>& val = m.splits["val"];
  nlohmann::json domains = nlohmann::json::object();
  std::map<std::string, int64_t> shard_docs, shard_tokens;
  for (const ShardInfo& s : m.shards) {
    shard_docs[s.file] = s.docs;
    shard_tokens[s.file] = s.tokens;
  }
  for (const auto& [key, files] : m.splits) {
    const size_t slash = key.find('/');
    if (slash == std::string::npos) continue;
    const std::string split = key.substr(0, slash), domain = key.substr(slash + 1);
    (split == "val" ? val : train)
        .insert((split == "val" ? val : train).end(), files.begin(), files.end());
    int64_t docs = 0, tokens = 0;
    for (const std::string& f : files) docs += shard_docs[f], tokens += shard_tokens[f];
    domains[domain][split] = {{"docs", docs}, {"tokens", tokens}};
  }
  st.shards = int64_t(m.shards.size());
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.stats["domains"] = domains;
  m.stats["tokenize"] = {{"input", input},
                         {"tokenizer", tokenizer_label},
                         {"documents", st.documents},
                         {"empty_documents_skipped", st.empty_documents},
                         {"bytes", st.bytes},
                         {"tokens", st.tokens},
                         {"eos_id", eos},
                         {"pad_id", pad},
                         {"val_fraction", opt.val_fraction},
                         {"seed", opt.seed},
                         {"shard_tokens", opt.shard_tokens}};
  // The dataset carries its tokenizer: whoever trains on it can turn text into its ids and
  // back (prompts, samples, pictures) without knowing where the tokenizer file came from.
  save_tokenizer(tok, out_dir + "/" + kDatasetTokenizerFile);
  write_manifest(out_dir, m);
  if (stats) *stats = st;
  return m;
}

std::map<std::string, DomainCounts> domain_counts(const Manifest& m, const std::string& split) {
  std::map<std::string, const ShardInfo*> by_file;
  for (const ShardInfo& s : m.shards) by_file[s.file] = &s;
  std::map<std::string, DomainCounts> out;
  auto add = [&](const std::string& domain, const std::vector<std::string>& files) {
    DomainCounts& c = out[domain];
    for (const std::string& f : files) {
      c.docs += by_file.at(f)->docs;
      c.tokens += by_file.at(f)->tokens;
    }
  };
  const std::string prefix = split + "/";
  for (const auto& [key, files] : m.splits)
    if (key.starts_with(prefix)) add(key.substr(prefix.size()), files);
  if (out.empty()) {
    auto it = m.splits.find(split);
    if (it != m.splits.end()) add("all", it->second);
  }
  return out;
}

}  // namespace seekforge::data
