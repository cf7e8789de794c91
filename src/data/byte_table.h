// The byte-level BPE byte table (as in GPT-2): a bijection from the 256 byte values to 256
// printable Unicode characters, so that any byte string can be written as a readable, valid
// UTF-8 string (the form Hugging Face tokenizer.json and our tokenizer JSON store tokens in).
//
// What this is not: part of encoding. Encoding and decoding work on raw bytes; the table is
// only used to read and write token strings in JSON files.
//
// Thread safety: pure functions over a constant table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace seekforge::data {

// The code point that stands for byte b: printable Latin-1 bytes stand for themselves, the
// others (controls, space, 0x7F-0xA0, 0xAD) map in order to U+0100 and up.
char32_t byte_to_codepoint(uint8_t b);

// Byte string -> UTF-8 string of the mapped code points (never fails).
std::string bytes_to_unicode(std::string_view bytes);

// The inverse; nullopt when `text` is not valid UTF-8 or holds a code point outside the table.
std::optional<std::string> unicode_to_bytes(std::string_view text);

}  // namespace seekforge::data
