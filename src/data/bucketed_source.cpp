// The bucketed loader: see bucketed_source.h.
#include "data/bucketed_source.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "data/file_io.h"
#include "data/shard.h"
#include "data/source_common.h"

namespace seekforge::data {
namespace {

using nlohmann::json;

class BucketedSource final : public TokenSource {
 public:
  BucketedSource(const std::string& dir, int64_t buckets, int64_t vocab, uint64_t seed, Split split)
      : dataset_(check_dir(dir)), n_buckets_(buckets), seed_(seed), split_(split) {
    SF_CHECK(buckets >= 1) << "data.buckets = " << buckets << ": must be >= 1";
    const Manifest& m = dataset_.manifest();
    SF_CHECK(m.vocab_size <= vocab) << "data.path = '" << dir << "': the manifest's vocab_size "
                                    << m.vocab_size << " exceeds model.vocab_size = " << vocab;
    if (auto t = m.stats.find("tokenize"); t != m.stats.end() && t->is_object()) {
      if (auto p = t->find("pad_id"); p != t->end() && p->is_number_integer())
        pad_ = p->get<int64_t>();
    }
    for (const Shard* s : dataset_.split(split_name(split))) {
      auto off = s->doc_offsets();
      for (int64_t d = 0; d < s->n_docs(); ++d) {
        const int64_t len = int64_t(off[size_t(d) + 1] - off[size_t(d)]);
        if (len >= 2) docs_.push_back({s, int64_t(off[size_t(d)]), len});  // one target at least
      }
    }
    SF_CHECK(!docs_.empty()) << "data.path = '" << dir << "': splits." << split_name(split)
                             << " holds no document of 2 tokens or more";
  }

  Batch next(int64_t batch_size, int64_t seq_len) override {
    check_shape(batch_size, seq_len, "bucketed");
    if (seq_len != bucketed_for_) build_buckets(seq_len);
    RowDraws batch_draws(seed_, split_, counter_, RowDraws::kBatchRow);
    const std::vector<size_t>& bucket = buckets_[batch_draws.below(buckets_.size())];
    std::vector<const Doc*> chosen(static_cast<size_t>(batch_size));
    int64_t width = 1;
    for (int64_t b = 0; b < batch_size; ++b) {
      RowDraws draws(seed_, split_, counter_, uint64_t(b));
      chosen[size_t(b)] = &docs_[bucket[draws.below(bucket.size())]];
      width = std::max(width, std::min(chosen[size_t(b)]->len, seq_len + 1) - 1);
    }
    Batch batch;
    batch.input_ids = empty({batch_size, width}, DType::i64);
    batch.labels = empty({batch_size, width}, DType::i64);
    batch.attention_mask = empty({batch_size, width}, DType::u8);
    int64_t* in = batch.input_ids.data<int64_t>();
    int64_t* lab = batch.labels.data<int64_t>();
    uint8_t* mask = batch.attention_mask.data<uint8_t>();
    std::vector<int64_t> seq(size_t(width) + 1);
    for (int64_t b = 0; b < batch_size; ++b) {
      const Doc& d = *chosen[size_t(b)];
      const int64_t n = std::min(d.len, width + 1);  // tokens used: n - 1 positions are real
      d.shard->read_tokens(d.start, n, seq.data());
      for (int64_t t = 0; t < width; ++t) {
        const bool real = t < n - 1;
        in[b * width + t] = real ? seq[size_t(t)] : pad_;
        lab[b * width + t] = real ? seq[size_t(t) + 1] : kIgnoreLabel;
        mask[b * width + t] = real ? 1 : 0;
      }
    }
    ++counter_;
    return batch;
  }

  json state() const override {
    json s = identity();
    s["counter"] = counter_;
    return s;
  }
  void set_state(const json& s) override { counter_ = verify_state(s, identity(), describe()); }
  std::string describe() const override {
    return "bucketed dataset '" + dataset_.dir() + "' (" + std::to_string(docs_.size()) +
           " documents, " + std::to_string(n_buckets_) + " length buckets), " + split_name(split_) +
           " split, seed " + std::to_string(seed_) + ", batch " + std::to_string(counter_);
  }

 private:
  struct Doc {
    const Shard* shard;
    int64_t start, len;
  };
  static const std::string& check_dir(const std::string& dir) {
    SF_CHECK(std::filesystem::is_directory(dir))
        << "data.path = '" << dir << "': no such dataset directory";
    return dir;
  }
  json identity() const {
    return {{"kind", "bucketed"},
            {"split", split_name(split_)},
            {"seed", seed_},
            {"buckets", n_buckets_},
            {"manifest_hash", hex64(dataset_.manifest_hash())}};
  }
  // Quantile buckets of the lengths cut to T + 1 (ties broken by document order: stable).
  void build_buckets(int64_t T) {
    std::vector<size_t> order(docs_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::min(docs_[a].len, T + 1) < std::min(docs_[b].len, T + 1);
    });
    const size_t k = std::min<size_t>(size_t(n_buckets_), order.size());
    buckets_.assign(k, {});
    for (size_t i = 0; i < order.size(); ++i) buckets_[i * k / order.size()].push_back(order[i]);
    bucketed_for_ = T;
  }

  Dataset dataset_;
  int64_t n_buckets_;
  uint64_t seed_;
  Split split_;
  uint64_t counter_ = 0;
  int64_t pad_ = 0;
  std::vector<Doc> docs_;
  std::vector<std::vector<size_t>> buckets_;
  int64_t bucketed_for_ = -1;
};

}  // namespace

std::unique_ptr<TokenSource> make_bucketed_source(const std::string& dir, int64_t buckets,
                                                  int64_t vocab_size, uint64_t seed, Split split) {
  return std::make_unique<BucketedSource>(dir, buckets, vocab_size, seed, split);
}

}  // namespace seekforge::data
