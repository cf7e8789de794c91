// The cleaning pipeline: reads the inputs a CleanConfig names, runs its stages in order, writes
// cleaned.jsonl and manifest.json to the output directory. Every stage is a filter with
// counters: of the `in` documents it saw, `kept` went on and `dropped` did not (kept + dropped
// = in, always); augmentation also reports the copies it `added`. manifest.json records every
// stage's counts, its own statistics and the first few dropped documents with the reason.
//
// All documents are held in memory: the pipeline is meant for corpora of up to a few GB per run
// (shard a larger corpus and run one pipeline per shard; near-duplicates across shards are then
// missed, which the manifest's counts make visible).
//
// Input text is made valid UTF-8 when read (ill-formed bytes become U+FFFD and are counted per
// document), so every stage sees valid text; the normalize stage decides whether such a
// document is kept (invalid_utf8 = "replace") or dropped ("drop").
//
// What this is not: the tokenizer or the shard writer; the output is text.
//
// Thread safety: one pipeline per call; stages use OpenMP inside.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/clean_config.h"
#include "data/documents.h"
#include "data/words.h"

namespace seekforge::data {

struct PipelineOptions {
  // Length of a text in tokens for the length stage; words.h words until a tokenizer is set.
  TokenCounter token_counter = word_counter();
  std::string token_counter_name = "words";  // recorded in the manifest
};

struct StageReport {
  std::string type;
  int64_t in = 0, kept = 0, dropped = 0, added = 0;
  nlohmann::json counters = nlohmann::json::object();  // stage-specific statistics
  nlohmann::json examples = nlohmann::json::array();   // [{"id", "reason", "text"}]
};

// Runs the stages over docs in place (docs ends as the kept and added documents).
std::vector<StageReport> run_stages(std::vector<Document>& docs,
                                    const std::vector<StageConfig>& stages,
                                    const PipelineOptions& options, int64_t examples = 3,
                                    int64_t example_chars = 200);

// Reads reference texts for the perplexity and domain stages: *.jsonl files as JSONL, anything
// else as a text file or directory read per `unit`; texts are repaired and normalised.
std::vector<std::string> load_reference_texts(const std::vector<std::string>& paths, TextUnit unit);

struct CleanResult {
  int64_t input_docs = 0, output_docs = 0;
  std::vector<StageReport> stages;
  std::string output_file, manifest_file;
};

// The whole job: read, check ids are unique, run, write. Errors name the input (file and line),
// the stage or the key.
CleanResult run_clean_pipeline(const CleanConfig& config, const PipelineOptions& options = {});

}  // namespace seekforge::data
