// UTF-8 validation, NFC, control and whitespace clean-up, script mix: see text_normalize.h.
//
// NFC comes from utf8proc (Debian's libutf8proc): its tables follow the Unicode release it was
// built for, and writing composition tables by hand would be a second, worse copy of them. The
// rest is one pass over the code points written here, because it is simple and this is the
// hottest loop of the pipeline.
#include "data/text_normalize.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "core/error.h"

namespace seekforge::data {
namespace {

// Length of the well-formed sequence starting at text[i], or 0 when it is ill-formed (the
// Unicode "well-formed UTF-8 byte sequences" table, D92).
size_t valid_sequence_length(std::string_view text, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const size_t left = text.size() - i;
  const unsigned char b0 = at(0);
  if (b0 < 0x80) return 1;
  const auto in = [](unsigned char b, unsigned char lo, unsigned char hi) {
    return b >= lo && b <= hi;
  };
  if (in(b0, 0xC2, 0xDF)) return left >= 2 && in(at(1), 0x80, 0xBF) ? 2 : 0;
  if (in(b0, 0xE0, 0xEF)) {
    if (left < 3) return 0;
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;  // no surrogates
    return in(at(1), lo, hi) && in(at(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (in(b0, 0xF0, 0xF4)) {
    if (left < 4) return 0;
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;  // no overlong forms
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
    return in(at(1), lo, hi) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

bool all_ascii(std::string_view text) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, text.data() + i, 8);
    acc |= w;
  }
  for (; i < text.size(); ++i) acc |= static_cast<unsigned char>(text[i]);
  return (acc & 0x8080808080808080ull) == 0;
}

bool is_unicode_space(uint32_t cp) {
  return cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000 || cp == 0x1680;
}

// Characters that carry nothing but can break matching: controls other than tab and newline,
// C1 controls, the byte-order mark and the zero-width characters.
bool is_removable_control(uint32_t cp) {
  if (cp < 0x20) return cp != '\t' && cp != '\n';
  if (cp == 0x7F) return true;
  if (cp >= 0x80 && cp <= 0x9F) return true;
  return cp == 0xFEFF || cp == 0x200B || cp == 0x200C || cp == 0x200D || cp == 0x2060 ||
         cp == 0x00AD;
}

// NFC through utf8proc, applied only to the lines that can change: a line whose code points
// are all below U+0300 (the first combining mark) is already in NFC, which skips the library for
// almost all Latin text.
std::string nfc_line(std::string_view line) {
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(line.data()),
                   static_cast<utf8proc_ssize_t>(line.size()), &out,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(out, &std::free);
  SF_CHECK(n >= 0) << "NFC normalisation failed: " << utf8proc_errmsg(n);
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

std::string nfc(std::string_view text) {
  if (all_ascii(text)) return std::string(text);  // ASCII is its own NFC
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    end = end == std::string_view::npos ? text.size() : end + 1;
    const std::string_view line = text.substr(pos, end - pos);
    bool may_change = false;
    for (size_t i = 0; i < line.size();) {
      if (static_cast<unsigned char>(line[i]) < 0x80) {
        ++i;
        continue;
      }
      if (decode_utf8(line, i) >= 0x300) {
        may_change = true;
        break;
      }
    }
    if (may_change) {
      out += nfc_line(line);
    } else {
      out.append(line);
    }
    pos = end;
  }
  return out;
}

bool is_cjk(uint32_t cp) {
  return (cp >= 0x3040 && cp <= 0x30FF) ||  // hiragana, katakana
         (cp >= 0x3400 && cp <= 0x4DBF) ||  // CJK extension A
         (cp >= 0x4E00 && cp <= 0x9FFF) ||  // CJK unified ideographs
         (cp >= 0xAC00 && cp <= 0xD7AF) ||  // Hangul syllables
         (cp >= 0xF900 && cp <= 0xFAFF) ||  // compatibility ideographs
         (cp >= 0xFF66 && cp <= 0xFF9F) ||  // half-width katakana
         (cp >= 0x20000 && cp <= 0x2FA1F);  // extensions B..
}

bool is_latin_letter(uint32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
         (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) || (cp >= 0x1E00 && cp <= 0x1EFF);
}

bool is_code_symbol(uint32_t cp) {
  switch (cp) {
    case '{':
    case '}':
    case '[':
    case ']':
    case '(':
    case ')':
    case '<':
    case '>':
    case ';':
    case '=':
    case '_':
    case '|':
    case '&':
    case '*':
    case '$':
    case '\\':
    case '^':
    case '~':
    case '#':
    case '/':
      return true;
    default:
      return false;
  }
}

}  // namespace

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

size_t count_invalid_utf8(std::string_view text) {
  size_t bad = 0;
  for (size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = valid_sequence_length(text, i);
    if (n == 0) {
      ++bad;
      ++i;
    } else {
      i += n;
    }
  }
  return bad;
}

std::string repair_utf8(std::string_view text, size_t* n_invalid) {
  const size_t bad = count_invalid_utf8(text);
  if (n_invalid != nullptr) *n_invalid = bad;
  if (bad == 0) return std::string(text);
  std::string out;
  out.reserve(text.size() + 2 * bad);
  for (size_t i = 0; i < text.size();) {
    const size_t n = valid_sequence_length(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(text.data() + i, n);
      i += n;
    }
  }
  return out;
}

std::string normalize_text(std::string_view text, const NormalizeOptions& options) {
  SF_CHECK(count_invalid_utf8(text) == 0)
      << "normalize_text: the text is not valid UTF-8 (repair or drop it first)";
  const std::string composed = options.nfc ? nfc(text) : std::string(text);
  std::string out;
  out.reserve(composed.size());
  // Whitespace state: spaces and newlines are held back and written before the next visible
  // character, which trims line ends and the text's end for free.
  int pending_newlines = 0;
  bool pending_space = false;
  const std::string_view s = composed;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = decode_utf8(s, i);
    if (cp == '\r') {
      if (i < s.size() && s[i] == '\n') ++i;
      cp = '\n';
    }
    if (options.strip_control && is_removable_control(cp)) continue;
    if (options.clean_whitespace) {
      if (cp == '\n') {
        ++pending_newlines;
        pending_space = false;  // spaces before a newline are trailing: dropped
        continue;
      }
      if (cp == ' ' || cp == '\t' || is_unicode_space(cp)) {
        pending_space = true;
        continue;
      }
      if (!out.empty()) {
        if (pending_newlines > 0) {
          out.append(pending_newlines > 1 ? 2 : 1, '\n');
        } else if (pending_space) {
          out += ' ';
        }
      }
      pending_newlines = 0;
      pending_space = false;
    }
    append_utf8(out, cp);
  }
  return out;
}

ScriptMix script_mix(std::string_view text) {
  ScriptMix m;
  int64_t latin = 0, cjk = 0, code = 0;
  for (size_t i = 0; i < text.size();) {
    const uint32_t cp = decode_utf8(text, i);
    if (cp == ' ' || cp == '\n' || cp == '\t' || cp == '\r') continue;
    ++m.non_space;
    if (cp < 0x80) {
      if (is_latin_letter(cp)) {
        ++latin;
        ++m.letters;
      } else if (is_code_symbol(cp)) {
        ++code;
      }
      continue;
    }
    if (is_cjk(cp)) {
      ++cjk;
      ++m.letters;
    } else if (is_latin_letter(cp)) {
      ++latin;
      ++m.letters;
    } else {
      const utf8proc_category_t cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
      if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ++m.letters;
    }
  }
  if (m.letters > 0) {
    m.latin = static_cast<double>(latin) / static_cast<double>(m.letters);
    m.cjk = static_cast<double>(cjk) / static_cast<double>(m.letters);
  }
  if (m.non_space > 0) m.code = static_cast<double>(code) / static_cast<double>(m.non_space);
  return m;
}

}  // namespace seekforge::data
