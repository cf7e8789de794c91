// Pre-tokenisation: splitting raw bytes into the pieces that byte-level BPE merges within,
// with a PCRE2 regex (UTF + UCP, JIT-compiled), as GPT-2, cl100k and o200k do.
//
// Contract: split() never fails and its pieces, concatenated, are exactly the input. Bytes that
// are not valid UTF-8 become pieces of one byte each; the regex only ever sees valid UTF-8 runs
// (which is what lets it run with PCRE2_NO_UTF_CHECK). Text the regex does not match (possible
// with a custom regex) becomes pieces too.
//
// What this is not: the merge step (bpe.h) or special-token handling.
//
// Thread safety: a Pretokenizer is immutable after construction; split() may be called from any
// number of threads at once (each thread keeps its own PCRE2 match data and JIT stack).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace seekforge::data {

// The regexes of the named patterns, exactly as the encodings use them: "gpt2" (GPT-2, r50k,
// p50k), "cl100k" and "o200k". Returns an empty string for an unknown name.
std::string named_pattern_regex(std::string_view name);
// The name of a known regex, or "" when `regex` is not one of them.
std::string pattern_name_of(std::string_view regex);
// "gpt2, cl100k, o200k": for error messages.
std::string pattern_names();

class Pretokenizer {
 public:
  // A named pattern (throws naming the unknown name and the known ones).
  static Pretokenizer named(const std::string& name);
  // A custom regex (throws naming the regex, PCRE2's message and the offset when it does not
  // compile). A regex that equals a named one takes the name.
  static Pretokenizer from_regex(const std::string& regex);

  const std::string& name() const { return name_; }  // "" for a custom regex
  const std::string& regex() const { return regex_; }
  // True when cutting the text just after a "\n" that has a printable ASCII byte before it and
  // an ASCII letter after it cannot change the pieces (holds for the named patterns), so large
  // texts can be pre-tokenised in chunks on many threads.
  bool chunkable() const { return !name_.empty(); }

  // Appends the pieces of `text` to `out` (views into `text`).
  void split(std::string_view text, std::vector<std::string_view>& out) const;

 private:
  struct Code;
  Pretokenizer(std::string name, std::string regex);
  std::string name_, regex_;
  std::shared_ptr<const Code> code_;
};

// Where to cut `text` into chunks of about chunk_bytes that can be pre-tokenised apart without
// changing the pieces (for a chunkable() pattern): just after a "\n" with a printable ASCII byte
// before it and an ASCII letter after it, the first such point at or after each chunk_bytes.
// The first start is 0; the chunks run from each start to the next (the last to the end).
std::vector<size_t> chunk_starts(std::string_view text, size_t chunk_bytes);

// Length of the longest prefix of `s` that is valid UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF), as PCRE2 defines it.
size_t valid_utf8_prefix(std::string_view s);

}  // namespace seekforge::data
