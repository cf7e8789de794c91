// An n-gram language model with interpolated modified Kneser-Ney smoothing (Chen & Goodman,
// 1998, section 3): three discounts D1, D2, D3+ per order, estimated from that order's counts
// of counts; lower orders use continuation counts (how many distinct words precede a gram).
// Used by the perplexity filter: text unlike the reference set (shuffled, spam, another
// language) gets a high perplexity.
//
// Units are words (words.h) or characters (code points; newlines read as spaces). Every text is
// padded with order-1 begin markers and ends with an end marker, which is predicted and counted.
// Unknown units map to one <unk> id; the order-0 distribution is uniform over the vocabulary, so
// nothing has probability 0.
//
// Grams are stored under 64-bit hashes of their id sequence (text_hash.h): a collision would
// merge two grams' counts, which at 2^-64 per pair is below any effect on a filter threshold.
//
// What this is not: a neural model or a general LM toolkit (no pruning, no ARPA files).
//
// Thread safety: train() is single-threaded; const methods may be called from many threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seekforge::data {

enum class NgramUnit { word, character };

class NgramModel {
 public:
  static constexpr uint32_t kUnk = 0, kBegin = 1, kEnd = 2;

  // order in [1, 6].
  NgramModel(int order, NgramUnit unit);

  // Counts every text and estimates the discounts; may be called once.
  void train(const std::vector<std::string_view>& texts);

  int order() const { return order_; }
  NgramUnit unit() const { return unit_; }
  int64_t vocab_size() const { return static_cast<int64_t>(vocab_.size()); }
  // The id of a unit, kUnk when it was not in the training texts.
  uint32_t id(std::string_view unit) const;
  // The discounts D1, D2, D3+ of an order (1-based).
  std::array<double, 3> discounts(int order) const { return discount_[order]; }

  // P(w | context), context = the preceding ids, oldest first (only the last order-1 are used;
  // a shorter context is padded with kBegin).
  double prob(const std::vector<uint32_t>& context, uint32_t w) const;

  // The units of a text as ids, with the end marker (no begin markers).
  std::vector<uint32_t> encode(std::string_view text) const;
  // Sum of natural-log probabilities of the text's units and the end marker; n_predicted gets
  // their number.
  double log_prob(std::string_view text, int64_t* n_predicted = nullptr) const;
  // exp(-log_prob / n_predicted).
  double perplexity(std::string_view text) const;

 private:
  struct Gram {
    int64_t count = 0;  // occurrences
    int64_t cont = 0;   // distinct one-longer grams that end with this one
    uint64_t prefix = 0;
  };
  struct Context {
    double total = 0;  // sum of the (continuation) counts of the grams that extend it
    int64_t n1 = 0, n2 = 0, n3 = 0;
  };
  template <class Fn>
  void for_each_unit(std::string_view text, Fn&& fn) const;
  double prob_ids(const uint32_t* history, uint32_t w) const;  // history: order-1 ids
  uint32_t intern(std::string_view unit);

  int order_;
  NgramUnit unit_;
  bool trained_ = false;
  std::unordered_map<uint64_t, uint32_t> vocab_;  // by hash_text of the unit: no allocation
  std::vector<std::unordered_map<uint64_t, Gram>> grams_;        // [order]: grams of that length
  std::vector<std::unordered_map<uint64_t, Context>> contexts_;  // [order]: keyed by prefix
  std::vector<std::array<double, 3>> discount_;                  // [order]
};

}  // namespace seekforge::data
