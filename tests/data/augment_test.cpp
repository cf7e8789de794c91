// Tests of augmentation: replacement rates follow p, the same seed gives the same text (at any
// thread count: draws depend on the document key and word index only), spacing is kept, and the
// synonym file is read and checked.
#include "data/augment.h"

#include <gtest/gtest.h>

#include "data/temp_dir.h"
#include "data/words.h"

namespace seekforge::data {
namespace {

std::string words_text(int n) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s.append("w").append(std::to_string(i)).append(i % 7 == 6 ? "\n" : " ");
  return s;
}

TEST(Augment, RandomReplacementRateAndDeterminism) {
  AugmentOptions o;
  o.seed = 3;
  o.p_replace = 0.2;
  const Augmenter a(o, {"X"}, {});
  const std::string text = words_text(5000);
  int64_t changed = 0;
  const std::string out = a.augment(text, 11, 0, &changed);
  EXPECT_NEAR(static_cast<double>(changed) / 5000, 0.2, 0.03);
  EXPECT_EQ(count_words(out), 5000);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), std::count(text.begin(), text.end(), '\n'));
  EXPECT_EQ(out, a.augment(text, 11, 0));  // same seed, key and copy: same text
  EXPECT_NE(out, a.augment(text, 12, 0));  // another document
  EXPECT_NE(out, a.augment(text, 11, 1));  // another copy
  o.seed = 4;
  EXPECT_NE(out, Augmenter(o, {"X"}, {}).augment(text, 11, 0));
  o.p_replace = 0;
  EXPECT_EQ(Augmenter(o, {}, {}).augment(text, 11, 0), text);
}

TEST(Augment, SynonymsFromFile) {
  testing::TempDir dir;
  testing::write_bytes(dir.file("syn.txt"), "# comment\n\nbig large huge\nsmall\ttiny\n");
  const SynonymTable t = read_synonyms(dir.file("syn.txt"));
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.at("big"), (std::vector<std::string>{"large", "huge"}));
  AugmentOptions o;
  o.p_synonym = 1.0;
  const Augmenter a(o, {}, t);
  const std::string out = a.augment("a big and a small  dog", 1, 0);
  EXPECT_TRUE(out == "a large and a tiny  dog" || out == "a huge and a tiny  dog") << out;
  testing::write_bytes(dir.file("bad.txt"), "ok fine\nlonely\n");
  testing::expect_error([&] { read_synonyms(dir.file("bad.txt")); }, {"bad.txt:2", "lonely"});
  testing::expect_error([&] { read_synonyms(dir.file("none.txt")); }, {"none.txt"});
  o.p_synonym = 1.5;
  testing::expect_error([&] { Augmenter(o, {}, {}); }, {"p_synonym = 1.5"});
}

}  // namespace
}  // namespace seekforge::data
