// The dedup stages on their own, over one JSONL file: what `seekforge data dedup` runs.
// Every input line lands in exactly one output: kept lines are copied verbatim to `out`; dropped
// lines go to `dropped` as the same object plus "duplicate_of": <the kept id>. Keys are computed
// on the normalised text (NFC, controls removed, whitespace cleaned), so copies that differ only
// in spacing or composition are exact duplicates; the text written is never changed.
//
// What this is not: the full cleaning pipeline (clean_pipeline.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "data/dedup.h"

namespace seekforge::data {

struct DedupFileOptions {
  bool exact = true;
  std::optional<NearDedupOptions> near = NearDedupOptions{};  // nullopt: exact only
};

struct DedupFileSummary {
  int64_t in = 0, kept = 0, exact_dropped = 0, near_dropped = 0;
};

// Throws naming the file (and line) for a missing or empty input or an invalid line, and for
// ids that appear twice. Outputs are written atomically.
DedupFileSummary dedup_jsonl_file(const std::string& in, const std::string& out,
                                  const std::string& dropped, const DedupFileOptions& options);

}  // namespace seekforge::data
