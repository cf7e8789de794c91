// Domain scores: how close a text is to a reference set of the target domain.
//   TfidfDomain: cosine similarity between the text's TF-IDF vector and the reference centroid
//     (the mean of the references' L2-normalised TF-IDF vectors). Higher is closer, in [0, 1].
//   KlDomain: KL(P_text || Q_domain) over unigram distributions, Q smoothed additively with
//     alpha over the reference vocabulary plus one bucket for unseen words. Lower is closer.
// Words are words.h words with ASCII letters lower-cased (topic, not spelling, is the signal).
//
// What this is not: a classifier; no training beyond counting the references.
//
// Thread safety: build in one thread; const methods may be called from many threads.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seekforge::data {

// Counts of a text's lower-cased words by hash.
std::unordered_map<uint64_t, double> word_counts(std::string_view text);

class TfidfDomain {
 public:
  // idf(w) = ln((1 + N) / (1 + df(w))) + 1 over the N references; words unseen there get the
  // largest idf, so off-domain vocabulary pulls the cosine down.
  explicit TfidfDomain(const std::vector<std::string_view>& references);
  double similarity(std::string_view text) const;

 private:
  double idf(uint64_t w) const;
  std::unordered_map<uint64_t, double> idf_;
  std::unordered_map<uint64_t, double> centroid_;  // unit length
  double unseen_idf_ = 1;
};

class KlDomain {
 public:
  KlDomain(const std::vector<std::string_view>& references, double alpha);
  // KL divergence in nats; 0 for a text without words (it carries no evidence either way).
  double divergence(std::string_view text) const;

 private:
  std::unordered_map<uint64_t, double> q_;  // smoothed probabilities of reference words
  double q_unseen_ = 0;
};

}  // namespace seekforge::data
