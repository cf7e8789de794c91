// Tests of UTF-8 validation and repair, NFC, control and whitespace clean-up, the script mix
// score and the word counter that stands in for the tokenizer.
#include "data/text_normalize.h"

#include <gtest/gtest.h>

#include "data/temp_dir.h"
#include "data/words.h"

namespace seekforge::data {
namespace {

TEST(Utf8, CountsIllFormedBytes) {
  EXPECT_EQ(count_invalid_utf8("plain ascii"), 0u);
  EXPECT_EQ(count_invalid_utf8("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"), 0u);
  EXPECT_EQ(count_invalid_utf8("\xC3"), 1u);              // truncated
  EXPECT_EQ(count_invalid_utf8("\xC0\xAF"), 2u);          // overlong '/'
  EXPECT_EQ(count_invalid_utf8("\xED\xA0\x80"), 3u);      // surrogate U+D800
  EXPECT_EQ(count_invalid_utf8("\xF4\x90\x80\x80"), 4u);  // above U+10FFFF
  EXPECT_EQ(count_invalid_utf8("a\xFF"
                               "b\x80"),
            2u);
  size_t bad = 0;
  EXPECT_EQ(repair_utf8("a\xFF"
                        "b",
                        &bad),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(bad, 1u);
}

TEST(Normalize, ComposesToNfc) {
  EXPECT_EQ(normalize_text("Cafe\xCC\x81"), "Caf\xC3\xA9");   // e + combining acute -> é
  EXPECT_EQ(normalize_text("\xEA\xB0\x80"), "\xEA\xB0\x80");  // Hangul syllable stays
  NormalizeOptions o;
  o.nfc = false;
  EXPECT_EQ(normalize_text("Cafe\xCC\x81", o), "Cafe\xCC\x81");
}

TEST(Normalize, CleansControlsAndWhitespace) {
  EXPECT_EQ(normalize_text("  a\t\tb \r\n\r\n\r\n\n c  \n"), "a b\n\nc");
  EXPECT_EQ(normalize_text("x\x07y\xEF\xBB\xBFz\xE2\x80\x8Bw"), "xyzw");  // BEL, BOM, ZWSP
  EXPECT_EQ(normalize_text("a\xC2\xA0"
                           "b\xE3\x80\x80"
                           "c"),
            "a b c");  // NBSP, ideographic space
  EXPECT_EQ(normalize_text("line one\nline two"), "line one\nline two");
  EXPECT_EQ(normalize_text(" \n\t "), "");
  testing::expect_error([] { normalize_text("bad \xFF"); }, {"not valid UTF-8"});
}

TEST(ScriptMix, LatinCjkAndCode) {
  const ScriptMix en = script_mix("Hello world, this is prose.");
  EXPECT_DOUBLE_EQ(en.latin, 1.0);
  EXPECT_DOUBLE_EQ(en.cjk, 0.0);
  EXPECT_LT(en.code, 0.05);
  const ScriptMix zh =
      script_mix("\xE4\xB8\xAD\xE6\x96\x87\xE6\x96\x87\xE6\x9C\xAC ok");  // 中文文本 ok
  EXPECT_NEAR(zh.cjk, 4.0 / 6.0, 1e-12);
  EXPECT_NEAR(zh.latin, 2.0 / 6.0, 1e-12);
  const ScriptMix ru = script_mix("\xD0\xBF\xD1\x80\xD0\xB8");  // при
  EXPECT_EQ(ru.letters, 3);
  EXPECT_DOUBLE_EQ(ru.latin, 0.0);
  const ScriptMix code = script_mix("for (i = 0; i < n; ++i) { a[i] = b[i]; }");
  EXPECT_GT(code.code, 0.3);
  EXPECT_EQ(script_mix("").letters, 0);
}

TEST(Words, CountsWhitespaceWordsAndCjkCharacters) {
  EXPECT_EQ(count_words(""), 0);
  EXPECT_EQ(count_words("  one two\tthree\nfour  "), 4);
  EXPECT_EQ(count_words("\xE4\xB8\xAD\xE6\x96\x87 abc"), 3);  // 中 文 abc
  EXPECT_EQ(count_words("ab\xE4\xB8\xAD"
                        "cd"),
            3);                               // ab 中 cd
  EXPECT_EQ(count_words("\xE3\x80\x80"), 0);  // ideographic space
  EXPECT_EQ(word_counter()("a b c"), 3);
}

}  // namespace
}  // namespace seekforge::data
