// Token sources: see source.h.
#include "data/source.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "data/bucketed_source.h"
#include "data/file_io.h"
#include "data/prefetch.h"
#include "data/sft_source.h"
#include "data/shard.h"
#include "data/source_common.h"

namespace seekforge::data {

using nlohmann::json;

void check_shape(int64_t batch_size, int64_t seq_len, const char* kind) {
  SF_CHECK(batch_size >= 1 && batch_size < int64_t(RowDraws::kBatchRow))
      << kind << " source: train.batch_size = " << batch_size << ": must be in [1, 2^30 - 1)";
  SF_CHECK(seq_len >= 1 && seq_len < (int64_t{1} << 32))
      << kind << " source: train.seq_len = " << seq_len << ": must be in [1, 2^32)";
}

uint64_t verify_state(const json& s, const json& expected, const std::string& who) {
  auto bad = [&](const std::string& field, const std::string& why) {
    SF_FAIL() << who << ": set_state: \"" << field << "\": " << why;
  };
  if (!s.is_object()) bad("(state)", "not a JSON object: " + s.dump());
  auto expect = [&](const std::string& key, const json& want) {
    auto it = s.find(key);
    if (it == s.end()) bad(key, "missing");
    if (*it != want) bad(key, it->dump() + " does not match this source's " + want.dump());
  };
  // What kind of source first (the most telling mismatch), then the data identity.
  for (const char* key : {"kind", "split", "seed"})
    if (expected.contains(key)) expect(key, expected[key]);
  for (auto field = expected.cbegin(); field != expected.cend(); ++field)
    expect(field.key(), *field);
  auto it = s.find("counter");
  if (it == s.end()) bad("counter", "missing");
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
    bad("counter", it->dump() + " is not a non-negative integer");
  }
  return it->get<uint64_t>();
}

namespace {

// The shared part of every source: the counter, the identity record and its verification.
class CounterSource : public TokenSource {
 public:
  CounterSource(std::string kind, uint64_t seed, Split split)
      : kind_(std::move(kind)), seed_(seed), split_(split) {}

  Batch next(int64_t batch_size, int64_t seq_len) final {
    check_shape(batch_size, seq_len, kind_.c_str());
    Batch batch;
    batch.input_ids = empty({batch_size, seq_len}, DType::i64);
    batch.labels = empty({batch_size, seq_len}, DType::i64);
    int64_t* in = batch.input_ids.data<int64_t>();
    int64_t* lab = batch.labels.data<int64_t>();
    prepare(seq_len);
    std::vector<int64_t> seq(static_cast<size_t>(seq_len) + 1);
    std::vector<uint8_t> mask(static_cast<size_t>(seq_len));
    for (int64_t b = 0; b < batch_size; ++b) {
      RowDraws draws(seed_, split_, counter_, static_cast<uint64_t>(b));
      fill_row(draws, seq_len, seq.data(), mask.data());
      for (int64_t t = 0; t < seq_len; ++t) {
        in[b * seq_len + t] = seq[t];
        lab[b * seq_len + t] = mask[t] ? seq[t + 1] : kIgnoreLabel;
      }
    }
    ++counter_;
    return batch;
  }

  json state() const final {
    json s = identity();
    s["kind"] = kind_;
    s["split"] = split_name(split_);
    s["seed"] = seed_;
    s["counter"] = counter_;
    return s;
  }

  void set_state(const json& s) final {
    json expected = identity();
    expected["kind"] = kind_;
    expected["split"] = split_name(split_);
    expected["seed"] = seed_;
    counter_ = verify_state(s, expected, describe());
  }

 protected:
  // Called once per batch before the rows (e.g. to check the split is long enough).
  virtual void prepare(int64_t /*seq_len*/) {}
  // Fills seq[0..T] (input = seq[0..T-1], targets = seq[1..T]) and mask[t] = 1 where the target
  // of position t counts.
  virtual void fill_row(RowDraws& draws, int64_t seq_len, int64_t* seq, uint8_t* mask) = 0;
  // Data identity fields recorded in state() and verified by set_state().
  virtual json identity() const = 0;
  std::string position() const {
    return std::string(split_name(split_)) + " split, seed " + std::to_string(seed_) + ", batch " +
           std::to_string(counter_);
  }

  std::string kind_;
  uint64_t seed_;
  Split split_;
  uint64_t counter_ = 0;
};

// (a) Uniform random tokens; every next token is a target (and unpredictable: loss ln V).
class RandomSource final : public CounterSource {
 public:
  RandomSource(int64_t vocab, uint64_t seed, Split split)
      : CounterSource("random", seed, split), vocab_(vocab) {}
  std::string describe() const override {
    return "random tokens (vocab " + std::to_string(vocab_) + "), " + position();
  }

 protected:
  void fill_row(RowDraws& d, int64_t T, int64_t* seq, uint8_t* mask) override {
    for (int64_t t = 0; t <= T; ++t) seq[t] = static_cast<int64_t>(d.below(uint64_t(vocab_)));
    std::fill(mask, mask + T, uint8_t{1});
  }
  json identity() const override { return {{"vocab_size", vocab_}}; }

 private:
  int64_t vocab_;
};

// (b, c) Copy / reverse: m random content tokens, the separator, the same m tokens (reversed
// for "reverse"), pad to length. Targets are the second copy only, which is fully predictable,
// so a small model can reach ~0 loss.
class CopySource final : public CounterSource {
 public:
  CopySource(bool reverse, int64_t vocab, uint64_t seed, Split split)
      : CounterSource(reverse ? "reverse" : "copy", seed, split), reverse_(reverse), vocab_(vocab) {
    SF_CHECK(vocab >= kCopyFirstContent + 1)
        << "data.synthetic = \"" << kind_ << "\": model.vocab_size = " << vocab
        << " must be >= 3 (separator 0, pad 1, content from 2)";
  }
  std::string describe() const override {
    return kind_ + " task (vocab " + std::to_string(vocab_) + ", separator 0, pad 1), " +
           position();
  }

 protected:
  void prepare(int64_t T) override {
    SF_CHECK(T >= 2) << "data.synthetic = \"" << kind_ << "\": train.seq_len = " << T
                     << " must be >= 2 (one token, separator, copy)";
  }
  void fill_row(RowDraws& d, int64_t T, int64_t* seq, uint8_t* mask) override {
    // The sequence seq[0..T] holds 2m+1 tokens with m = T/2; when T is odd one pad remains.
    const int64_t m = T / 2;
    const uint64_t n_content = uint64_t(vocab_ - kCopyFirstContent);
    for (int64_t i = 0; i < m; ++i) seq[i] = kCopyFirstContent + int64_t(d.below(n_content));
    seq[m] = kCopySeparator;
    for (int64_t i = 0; i < m; ++i) seq[m + 1 + i] = reverse_ ? seq[m - 1 - i] : seq[i];
    for (int64_t t = 2 * m + 1; t <= T; ++t) seq[t] = kCopyPad;
    // Position t predicts seq[t+1]: counted for t in [m, 2m-1] (the separator predicts the first
    // copied token; the last copied token's successor is padding).
    for (int64_t t = 0; t < T; ++t) mask[t] = (t >= m && t <= 2 * m - 1) ? 1 : 0;
  }
  json identity() const override { return {{"vocab_size", vocab_}}; }

 private:
  bool reverse_;
  int64_t vocab_;
};

// (d) A text file's bytes as token ids; the last val_fraction of the bytes is the val split.
class TextFileSource final : public CounterSource {
 public:
  TextFileSource(const std::string& path, double val_fraction, int64_t vocab, uint64_t seed,
                 Split split)
      : CounterSource("text_file", seed, split), path_(path) {
    SF_CHECK(vocab >= 256) << "data.text_file = '" << path << "' tokenizes bytes: model.vocab_size"
                           << " = " << vocab << " must be >= 256";
    SF_CHECK(val_fraction >= 0.0 && val_fraction < 1.0)
        << "data.val_fraction = " << val_fraction << ": must be in [0, 1)";
    SF_CHECK(std::filesystem::exists(path)) << "data.text_file = '" << path << "': no such file";
    file_ = MappedFile(path);
    hash_ = fnv1a64(file_.data(), file_.size());
    const uint64_t n = file_.size();
    const uint64_t n_val = static_cast<uint64_t>(static_cast<double>(n) * val_fraction);
    begin_ = split == Split::train ? 0 : n - n_val;
    end_ = split == Split::train ? n - n_val : n;
    val_fraction_ = val_fraction;
  }
  std::string describe() const override {
    return "text file '" + path_ + "' (" + std::to_string(file_.size()) + " bytes as tokens; " +
           std::string(split_name(split_)) + " bytes [" + std::to_string(begin_) + ", " +
           std::to_string(end_) + ")), " + position();
  }

 protected:
  void prepare(int64_t T) override {
    if (end_ - begin_ >= uint64_t(T) + 1) return;
    if (split_ == Split::val) {
      SF_FAIL() << "data.text_file = '" << path_
                << "': the val split (data.val_fraction = " << val_fraction_ << ") is "
                << end_ - begin_ << " bytes, shorter than a window of"
                << " train.seq_len + 1 = " << T + 1;
    }
    SF_FAIL() << "data.text_file = '" << path_ << "': the train split is " << end_ - begin_
              << " bytes, shorter than a window of train.seq_len + 1 = " << T + 1;
  }
  void fill_row(RowDraws& d, int64_t T, int64_t* seq, uint8_t* mask) override {
    const uint64_t start = begin_ + d.below(end_ - begin_ - uint64_t(T));
    const auto* bytes = reinterpret_cast<const uint8_t*>(file_.data()) + start;
    for (int64_t t = 0; t <= T; ++t) seq[t] = bytes[t];
    std::fill(mask, mask + T, uint8_t{1});
  }
  json identity() const override {
    return {{"file_size", file_.size()}, {"file_hash", hex64(hash_)}};
  }

 private:
  std::string path_;
  MappedFile file_;
  uint64_t hash_ = 0;
  uint64_t begin_ = 0, end_ = 0;
  double val_fraction_ = 0.0;
};

// (e) A tokenized dataset directory: windows of T+1 tokens drawn uniformly over every window
// that lies inside one shard of the split. With domain weights, each row first draws its domain
// (weight / total), then a window among that domain's shards ("<split>/<domain>" in the
// manifest); in the val split, domains without val documents are left out and the rest keep
// their relative weights.
class DatasetSource final : public CounterSource {
 public:
  DatasetSource(const std::string& dir, const std::map<std::string, double>& weights, int64_t vocab,
                uint64_t seed, Split split)
      : CounterSource("path", seed, split), dataset_(check_dir(dir)), weights_(weights) {
    const Manifest& m = dataset_.manifest();
    SF_CHECK(m.vocab_size <= vocab) << "data.path = '" << dir << "': the manifest's vocab_size "
                                    << m.vocab_size << " exceeds model.vocab_size = " << vocab;
    const std::string name = split_name(split);
    if (weights.empty()) {
      pools_.push_back({"", 1.0, dataset_.split(name), {}});
      SF_CHECK(!pools_[0].shards.empty())
          << "data.path = '" << dir << "': splits." << name << " in the manifest lists no shards";
      return;
    }
    std::string known;
    for (const auto& [key, files] : m.splits)
      if (key.rfind(name + "/", 0) == 0)
        known += (known.empty() ? "" : ", ") + key.substr(name.size() + 1);
    for (const auto& [domain, w] : weights) {
      const std::string key = name + "/" + domain;
      const bool present = m.splits.count(key) > 0;
      if (split == Split::train) {
        SF_CHECK(present) << "data.domain_weights." << domain << ": data.path = '" << dir
                          << "' has no domain \"" << domain << "\" in its train split (domains: "
                          << (known.empty() ? "none recorded" : known) << ")";
      }
      if (!present || w <= 0) continue;
      pools_.push_back({domain, w, dataset_.split(key), {}});
    }
    SF_CHECK(!pools_.empty()) << "data.domain_weights: no weighted domain has documents in the "
                              << name << " split of data.path = '" << dir << "'";
  }
  std::string describe() const override {
    int64_t tokens = 0, shards = 0;
    for (const Pool& p : pools_) {
      shards += int64_t(p.shards.size());
      for (const Shard* s : p.shards) tokens += s->n_tokens();
    }
    std::string mix;
    for (const Pool& p : pools_)
      if (!p.domain.empty())
        mix += (mix.empty() ? ", domains " : " ") + p.domain + "=" + str(p.weight);
    return "dataset '" + dataset_.dir() + "' (" + std::to_string(shards) + " shards, " +
           std::to_string(tokens) + " tokens" + mix + "), " + position();
  }

 protected:
  void prepare(int64_t T) override {
    double total_weight = 0;
    for (Pool& p : pools_) {
      p.ends.clear();
      uint64_t total = 0;
      for (const Shard* s : p.shards) {
        if (s->n_tokens() > T) total += uint64_t(s->n_tokens() - T);  // window starts in s
        p.ends.push_back(total);
      }
      SF_CHECK(total > 0) << "data.path = '" << dataset_.dir() << "': no shard of splits."
                          << split_name(split_) << (p.domain.empty() ? "" : "/" + p.domain)
                          << " holds a window of train.seq_len + 1 = " << T + 1 << " tokens";
      total_weight += p.weight;
    }
    total_weight_ = total_weight;
  }
  void fill_row(RowDraws& d, int64_t T, int64_t* seq, uint8_t* mask) override {
    const Pool* p = &pools_[0];
    if (pools_.size() > 1) {
      // The domain by weight: the first pool whose cumulative weight passes the draw.
      const double u = d.uniform() * total_weight_;
      double acc = 0;
      for (const Pool& q : pools_) {
        p = &q;
        acc += q.weight;
        if (u < acc) break;
      }
    }
    const uint64_t w = d.below(p->ends.back());
    const size_t k = size_t(std::upper_bound(p->ends.begin(), p->ends.end(), w) - p->ends.begin());
    const uint64_t start = w - (k == 0 ? 0 : p->ends[k - 1]);
    p->shards[k]->read_tokens(int64_t(start), T + 1, seq);
    std::fill(mask, mask + T, uint8_t{1});
  }
  json identity() const override {
    json id = {{"manifest_hash", hex64(dataset_.manifest_hash())}};
    if (!weights_.empty()) id["domain_weights"] = weights_;  // absent: states of older runs match
    return id;
  }

 private:
  struct Pool {
    std::string domain;  // "" without mixing
    double weight;
    std::vector<const Shard*> shards;
    std::vector<uint64_t> ends;  // prefix sums of window counts, per shard
  };
  static const std::string& check_dir(const std::string& dir) {
    SF_CHECK(std::filesystem::is_directory(dir))
        << "data.path = '" << dir << "': no such dataset directory";
    return dir;
  }
  static std::string str(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
  }
  Dataset dataset_;
  std::map<std::string, double> weights_;
  std::vector<Pool> pools_;
  double total_weight_ = 1;
};

std::unique_ptr<TokenSource> make_plain_source(const DataConfig& data, int64_t vocab_size,
                                               uint64_t seed, Split split) {
  if (!data.text_file.empty()) {
    return std::make_unique<TextFileSource>(data.text_file, data.val_fraction, vocab_size, seed,
                                            split);
  }
  if (data.synthetic == "random") return std::make_unique<RandomSource>(vocab_size, seed, split);
  if (data.synthetic == "copy" || data.synthetic == "reverse") {
    return std::make_unique<CopySource>(data.synthetic == "reverse", vocab_size, seed, split);
  }
  SF_FAIL() << "data.synthetic = \"" << data.synthetic
            << "\": unknown (allowed: \"random\", \"copy\", \"reverse\")";
  return nullptr;
}

}  // namespace

const char* split_name(Split s) { return s == Split::train ? "train" : "val"; }

TokenSource::~TokenSource() = default;

std::unique_ptr<TokenSource> make_source(const DataConfig& data, int64_t vocab_size, uint64_t seed,
                                         Split split) {
  SF_CHECK(vocab_size >= 1) << "model.vocab_size = " << vocab_size << ": must be >= 1";
  const int chosen = int(!data.path.empty()) + int(!data.synthetic.empty()) +
                     int(!data.text_file.empty()) + int(!data.sft.empty());
  SF_CHECK(chosen == 1) << "[data]: set exactly one of data.path, data.synthetic, data.text_file, "
                        << "data.sft (got path = '" << data.path << "', synthetic = '"
                        << data.synthetic << "', text_file = '" << data.text_file << "', sft = '"
                        << data.sft << "')";
  SF_CHECK(data.loader == "packed" || data.loader == "bucketed")
      << "data.loader = \"" << data.loader << "\": unknown (allowed: \"packed\", \"bucketed\")";
  SF_CHECK(data.loader == "packed" || !data.path.empty())
      << "data.loader = \"bucketed\" needs data.path (a dataset's documents)";
  std::unique_ptr<TokenSource> source;
  if (!data.path.empty() && data.loader == "bucketed") {
    SF_CHECK(data.domain_weights.empty())
        << "data.domain_weights: not supported with data.loader = \"bucketed\"";
    source = make_bucketed_source(data.path, data.buckets, vocab_size, seed, split);
  } else if (!data.path.empty()) {
    source =
        std::make_unique<DatasetSource>(data.path, data.domain_weights, vocab_size, seed, split);
  } else if (!data.sft.empty()) {
    SF_CHECK(data.domain_weights.empty())
        << "data.domain_weights: needs data.path (domains are a dataset's)";
    source = make_sft_source(data.sft, data.tokenizer, data.val_fraction, vocab_size, seed, split);
  } else {
    SF_CHECK(data.domain_weights.empty())
        << "data.domain_weights: needs data.path (domains are a dataset's)";
    source = make_plain_source(data, vocab_size, seed, split);
  }
  return data.prefetch ? make_prefetching(std::move(source)) : std::move(source);
}

}  // namespace seekforge::data
