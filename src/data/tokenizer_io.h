// Tokenizer files: our own JSON format (docs/tokenizer.md), Hugging Face tokenizer.json
// (byte-level BPE) import and export, tiktoken rank-file import, and the tokenizer hash that
// dataset manifests record.
//
// What this is not: encoding (bpe.h) or training (bpe_train.h). Errors name the file and, where
// there is one, the line or the field.
//
// Thread safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "data/bpe.h"

namespace seekforge::data {

inline constexpr const char* kTokenizerFormat = "seekforge-tokenizer";
inline constexpr int64_t kTokenizerVersion = 1;

// Our format. `label` names the source in errors.
nlohmann::ordered_json tokenizer_to_json(const Tokenizer& t);
Tokenizer tokenizer_from_json(const nlohmann::json& j, const std::string& label);
void save_tokenizer(const Tokenizer& t, const std::string& path);  // atomic
Tokenizer load_tokenizer(const std::string& path);

// FNV-1a 64 of the canonical JSON (tokens, merges, special tokens, pattern, mode): equal
// tokenizers hash equal, whichever file they came from.
uint64_t tokenizer_hash(const Tokenizer& t);

// A .tiktoken rank file (one "base64-token rank" per line) with a named pre-tokenisation
// pattern. The special tokens of the matching OpenAI encoding are added (gpt2: <|endoftext|>;
// cl100k and o200k: their eight), at their usual ids.
Tokenizer import_tiktoken(const std::string& path, const std::string& pattern_name);

// Hugging Face tokenizer.json with a byte-level BPE model. The pre-tokeniser must be ByteLevel
// with its regex (the gpt2 pattern), or a Sequence of one Split regex (Isolated) and a ByteLevel
// without regex. Added tokens become special tokens.
Tokenizer import_hf(const std::string& path);
nlohmann::ordered_json tokenizer_to_hf_json(const Tokenizer& t);
void export_hf(const Tokenizer& t, const std::string& path);

// Reads a whole file; throws naming the path.
std::string read_file(const std::string& path);

}  // namespace seekforge::data
