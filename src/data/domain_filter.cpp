// TF-IDF cosine and KL-divergence domain scores: see domain_filter.h.
#include "data/domain_filter.h"

#include <cctype>
#include <cmath>
#include <string>

#include "core/error.h"
#include "data/text_hash.h"
#include "data/words.h"

namespace seekforge::data {

std::unordered_map<uint64_t, double> word_counts(std::string_view text) {
  std::unordered_map<uint64_t, double> c;
  std::string lower;
  for_each_word(text, [&](std::string_view w) {
    lower.assign(w);
    for (char& ch : lower)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    c[hash_text(lower)] += 1;
  });
  return c;
}

TfidfDomain::TfidfDomain(const std::vector<std::string_view>& references) {
  SF_CHECK(!references.empty()) << "domain filter: the reference set is empty";
  std::vector<std::unordered_map<uint64_t, double>> counts;
  counts.reserve(references.size());
  for (const auto r : references) {
    counts.push_back(word_counts(r));
    for (const auto& [w, c] : counts.back()) idf_[w] += 1;  // document frequency for now
  }
  const auto n = static_cast<double>(references.size());
  for (auto& [w, df] : idf_) df = std::log((1 + n) / (1 + df)) + 1;
  unseen_idf_ = std::log(1 + n) + 1;
  for (const auto& c : counts) {
    double norm = 0;
    for (const auto& [w, tf] : c) norm += (tf * idf_[w]) * (tf * idf_[w]);
    if (norm <= 0) continue;
    norm = std::sqrt(norm);
    for (const auto& [w, tf] : c) centroid_[w] += tf * idf_[w] / norm;
  }
  double norm = 0;
  for (const auto& [w, v] : centroid_) norm += v * v;
  SF_CHECK(norm > 0) << "domain filter: the reference set has no words";
  norm = std::sqrt(norm);
  for (auto& [w, v] : centroid_) v /= norm;
}

double TfidfDomain::idf(uint64_t w) const {
  auto it = idf_.find(w);
  return it == idf_.end() ? unseen_idf_ : it->second;
}

double TfidfDomain::similarity(std::string_view text) const {
  const auto c = word_counts(text);
  double dot = 0, norm = 0;
  for (const auto& [w, tf] : c) {
    const double v = tf * idf(w);
    norm += v * v;
    auto it = centroid_.find(w);
    if (it != centroid_.end()) dot += v * it->second;
  }
  return norm > 0 ? dot / std::sqrt(norm) : 0.0;
}

KlDomain::KlDomain(const std::vector<std::string_view>& references, double alpha) {
  SF_CHECK(!references.empty()) << "domain filter: the reference set is empty";
  SF_CHECK(alpha > 0) << "domain filter: alpha = " << alpha << ": must be > 0";
  double total = 0;
  for (const auto r : references)
    for (const auto& [w, c] : word_counts(r)) {
      q_[w] += c;
      total += c;
    }
  SF_CHECK(total > 0) << "domain filter: the reference set has no words";
  const double denom = total + alpha * static_cast<double>(q_.size() + 1);
  for (auto& [w, c] : q_) c = (c + alpha) / denom;
  q_unseen_ = alpha / denom;
}

double KlDomain::divergence(std::string_view text) const {
  const auto c = word_counts(text);
  double total = 0;
  for (const auto& [w, n] : c) total += n;
  if (total <= 0) return 0;
  double kl = 0;
  for (const auto& [w, n] : c) {
    const double p = n / total;
    auto it = q_.find(w);
    const double q = it == q_.end() ? q_unseen_ : it->second;
    kl += p * std::log(p / q);
  }
  return kl;
}

}  // namespace seekforge::data
