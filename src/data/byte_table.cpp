// The byte-level byte table: see byte_table.h.
#include "data/byte_table.h"

#include <array>

namespace seekforge::data {
namespace {

struct Tables {
  std::array<char32_t, 256> to_cp{};
  std::array<int16_t, 324> from_cp{};  // code point -> byte, -1 when unmapped (max is U+0143)
};

const Tables& tables() {
  static const Tables t = [] {
    Tables r;
    r.from_cp.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      r.to_cp[b] = printable ? char32_t(b) : next++;
      r.from_cp[r.to_cp[b]] = int16_t(b);
    }
    return r;
  }();
  return t;
}

void append_utf8(std::string& out, char32_t cp) {
  // Only code points below U+0800 occur in the table.
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

char32_t byte_to_codepoint(uint8_t b) { return tables().to_cp[b]; }

std::string bytes_to_unicode(std::string_view bytes) {
  const Tables& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) append_utf8(out, t.to_cp[b]);
  return out;
}

std::optional<std::string> unicode_to_bytes(std::string_view text) {
  const Tables& t = tables();
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c0 = static_cast<unsigned char>(text[i]);
    char32_t cp = 0;
    if (c0 < 0x80) {
      cp = c0;
      i += 1;
    } else if ((c0 & 0xE0) == 0xC0 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      cp = (char32_t(c0 & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F);
      i += 2;
      if (cp < 0x80) return std::nullopt;  // overlong form
    } else {
      return std::nullopt;  // longer sequences map to nothing in the table
    }
    if (cp >= t.from_cp.size() || t.from_cp[cp] < 0) return std::nullopt;
    out.push_back(char(t.from_cp[cp]));
  }
  return out;
}

}  // namespace seekforge::data
