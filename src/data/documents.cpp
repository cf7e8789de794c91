// Reading the inputs of the cleaning pipeline: see documents.h.
#include "data/documents.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "core/error.h"
#include "data/text_normalize.h"

namespace seekforge::data {
namespace {

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SF_CHECK(in.good()) << "cannot open input '" << path << "'";
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool blank_line(std::string_view line) {
  return line.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
}

void add_paragraphs(const std::string& id, const std::string& text, std::vector<Document>& out) {
  int n = 0;
  std::string para;
  size_t pos = 0;
  const auto flush = [&] {
    if (!blank_line(para)) {
      Document d;
      d.id = id + "#" + std::to_string(++n);
      d.text = std::move(para);
      out.push_back(std::move(d));
    }
    para.clear();
  };
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    if (blank_line(line)) {
      flush();
    } else {
      para.append(line);
      para += '\n';
    }
    pos = end + 1;
  }
  flush();
}

}  // namespace

std::vector<Document> read_jsonl(const std::string& path, bool keep_raw_lines) {
  SF_CHECK(std::filesystem::is_regular_file(path)) << "input '" << path << "' does not exist";
  std::ifstream in(path, std::ios::binary);
  SF_CHECK(in.good()) << "cannot open input '" << path << "'";
  std::vector<Document> docs;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (blank_line(line)) continue;
    size_t bad = 0;
    std::string repaired = repair_utf8(line, &bad);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(repaired);
    } catch (const nlohmann::json::parse_error& e) {
      SF_FAIL() << path << ":" << line_no << ": invalid JSON: " << e.what();
    }
    SF_CHECK(j.is_object()) << path << ":" << line_no << ": expected a JSON object, got "
                            << j.type_name();
    SF_CHECK(j.contains("id")) << path << ":" << line_no << ": missing \"id\"";
    SF_CHECK(j["id"].is_string() || j["id"].is_number_integer())
        << path << ":" << line_no << ": \"id\" must be a string or an integer";
    SF_CHECK(j.contains("text") && j["text"].is_string())
        << path << ":" << line_no << ": \"text\" must be a string";
    Document d;
    d.id = j["id"];
    d.text = j["text"].get<std::string>();
    if (j.contains("domain")) {
      SF_CHECK(j["domain"].is_string())
          << path << ":" << line_no << ": \"domain\" must be a string";
      d.domain = j["domain"].get<std::string>();
    }
    d.invalid_utf8 = bad;
    if (keep_raw_lines) d.raw_line = bad == 0 ? std::move(line) : std::move(repaired);
    docs.push_back(std::move(d));
  }
  return docs;
}

std::vector<Document> read_text_input(const std::string& path, TextUnit unit) {
  namespace fs = std::filesystem;
  std::error_code ec;
  SF_CHECK(fs::exists(path, ec)) << "input '" << path << "' does not exist";
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (auto it = fs::recursive_directory_iterator(path, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      SF_CHECK(!ec) << "cannot list input directory '" << path << "': " << ec.message();
      if (it->is_regular_file(ec)) files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::vector<Document> docs;
  for (const auto& f : files) {
    std::string text = read_whole(f);
    const size_t first = docs.size();
    if (unit == TextUnit::paragraph) {
      add_paragraphs(f, text, docs);
    } else if (!blank_line(text)) {
      Document d;
      d.id = f;
      d.text = std::move(text);
      docs.push_back(std::move(d));
    }
    // A text file's domain is the name of its folder (data/raw/<domain>/...), as in `data
    // tokenize`, so domains survive cleaning.
    const std::string domain = fs::path(f).parent_path().filename().string();
    for (size_t i = first; i < docs.size(); ++i) docs[i].domain = domain;
  }
  return docs;
}

std::string document_json_line(const Document& doc) {
  nlohmann::json j = {{"id", doc.id}, {"text", doc.text}};
  if (!doc.domain.empty()) j["domain"] = doc.domain;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void check_unique_ids(const std::vector<Document>& docs, const std::string& label) {
  std::unordered_map<std::string, size_t> seen;
  seen.reserve(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    auto [it, fresh] = seen.try_emplace(docs[i].id.dump(), i);
    SF_CHECK(fresh) << label << ": id " << docs[i].id.dump() << " appears twice (documents "
                    << it->second + 1 << " and " << i + 1 << ")";
  }
}

}  // namespace seekforge::data
