// Prompt text to token ids and token ids to labels a person can read on a chart axis or in an
// HTML page, for the pictures that look inside a model (attention, experts, saliency).
//
// The labels come from a TokenLabeler when the caller has the run's tokenizer (train/text_codec.h:
// visible_token of the token's bytes); without one, a model with vocab_size >= 256 is read as
// byte-level (ids 0..255 are bytes) and other ids are shown as <id>.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace seekforge::viz {

// The bytes of `text` as token ids. Throws when the prompt is empty or the model is not
// byte-level (vocab_size < 256).
std::vector<int64_t> encode_prompt(const std::string& text, int64_t vocab_size);

// A token's bytes made visible: space as '␣', newline as '↵', tab as '⇥', carriage return as
// '␍', other control bytes and bytes that are not part of a well-formed UTF-8 character (a
// byte-level token is often a piece of one) as \xNN. Always valid UTF-8.
std::string visible_token(const std::string& bytes);

// visible_token of a byte-level id, or "<id>" for an id outside the bytes.
std::string token_label(int64_t id, int64_t vocab_size);

// A token id to its label; empty means token_label(id, vocab_size).
using TokenLabeler = std::function<std::string(int64_t)>;
std::string label_token(const TokenLabeler& labeler, int64_t id, int64_t vocab_size);

// HTML-escapes &, <, >, " and '.
std::string html_escape(const std::string& s);

// A JSON string literal (with quotes) of valid UTF-8 text, safe inside an HTML <script>.
std::string js_string(const std::string& s);

}  // namespace seekforge::viz
