#include "viz/tokens.h"

#include <cstdio>

#include "core/error.h"

namespace seekforge::viz {

std::vector<int64_t> encode_prompt(const std::string& text, int64_t vocab_size) {
  SF_CHECK(!text.empty()) << "the prompt is empty";
  SF_CHECK(vocab_size >= 256) << "--prompt text needs a byte-level model (vocab_size >= 256, this "
                              << "one has " << vocab_size << ")";
  std::vector<int64_t> ids;
  for (unsigned char ch : text) ids.push_back(ch);
  return ids;
}

namespace {
// Length of the well-formed UTF-8 sequence starting at s[i] (2..4), or 0.
size_t utf8_sequence(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n = 0;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(k) & 0xC0) != 0x80) return 0;
  if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
  if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
  if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
  if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
  return n;
}

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02X", c);
  return buf;
}
}  // namespace

std::string visible_token(const std::string& bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size();) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      if (c == ' ')
        out += "\u2423";
      else if (c == '\n')
        out += "\u21B5";
      else if (c == '\t')
        out += "\u21E5";
      else if (c == '\r')
        out += "\u240D";
      else if (c < 0x20 || c == 0x7F)
        out += hex_byte(c);
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    const size_t n = utf8_sequence(bytes, i);
    if (n == 0) {
      out += hex_byte(c);
      ++i;
    } else {
      out += bytes.substr(i, n);
      i += n;
    }
  }
  return out;
}

std::string token_label(int64_t id, int64_t vocab_size) {
  if (vocab_size >= 256 && id >= 0 && id < 256)
    return visible_token(std::string(1, static_cast<char>(id)));
  std::string out = "<";  // appended, not "<" + ...: GCC 12 reports a false -Wrestrict there
  out += std::to_string(id);
  out += '>';
  return out;
}

std::string label_token(const TokenLabeler& labeler, int64_t id, int64_t vocab_size) {
  return labeler ? labeler(id) : token_label(id, vocab_size);
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string js_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '<')
      out += "\\u003c";  // no "</script>" inside a script
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace seekforge::viz
