// Token sources: see source.h.
#include "data/source.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "data/file_io.h"
#include "data/shard.h"

namespace seekforge::data {
namespace {

using nlohmann::json;

// The random numbers of one row of one batch. Philox key = seed; counter_lo = batch counter;
// counter_hi = split tag (top 2 bits) | row (30 bits) | block (32 bits). Each block gives two
// 64-bit draws. Distinct (split, counter, row, draw) never share a Philox input.
class RowDraws {
 public:
  RowDraws(uint64_t seed, Split split, uint64_t counter, uint64_t row)
      : seed_(seed),
        counter_(counter),
        hi_((uint64_t(split == Split::train ? 1 : 2) << 62) | (row << 32)) {}

  uint64_t next_u64() {
    if (have_ == 0) {
      const auto r = philox4x32(counter_, hi_ | block_++, seed_);
      buf_[0] = (uint64_t(r[1]) << 32) | r[0];
      buf_[1] = (uint64_t(r[3]) << 32) | r[2];
      have_ = 2;
    }
    return buf_[2 - have_--];
  }
  // Uniform in [0, n) by multiply-shift: the bias is below n / 2^64, far under any measurement.
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next_u64()) * n) >> 64);
  }

 private:
  uint64_t seed_, counter_, hi_;
  uint64_t block_ = 0;
  uint64_t buf_[2] = {0, 0};
  int have_ = 0;
};

void check_shape(int64_t batch_size, int64_t seq_len, const char* kind) {
  SF_CHECK(batch_size >= 1 && batch_size < (int64_t{1} << 30))
      << kind << " source: train.batch_size = " << batch_size << ": must be in [1, 2^30)";
  SF_CHECK(seq_len >= 1 && seq_len < (int64_t{1} << 32))
      << kind << " source: train.seq_len = " << seq_len << ": must be in [1, 2^32)";
}

// The shared part of every source: the counter, the identity record and its verification.
class CounterSource : public TokenSource {
 public:
  CounterSource(std::string kind, uint64_t seed, Split split)
      : kind_(std::move(kind)), seed_(seed), split_(split) {}

  Batch next(int64_t batch_size, int64_t seq_len) final {
    check_shape(batch_size, seq_len, kind_.c_str());
    Batch batch{empty({batch_size, seq_len}, DType::i64), empty({batch_size, seq_len}, DType::i64)};
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
    auto bad = [&](const std::string& field, const std::string& why) {
      SF_FAIL() << describe() << ": set_state: \"" << field << "\": " << why;
    };
    if (!s.is_object()) bad("(state)", "not a JSON object: " + s.dump());
    auto expect = [&](const std::string& key, const json& want) {
      auto it = s.find(key);
      if (it == s.end()) bad(key, "missing");
      if (*it != want) bad(key, it->dump() + " does not match this source's " + want.dump());
    };
    expect("kind", kind_);
    expect("split", split_name(split_));
    expect("seed", seed_);
    const json id = identity();
    for (auto field = id.cbegin(); field != id.cend(); ++field) expect(field.key(), *field);
    auto it = s.find("counter");
    if (it == s.end()) bad("counter", "missing");
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
      bad("counter", it->dump() + " is not a non-negative integer");
    }
    counter_ = it->get<uint64_t>();
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
// that lies inside one shard of the split.
class DatasetSource final : public CounterSource {
 public:
  DatasetSource(const std::string& dir, int64_t vocab, uint64_t seed, Split split)
      : CounterSource("path", seed, split), dataset_(check_dir(dir)) {
    const Manifest& m = dataset_.manifest();
    SF_CHECK(m.vocab_size <= vocab) << "data.path = '" << dir << "': the manifest's vocab_size "
                                    << m.vocab_size << " exceeds model.vocab_size = " << vocab;
    shards_ = dataset_.split(split_name(split));
    SF_CHECK(!shards_.empty()) << "data.path = '" << dir << "': splits." << split_name(split)
                               << " in the manifest lists no shards";
  }
  std::string describe() const override {
    int64_t tokens = 0;
    for (const Shard* s : shards_) tokens += s->n_tokens();
    return "dataset '" + dataset_.dir() + "' (" + std::to_string(shards_.size()) + " shards, " +
           std::to_string(tokens) + " tokens), " + position();
  }

 protected:
  void prepare(int64_t T) override {
    ends_.clear();
    uint64_t total = 0;
    for (const Shard* s : shards_) {
      if (s->n_tokens() > T) total += uint64_t(s->n_tokens() - T);  // window starts in s
      ends_.push_back(total);
    }
    SF_CHECK(total > 0) << "data.path = '" << dataset_.dir() << "': no shard of splits."
                        << split_name(split_) << " holds a window of train.seq_len + 1 = " << T + 1
                        << " tokens";
  }
  void fill_row(RowDraws& d, int64_t T, int64_t* seq, uint8_t* mask) override {
    const uint64_t w = d.below(ends_.back());
    const size_t k = size_t(std::upper_bound(ends_.begin(), ends_.end(), w) - ends_.begin());
    const uint64_t start = w - (k == 0 ? 0 : ends_[k - 1]);
    shards_[k]->read_tokens(int64_t(start), T + 1, seq);
    std::fill(mask, mask + T, uint8_t{1});
  }
  json identity() const override { return {{"manifest_hash", hex64(dataset_.manifest_hash())}}; }

 private:
  static const std::string& check_dir(const std::string& dir) {
    SF_CHECK(std::filesystem::is_directory(dir))
        << "data.path = '" << dir << "': no such dataset directory";
    return dir;
  }
  Dataset dataset_;
  std::vector<const Shard*> shards_;
  std::vector<uint64_t> ends_;  // prefix sums of window counts, per shard
};

}  // namespace

const char* split_name(Split s) { return s == Split::train ? "train" : "val"; }

TokenSource::~TokenSource() = default;

std::unique_ptr<TokenSource> make_source(const DataConfig& data, int64_t vocab_size, uint64_t seed,
                                         Split split) {
  SF_CHECK(vocab_size >= 1) << "model.vocab_size = " << vocab_size << ": must be >= 1";
  const int chosen =
      int(!data.path.empty()) + int(!data.synthetic.empty()) + int(!data.text_file.empty());
  SF_CHECK(chosen == 1) << "[data]: set exactly one of data.path, data.synthetic, data.text_file"
                        << " (got path = '" << data.path << "', synthetic = '" << data.synthetic
                        << "', text_file = '" << data.text_file << "')";
  if (!data.path.empty())
    return std::make_unique<DatasetSource>(data.path, vocab_size, seed, split);
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

}  // namespace seekforge::data
