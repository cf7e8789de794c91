// Reading a cleaned corpus: see corpus_reader.h.
#include "data/corpus_reader.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/error.h"
#include "data/tokenizer_io.h"

namespace seekforge::data {
namespace fs = std::filesystem;

namespace {

bool has_ext(const fs::path& p, const char* ext) { return p.extension() == ext; }

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// Calls fn(line_number, line) for each line of `text` (without the newline).
template <class F>
void for_each_line(std::string_view text, F&& fn) {
  int64_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    fn(++line_no, text.substr(start, end - start));
    start = end + 1;
  }
}

std::string read_text_file(const std::string& path) {
  std::string bytes = read_file(path);
  const size_t nul = bytes.find('\0');
  SF_CHECK(nul == std::string::npos)
      << "corpus file '" << path << "': byte " << nul
      << " is NUL: a binary file, not text (give cleaned JSONL or .txt files)";
  return bytes;
}

}  // namespace

void check_domain_name(const std::string& domain, const std::string& where) {
  const bool ok = !domain.empty() && domain.size() <= 64 &&
                  std::all_of(domain.begin(), domain.end(),
                              [](char c) {
                                return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                                       c == '-' || c == '.';
                              }) &&
                  domain != "." && domain != "..";
  SF_CHECK(ok) << where << ": domain \"" << escape_bytes(domain)
               << "\" must be 1..64 characters of A-Z a-z 0-9 _ - . (it names shard files)";
}

CorpusReader::CorpusReader(const std::string& input) : input_(input) {
  std::error_code ec;
  SF_CHECK(!input.empty()) << "corpus input: no path given";
  SF_CHECK(fs::exists(input, ec)) << "corpus input '" << input << "': no such file or directory";
  if (fs::is_directory(input, ec)) {
    for (auto it = fs::recursive_directory_iterator(input, ec); it != fs::end(it);
         it.increment(ec)) {
      SF_CHECK(!ec) << "corpus input '" << input << "': cannot list: " << ec.message();
      if (!it->is_regular_file()) continue;
      const fs::path& p = it->path();
      if (has_ext(p, ".jsonl") || has_ext(p, ".txt")) files_.push_back(p.string());
    }
    SF_CHECK(!files_.empty()) << "corpus input '" << input
                              << "': the directory holds no .jsonl or .txt files";
    std::sort(files_.begin(), files_.end());
  } else {
    SF_CHECK(has_ext(input, ".jsonl") || has_ext(input, ".txt"))
        << "corpus input '" << input << "': expected a .jsonl or .txt file, or a directory";
    files_.push_back(input);
  }
  for (const std::string& f : files_)
    SF_CHECK(fs::file_size(f, ec) > 0 && !ec) << "corpus file '" << f << "': empty";
}

int64_t CorpusReader::count_documents() const {
  int64_t n = 0;
  for (const std::string& f : files_) {
    if (has_ext(f, ".txt")) {
      ++n;
      continue;
    }
    const std::string text = read_file(f);
    for_each_line(text, [&](int64_t, std::string_view line) { n += !blank(line); });
  }
  return n;
}

void CorpusReader::for_each(const std::function<void(int64_t, CorpusDocument&&)>& fn) const {
  int64_t index = 0;
  for (const std::string& f : files_) {
    if (has_ext(f, ".txt")) {
      CorpusDocument doc;
      doc.text = read_text_file(f);
      doc.domain = fs::absolute(f).parent_path().filename().string();
      doc.where = f;
      check_domain_name(doc.domain, "corpus file '" + f + "' (domain = its folder's name)");
      fn(index++, std::move(doc));
      continue;
    }
    const std::string text = read_text_file(f);
    for_each_line(text, [&](int64_t line_no, std::string_view line) {
      if (blank(line)) return;
      const std::string where = f + ":" + std::to_string(line_no);
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::parse_error& e) {
        SF_FAIL() << where << ": not a JSON object (column " << e.byte << "): " << e.what();
      }
      SF_CHECK(j.is_object()) << where << ": expected a JSON object {\"text\": ...}, got "
                              << escape_bytes(j.dump(), 40);
      auto t = j.find("text");
      SF_CHECK(t != j.end() && t->is_string()) << where << ": \"text\" missing or not a string";
      CorpusDocument doc;
      doc.text = t->get<std::string>();
      doc.where = where;
      auto d = j.find("domain");
      if (d == j.end() || d->is_null()) {
        doc.domain = kDefaultDomain;
      } else {
        SF_CHECK(d->is_string()) << where << ": \"domain\" must be a string";
        doc.domain = d->get<std::string>();
        check_domain_name(doc.domain, where);
      }
      fn(index++, std::move(doc));
    });
  }
}

}  // namespace seekforge::data
