// `data dedup` over a JSONL file: see dedup_file.h.
#include "data/dedup_file.h"

#include "core/error.h"
#include "core/threads.h"
#include "data/documents.h"
#include "data/file_io.h"
#include "data/text_normalize.h"

namespace seekforge::data {

DedupFileSummary dedup_jsonl_file(const std::string& in, const std::string& out,
                                  const std::string& dropped, const DedupFileOptions& options) {
  if (options.near) validate_near_options(*options.near, "");
  std::vector<Document> docs = read_jsonl(in, /*keep_raw_lines=*/true);
  SF_CHECK(!docs.empty()) << "input '" << in << "' holds no documents";
  check_unique_ids(docs, in);
  const auto n = static_cast<int64_t>(docs.size());
  std::vector<std::string> keys(docs.size());
#pragma omp parallel for schedule(dynamic, 64) num_threads(num_threads())
  for (int64_t i = 0; i < n; ++i) keys[i] = normalize_text(docs[i].text);

  // Stage 1 (exact) sees every text; stage 2 (near) only the survivors of stage 1.
  std::vector<int64_t> dup_of(docs.size(), -1);
  std::vector<int64_t> alive;
  DedupFileSummary s;
  s.in = n;
  if (options.exact) {
    const std::vector<int64_t> d = find_exact_duplicates({keys.begin(), keys.end()});
    for (int64_t i = 0; i < n; ++i) {
      if (d[i] >= 0) {
        dup_of[i] = d[i];
        ++s.exact_dropped;
      } else {
        alive.push_back(i);
      }
    }
  } else {
    for (int64_t i = 0; i < n; ++i) alive.push_back(i);
  }
  if (options.near) {
    std::vector<std::string_view> texts;
    texts.reserve(alive.size());
    for (int64_t i : alive) texts.push_back(keys[i]);
    const NearDedupResult r = find_near_duplicates(texts, *options.near);
    for (size_t k = 0; k < alive.size(); ++k) {
      if (r.duplicate_of[k] < 0) continue;
      dup_of[alive[k]] = alive[r.duplicate_of[k]];
      ++s.near_dropped;
    }
  }
  // An exact copy of a text that stage 2 dropped points at what that text duplicates: a
  // duplicate_of always names a kept document.
  for (int64_t i = 0; i < n; ++i)
    if (dup_of[i] >= 0 && dup_of[dup_of[i]] >= 0) dup_of[i] = dup_of[dup_of[i]];
  std::string kept_text, dropped_text;
  for (int64_t i = 0; i < n; ++i) {
    if (dup_of[i] < 0) {
      kept_text += docs[i].raw_line;
      kept_text += '\n';
      ++s.kept;
    } else {
      nlohmann::json j = nlohmann::json::parse(docs[i].raw_line);
      j["duplicate_of"] = docs[dup_of[i]].id;
      dropped_text += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      dropped_text += '\n';
    }
  }
  write_file_atomic(out, kept_text);
  write_file_atomic(dropped, dropped_text);
  return s;
}

}  // namespace seekforge::data
