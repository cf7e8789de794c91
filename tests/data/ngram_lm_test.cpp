// Tests of the modified Kneser-Ney n-gram model: probabilities sum to one in every context and
// order, the discounts stay in the ranges Chen & Goodman's formulas allow, and on real text a shuffled-word copy
// of held-out text gets a far higher perplexity than the text itself.
#include "data/ngram_lm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "data/real_text.h"
#include "data/temp_dir.h"
#include "data/text_normalize.h"
#include "data/words.h"

namespace seekforge::data {
namespace {

std::vector<std::string> paragraphs(const std::string& text) {
  std::vector<std::string> p;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos) p.push_back(text.substr(pos, end - pos));
    pos = end + 2;
  }
  return p;
}

TEST(NgramModel, ProbabilitiesSumToOne) {
  const std::vector<std::string> train = {"a b c a b d", "b c a", "a a a b", "d c b a b c"};
  for (int order : {1, 2, 3, 4}) {
    NgramModel lm(order, NgramUnit::word);
    lm.train({train.begin(), train.end()});
    const std::vector<std::vector<uint32_t>> contexts = {{},
                                                         {lm.id("a")},
                                                         {lm.id("a"), lm.id("b")},
                                                         {lm.id("c"), lm.id("a"), lm.id("b")},
                                                         {NgramModel::kUnk, lm.id("d")}};
    for (const auto& ctx : contexts) {
      double sum = 0;
      for (uint32_t w = 0; w < static_cast<uint32_t>(lm.vocab_size()); ++w) sum += lm.prob(ctx, w);
      EXPECT_NEAR(sum, 1.0, 1e-12) << "order " << order;
    }
  }
}

TEST(NgramModel, DiscountsFollowCountsOfCounts) {
  const std::string text = testing::real_text(400000);
  NgramModel lm(3, NgramUnit::word);
  const std::vector<std::string> p = paragraphs(normalize_text(text));
  lm.train({p.begin(), p.end()});
  for (int k = 1; k <= 3; ++k) {
    const auto d = lm.discounts(k);
    EXPECT_GT(d[0], 0);
    EXPECT_LT(d[0], 1);
    EXPECT_LT(d[0], d[1]) << "order " << k;
    EXPECT_LT(d[2], 3);
    EXPECT_GT(d[2], 0);
  }
  testing::expect_error([] { NgramModel(0, NgramUnit::word); }, {"order 0"});
}

TEST(NgramModel, ShuffledTextIsFarMorePerplexing) {
  const std::vector<std::string> p = paragraphs(normalize_text(testing::real_text(800000)));
  ASSERT_GT(p.size(), 200u);
  std::vector<std::string> train, test;
  for (size_t i = 0; i < p.size(); ++i) (i % 10 == 0 ? test : train).push_back(p[i]);
  std::mt19937_64 rng(7);
  for (NgramUnit unit : {NgramUnit::word, NgramUnit::character}) {
    NgramModel lm(unit == NgramUnit::word ? 3 : 5, unit);
    lm.train({train.begin(), train.end()});
    int higher = 0, counted = 0;
    double ratio_sum = 0;
    for (const auto& t : test) {
      std::vector<std::string> w;
      for_each_word(t, [&](std::string_view x) { w.emplace_back(x); });
      if (w.size() < 20) continue;
      std::shuffle(w.begin(), w.end(), rng);
      std::string s;
      for (const auto& x : w) s.append(x).append(" ");
      const double a = lm.perplexity(t), b = lm.perplexity(s);
      ++counted;
      higher += b > a;
      ratio_sum += b / a;
    }
    ASSERT_GT(counted, 20);
    const double mean_ratio = ratio_sum / counted;
    std::printf("%s model: shuffled text ranks higher in %d of %d texts, mean ratio %.2f\n",
                unit == NgramUnit::word ? "word 3-gram" : "char 5-gram", higher, counted,
                mean_ratio);
    EXPECT_GE(higher, counted * 95 / 100);
    EXPECT_GT(mean_ratio, unit == NgramUnit::word ? 2.0 : 1.3);
  }
}

}  // namespace
}  // namespace seekforge::data
