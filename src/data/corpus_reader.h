// Reading a cleaned corpus for tokenization: JSONL files (one {"id", "text", "domain"} object a
// line, as the cleaning stage writes them) and plain .txt files (one document per file, domain =
// the parent folder's name), given as one file or a directory searched recursively.
//
// What this is not: cleaning or deduplication (the `data clean` stage) or tokenization
// (dataset_writer.h). Documents are produced in a fixed order (files sorted by path, lines in
// file order) so that everything downstream is deterministic.
//
// Errors name the input: a missing or empty path, a directory without .jsonl/.txt files, a
// binary file (NUL bytes), a bad JSONL line ("file:line: ..."), a domain that cannot name a file.
//
// Thread safety: a CorpusReader is immutable after construction; for_each runs on the caller's
// thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace seekforge::data {

struct CorpusDocument {
  std::string text;
  std::string domain;
  std::string where;  // "file:line" for JSONL, the path for .txt: for messages
};

// The domain of JSONL lines that have none.
inline constexpr const char* kDefaultDomain = "default";

// Throws naming `where` unless `domain` is 1..64 characters of [A-Za-z0-9_.-] (it becomes part
// of shard file names and of split names).
void check_domain_name(const std::string& domain, const std::string& where);

class CorpusReader {
 public:
  explicit CorpusReader(const std::string& input);
  const std::vector<std::string>& files() const { return files_; }
  // The number of documents for_each will produce (non-blank JSONL lines and .txt files),
  // without parsing: lets the train/val split be chosen before encoding.
  int64_t count_documents() const;
  // Calls fn on every document in order; index counts from 0 in the order of count_documents().
  void for_each(const std::function<void(int64_t index, CorpusDocument&& doc)>& fn) const;

 private:
  std::string input_;
  std::vector<std::string> files_;  // sorted
};

}  // namespace seekforge::data
