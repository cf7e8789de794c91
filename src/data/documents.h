// Documents of the cleaning pipeline and how they are read: JSONL lines {"id", "text"[,
// "domain"]} and plain text files or directories (one document per file, or per blank-line
// separated paragraph).
//
// Broken UTF-8 is never fatal here. A JSONL line with ill-formed bytes cannot go through a JSON
// parser, so its bad bytes become U+FFFD before parsing and the document records how many there
// were (invalid_utf8); the normalize stage then keeps (replace) or drops it. Text files keep
// their bytes as they are and the normalize stage counts and handles them the same way.
//
// What this is not: the cleaning itself (clean_pipeline.h) or a general JSON reader.
//
// Thread safety: free functions without shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace seekforge::data {

struct Document {
  nlohmann::json id;        // a string or a number, as given
  std::string text;         // UTF-8 (text files: possibly ill-formed until normalised)
  std::string domain;       // optional label from the JSONL "domain" field
  size_t invalid_utf8 = 0;  // ill-formed bytes replaced while reading (JSONL only)
  std::string raw_line;     // the JSONL line as read, when asked for (dedup keeps lines verbatim)
};

// Reads a JSONL file. Blank lines are skipped. Errors name the file and the 1-based line:
// "docs.jsonl:7: invalid JSON: ...", "docs.jsonl:3: \"text\" must be a string". A missing file
// is an error; an empty file yields no documents (callers decide whether that is an error).
std::vector<Document> read_jsonl(const std::string& path, bool keep_raw_lines = false);

enum class TextUnit { file, paragraph };

// Reads a text file, or every regular file under a directory (recursively, in sorted path
// order). Ids are the path as given plus, per paragraph, "#<n>" (1-based). Paragraphs are
// separated by one or more blank lines (lines of only whitespace count as blank); empty
// documents are skipped.
std::vector<Document> read_text_input(const std::string& path, TextUnit unit);

// The cleaned output line: {"id", "text"[, "domain"]} (domain only when not empty).
std::string document_json_line(const Document& doc);

// Checks that no id appears twice; throws naming the id and both positions ("docs.jsonl").
void check_unique_ids(const std::vector<Document>& docs, const std::string& label);

}  // namespace seekforge::data
