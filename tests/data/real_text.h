// Real English text for the cleaning tests and benchmark, gathered at run time from what every
// Debian machine has: the licence texts under /usr/share/common-licenses, then plain-text
// documentation under /usr/share/doc (README*, *.txt, *.md, *.rst; never the per-package
// copyright files, which repeat the same licences hundreds of times). Nothing is downloaded or
// committed. Files are read in sorted path order, so a machine always yields the same text.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "data/text_normalize.h"

namespace seekforge::data::testing {

inline std::vector<std::string> real_text_files() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::set<std::string> seen;
  const auto add_dir = [&](const std::string& dir, bool docs_only) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(
             dir, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec)) continue;
      const std::string name = it->path().filename().string();
      if (docs_only) {
        const bool doc = name.rfind("README", 0) == 0 || name.ends_with(".txt") ||
                         name.ends_with(".md") || name.ends_with(".rst");
        if (!doc) continue;
      }
      if (it->file_size(ec) > (1u << 20)) continue;
      found.push_back(it->path().string());
    }
    std::sort(found.begin(), found.end());
    for (const auto& f : found) {
      const std::string real = fs::weakly_canonical(f, ec).string();
      if (seen.insert(real).second) out.push_back(real);
    }
  };
  add_dir("/usr/share/common-licenses", false);
  add_dir("/usr/share/doc", true);
  return out;
}

// Up to max_bytes of valid UTF-8 text, files separated by blank lines.
inline std::string real_text(size_t max_bytes) {
  std::string all;
  for (const auto& f : real_text_files()) {
    std::ifstream in(f, std::ios::binary);
    std::string s(std::istreambuf_iterator<char>(in), {});
    if (s.empty() || count_invalid_utf8(s) != 0) continue;
    all += s;
    all += "\n\n";
    if (all.size() >= max_bytes) break;
  }
  if (all.size() > max_bytes) all.resize(max_bytes);
  return repair_utf8(all);  // the cut may split a character
}

}  // namespace seekforge::data::testing
