// The cleaning pipeline file (TOML): inputs, output, and an ordered list of stages.
// docs/data-cleaning.md lists every key with its default and range. Unknown keys, wrong types
// and out-of-range values are refused with an error naming the file, the line and the key, e.g.
// "clean.toml:12:13: stage[2].threshold = 1.5: must be in [0, 1]".
//
// Relative paths in the file are relative to the directory of the file itself, so a pipeline
// runs the same from any working directory.
//
// What this is not: the runner (clean_pipeline.h).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "data/augment.h"
#include "data/dedup.h"
#include "data/documents.h"
#include "data/ngram_lm.h"
#include "data/text_normalize.h"

namespace seekforge::data {

struct NormalizeStage {
  bool drop_invalid_utf8 = false;  // invalid_utf8 = "drop" (else "replace": bytes -> U+FFFD)
  NormalizeOptions options;
  bool drop_empty = true;  // a text empty after clean-up is dropped
};

struct ScriptStage {
  double min_latin = 0, max_latin = 1, min_cjk = 0, max_cjk = 1, min_code = 0, max_code = 1;
};

struct LengthStage {
  int64_t min_tokens = 1;
  int64_t max_tokens = 0;  // 0: no upper limit
};

struct ExactDedupStage {};

struct NearDedupStage {
  NearDedupOptions options;
};

struct PerplexityStage {
  std::vector<std::string> reference;  // JSONL (*.jsonl) or text files/directories
  NgramUnit unit = NgramUnit::word;
  int order = 3;
  double max_perplexity = 0;   // > 0: drop texts above it
  double keep_percentile = 0;  // > 0: keep the texts at or below this percentile of perplexity
};

struct DomainStage {
  std::vector<std::string> reference;
  bool kl = false;            // method = "kl" (else "tfidf")
  double min_similarity = 0;  // tfidf: keep similarity >= this (when top_share is 0)
  double max_kl = 0;          // kl: keep divergence <= this (when top_share is 0)
  double top_share = 0;       // > 0: keep this share of the texts, the closest first
  double alpha = 0.01;        // kl: additive smoothing of the domain distribution
};

struct AugmentStage {
  AugmentOptions options;
  std::string synonyms;  // synonym file, "" for none
  int64_t copies = 1;    // augmented copies per document
  bool keep_original = true;
};

using StageSettings = std::variant<NormalizeStage, ScriptStage, LengthStage, ExactDedupStage,
                                   NearDedupStage, PerplexityStage, DomainStage, AugmentStage>;

struct StageConfig {
  std::string type;  // "normalize", "script", "length", "exact_dedup", "near_dedup",
                     // "perplexity", "domain", "augment"
  StageSettings settings;
};

struct CleanConfig {
  std::vector<std::string> jsonl;  // input JSONL files
  std::vector<std::string> text;   // input text files or directories
  TextUnit text_unit = TextUnit::file;
  std::string out_dir;
  int64_t examples = 3;         // dropped examples kept per stage in manifest.json
  int64_t example_chars = 200;  // an example's text is cut to this many bytes
  std::vector<StageConfig> stages;
};

// Parses pipeline TOML; `source` names the file in errors and `base_dir` resolves relative
// paths ("" leaves them as they are).
CleanConfig parse_clean_config(const std::string& toml_text, const std::string& source,
                               const std::string& base_dir = "");
CleanConfig load_clean_config(const std::string& path);

}  // namespace seekforge::data
