// Text clean-up for the cleaning pipeline: UTF-8 validation and repair, Unicode normalisation
// (NFC, through utf8proc), control-character and whitespace clean-up, and the script mix score
// (how much of a text is Latin, CJK or code-like).
//
// What this is not: a tokenizer (words.h splits text into the "words" the filters count) and not
// a language identifier: the script mix only counts characters.
//
// Thread safety: every function is pure and may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace seekforge::data {

// Number of bytes that are not part of a well-formed UTF-8 sequence (overlong forms, surrogates,
// code points above U+10FFFF and truncated sequences are all ill-formed). 0 means valid.
size_t count_invalid_utf8(std::string_view text);

// `text` with every ill-formed byte replaced by U+FFFD; `n_invalid` (when not null) receives the
// number of bytes replaced. Valid input comes back unchanged.
std::string repair_utf8(std::string_view text, size_t* n_invalid = nullptr);

struct NormalizeOptions {
  bool nfc = true;               // Unicode canonical composition (NFC)
  bool strip_control = true;     // drop C0/C1 controls except tab and newline, BOM, zero-width
  bool clean_whitespace = true;  // see normalize_text
};

// Normalises valid UTF-8 (the caller repairs or drops invalid text first; invalid input is
// refused with an error). Steps, in order:
//   NFC (when nfc); "\r\n" and lone "\r" become "\n"; controls removed (when strip_control);
//   when clean_whitespace: Unicode spaces (NBSP, U+2000..U+200A, U+202F, U+205F, U+3000) and
//   tabs become ' ', runs of spaces collapse to one, spaces at the start and end of a line are
//   removed, more than one blank line collapses to one (paragraphs stay apart), and the text is
//   trimmed. Newlines are kept because paragraph structure matters to later stages.
std::string normalize_text(std::string_view text, const NormalizeOptions& options = {});

// Shares of a text's characters. latin and cjk are shares of all letters (so latin + cjk <= 1;
// the rest are other scripts: Cyrillic, Greek, Arabic...); code is the share of non-space
// characters that are ASCII symbols typical of source code ({}[]()<>;=_|&*$\^~#/), which is
// about 0.01-0.03 in prose and 0.1-0.3 in code. A text with no letters has latin = cjk = 0.
struct ScriptMix {
  double latin = 0;
  double cjk = 0;
  double code = 0;
  int64_t letters = 0;
  int64_t non_space = 0;
};
ScriptMix script_mix(std::string_view valid_utf8);

// Decodes one code point of valid UTF-8 at text[i], advancing i. The callers validated first.
inline uint32_t decode_utf8(std::string_view text, size_t& i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  const auto cont = [&](size_t k) { return static_cast<unsigned char>(text[i + k]) & 0x3Fu; };
  uint32_t cp;
  if (b0 < 0xE0) {
    cp = ((b0 & 0x1Fu) << 6) | cont(1);
    i += 2;
  } else if (b0 < 0xF0) {
    cp = ((b0 & 0x0Fu) << 12) | (cont(1) << 6) | cont(2);
    i += 3;
  } else {
    cp = ((b0 & 0x07u) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
    i += 4;
  }
  return cp;
}

// Appends the UTF-8 encoding of a code point.
void append_utf8(std::string& out, uint32_t cp);

}  // namespace seekforge::data
