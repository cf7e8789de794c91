// Tests of exact and near-duplicate detection: exact keys, SimHash and MinHash basics, and the
// accuracy test on real text: near duplicates made by 1-5% word insertions, deletions, swaps and
// replacements must be found with recall >= 0.95 at precision >= 0.98 for both methods, with the
// settings docs/data-cleaning.md recommends.
#include "data/dedup.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "data/real_text.h"
#include "data/temp_dir.h"
#include "data/text_hash.h"
#include "data/text_normalize.h"
#include "data/words.h"

namespace seekforge::data {
namespace {

std::vector<std::string_view> views(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

TEST(ExactDedup, FirstCopyStays) {
  const std::vector<std::string> t = {"a b", "c", "a b", "", "", "c", "a  b"};
  const auto d = find_exact_duplicates(views(t));
  EXPECT_EQ(d, (std::vector<int64_t>{-1, -1, 0, -1, 3, 1, -1}));
}

TEST(SimHash, SimilarTextsAreClose) {
  const std::string a = testing::real_text(20000);
  std::string b = a;
  b.replace(b.size() / 2, 5, "zzzzz");
  EXPECT_LE(std::popcount(simhash64(a, 1) ^ simhash64(b, 1)), 2);
  EXPECT_EQ(simhash64("", 1), 0u);
  const std::string c = testing::real_text(40000).substr(20000);
  EXPECT_GE(std::popcount(simhash64(a, 2) ^ simhash64(c, 2)), 10);
}

TEST(MinHash, EstimatesJaccard) {
  // Two sets of 1-word shingles with Jaccard exactly 1/3: {0..199} and {100..299}.
  std::string a, b;
  for (int i = 0; i < 300; ++i) {
    const std::string w = std::to_string(i);
    if (i < 200) a.append(w).append(" ");
    if (i >= 100) b.append(w).append(" ");
  }
  const MinHasher h(512);
  std::vector<uint32_t> sa(512), sb(512);
  EXPECT_EQ(h.signature(a, 1, sa.data()), 200);
  h.signature(b, 1, sb.data());
  int eq = 0;
  for (int i = 0; i < 512; ++i) eq += sa[i] == sb[i];
  EXPECT_NEAR(eq / 512.0, 1.0 / 3.0, 0.07);
  EXPECT_EQ(h.signature("", 3, sa.data()), 0);
  EXPECT_EQ(sa[0], 0xFFFFFFFFu);
}

TEST(NearDedup, OptionsAreValidated) {
  NearDedupOptions o;
  o.minhash.bands = 7;
  testing::expect_error([&] { validate_near_options(o, "x."); }, {"x.bands = 7", "num_perm"});
  o = {};
  o.method = NearMethod::simhash;
  o.simhash.max_distance = 40;
  testing::expect_error([&] { validate_near_options(o, ""); }, {"max_distance = 40"});
}

// ---- accuracy on real text -------------------------------------------------------------------

struct Corpus {
  std::vector<std::string> texts;
  std::vector<int> family;  // texts of one family are copies of one original
  int variants = 0;         // texts that should be dropped
};

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> w;
  for_each_word(s, [&](std::string_view x) { w.emplace_back(x); });
  return w;
}

std::string join(const std::vector<std::string>& w) {
  std::string s;
  for (const auto& x : w) {
    if (!s.empty()) s += ' ';
    s += x;
  }
  return s;
}

// Originals: windows of 100..300 consecutive words of real text, keeping only windows that share
// under 10% of their 3-word shingles with earlier ones (licences quote each other; those pairs
// are real near duplicates and would blur the measurement). Variants: each of the first
// `n_variants` originals edited at a rate of 1..5% of its words.
Corpus make_corpus(int n_originals, int n_variants, uint64_t seed) {
  const std::vector<std::string> words = split_words(normalize_text(testing::real_text(16u << 20)));
  std::mt19937_64 rng(seed);
  Corpus c;
  std::unordered_set<uint64_t> seen;
  std::vector<std::vector<std::string>> originals;
  size_t pos = 0;
  while (static_cast<int>(originals.size()) < n_originals && pos + 300 < words.size()) {
    const size_t len = 100 + rng() % 201;
    std::vector<std::string> w(words.begin() + pos, words.begin() + pos + len);
    pos += len;
    std::vector<uint64_t> sh;
    for (size_t i = 0; i + 3 <= w.size(); ++i)
      sh.push_back(
          hash_combine(hash_combine(hash_text(w[i]), hash_text(w[i + 1])), hash_text(w[i + 2])));
    size_t old = 0;
    for (uint64_t h : sh) old += seen.count(h);
    for (uint64_t h : sh) seen.insert(h);
    if (old * 10 >= sh.size()) continue;
    originals.push_back(std::move(w));
  }
  EXPECT_EQ(static_cast<int>(originals.size()), n_originals) << "not enough text on this machine";
  for (size_t f = 0; f < originals.size(); ++f) {
    c.texts.push_back(join(originals[f]));
    c.family.push_back(static_cast<int>(f));
  }
  for (int f = 0; f < n_variants && f < static_cast<int>(originals.size()); ++f) {
    std::vector<std::string> w = originals[f];
    const double rate = 0.01 + 0.04 * static_cast<double>(rng() % 1001) / 1000.0;
    const int edits = std::max(1, static_cast<int>(rate * static_cast<double>(w.size()) + 0.5));
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % w.size();
      switch (rng() % 4) {
        case 0:  // insertion of a random corpus word
          w.insert(w.begin() + static_cast<long>(at), words[rng() % words.size()]);
          break;
        case 1:  // deletion
          if (w.size() > 2) w.erase(w.begin() + static_cast<long>(at));
          break;
        case 2:  // swap with the next word
          if (at + 1 < w.size()) std::swap(w[at], w[at + 1]);
          break;
        default:  // replacement
          w[at] = words[rng() % words.size()];
      }
    }
    c.texts.push_back(join(w));
    c.family.push_back(f);
    ++c.variants;
  }
  // Shuffle so that variants come before and after their originals.
  std::vector<size_t> order(c.texts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  Corpus s;
  s.variants = c.variants;
  for (size_t i : order) {
    s.texts.push_back(c.texts[i]);
    s.family.push_back(c.family[i]);
  }
  return s;
}

struct Accuracy {
  double recall, precision;
  int dropped;
};

Accuracy measure(const Corpus& c, const NearDedupOptions& o) {
  const NearDedupResult r = find_near_duplicates(views(c.texts), o);
  int dropped = 0, right = 0;
  for (size_t i = 0; i < c.texts.size(); ++i) {
    if (r.duplicate_of[i] < 0) continue;
    ++dropped;
    right += c.family[i] == c.family[r.duplicate_of[i]];
  }
  return {static_cast<double>(right) / c.variants,
          dropped == 0 ? 1.0 : static_cast<double>(right) / dropped, dropped};
}

TEST(NearDedup, RecallAndPrecisionOnRealText) {
  const Corpus c = make_corpus(500, 250, 12345);
  NearDedupOptions mh;  // the documented MinHash defaults
  const Accuracy a = measure(c, mh);
  std::printf("minhash (shingle 3, 128 perm, 32 bands, t 0.5): recall %.4f precision %.4f\n",
              a.recall, a.precision);
  EXPECT_GE(a.recall, 0.95);
  EXPECT_GE(a.precision, 0.98);

  NearDedupOptions sh;  // the documented SimHash defaults
  sh.method = NearMethod::simhash;
  const Accuracy b = measure(c, sh);
  std::printf("simhash (shingle %d, k %d, %d bands): recall %.4f precision %.4f\n",
              sh.simhash.shingle, sh.simhash.max_distance, sh.simhash.bands, b.recall, b.precision);
  EXPECT_GE(b.recall, 0.95);
  EXPECT_GE(b.precision, 0.98);
}

}  // namespace
}  // namespace seekforge::data
