// "Words": the unit the cleaning filters count and compare until the BPE tokenizer exists.
// A word is a maximal run of characters between ASCII whitespace, except that every CJK
// ideograph or kana character is a word of its own (those scripts write no spaces, and one
// character is roughly one BPE token there). The CJK test is on the UTF-8 lead byte: code points
// U+3001..U+9FFF (CJK punctuation, kana, extension A, unified ideographs) and U+F900..U+FAFF.
//
// TokenCounter is the seam where a tokenizer plugs in: the length filter calls it and nothing
// else, so `[token counter] = tokenizer.encode(text).size()` replaces the word count later.
//
// What this is not: a tokenizer (no vocabulary, no ids) nor a linguistic word splitter
// (punctuation stays attached to its word).
//
// Thread safety: pure functions; a TokenCounter must be callable from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace seekforge::data {

// Calls fn(std::string_view word) for every word of `text` (UTF-8), in order.
// Bytes of the separator at p[i] (ASCII whitespace: 1; U+3000 ideographic space: 3), or 0.
inline size_t separator_length(const char* p, size_t i, size_t n) {
  const auto c = static_cast<unsigned char>(p[i]);
  if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v') return 1;
  if (c == 0xE3 && i + 2 < n && static_cast<unsigned char>(p[i + 1]) == 0x80 &&
      static_cast<unsigned char>(p[i + 2]) == 0x80)
    return 3;
  return 0;
}

// Calls fn(std::string_view word) for every word of `text` (UTF-8), in order.
template <class Fn>
void for_each_word(std::string_view text, Fn&& fn) {
  const char* p = text.data();
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    if (const size_t s = separator_length(p, i, n)) {
      i += s;
      continue;
    }
    const size_t start = i;
    bool split = false;
    while (i < n && separator_length(p, i, n) == 0) {
      const auto b = static_cast<unsigned char>(p[i]);
      // A three-byte CJK character (lead byte E3..E9, or EF A4..AB): a word by itself.
      const bool cjk = (b >= 0xE3 && b <= 0xE9) ||
                       (b == 0xEF && i + 1 < n && static_cast<unsigned char>(p[i + 1]) >= 0xA4 &&
                        static_cast<unsigned char>(p[i + 1]) <= 0xAB);
      if (cjk && i + 3 <= n) {
        if (i > start) fn(std::string_view(p + start, i - start));
        fn(std::string_view(p + i, 3));
        i += 3;
        split = true;
        break;
      }
      ++i;
    }
    if (!split) fn(std::string_view(p + start, i - start));
  }
}

// Number of words (see above).
int64_t count_words(std::string_view text);

// Counts the "tokens" of a text for the length filter; must be thread-safe.
using TokenCounter = std::function<int64_t(std::string_view)>;

// The default counter: count_words.
TokenCounter word_counter();

}  // namespace seekforge::data
