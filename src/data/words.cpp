// The default token counter of the cleaning filters: see words.h.
#include "data/words.h"

namespace seekforge::data {

int64_t count_words(std::string_view text) {
  int64_t n = 0;
  for_each_word(text, [&](std::string_view) { ++n; });
  return n;
}

TokenCounter word_counter() {
  return [](std::string_view text) { return count_words(text); };
}

}  // namespace seekforge::data
