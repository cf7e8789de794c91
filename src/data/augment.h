// Text augmentation for the cleaning pipeline: random word replacement (each word, with
// probability p_replace, becomes a word drawn uniformly from a vocabulary) and synonym
// replacement (each word that has synonyms, with probability p_synonym, becomes one of them,
// drawn uniformly). Spacing and line breaks between words are kept.
//
// Deterministic: every draw is Philox (core/rng.h) keyed by the seed with (document key, copy,
// word index, draw) in the counter, so the output depends only on the seed and the input, never
// on the thread count or on other documents.
//
// Synonym file: UTF-8 text, one entry per line, "word syn1 syn2 ..." separated by spaces or tabs;
// blank lines and lines starting with '#' are skipped. Lookup is exact (case-sensitive).
//
// What this is not: a paraphraser; no grammar is respected.
//
// Thread safety: an Augmenter is immutable after construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seekforge::data {

using SynonymTable = std::unordered_map<std::string, std::vector<std::string>>;

// Throws naming the file and line for a line with a word but no synonym.
SynonymTable read_synonyms(const std::string& path);

struct AugmentOptions {
  uint64_t seed = 0;
  double p_replace = 0.0;  // [0, 1]
  double p_synonym = 0.0;  // [0, 1]
};

class Augmenter {
 public:
  // `vocabulary` supplies the random replacements (needed when p_replace > 0).
  Augmenter(AugmentOptions options, std::vector<std::string> vocabulary, SynonymTable synonyms);
  // The augmented text; `doc_key` identifies the document (e.g. a hash of its id), `copy`
  // which augmented copy this is. replaced, when not null, receives the words changed.
  std::string augment(std::string_view text, uint64_t doc_key, uint64_t copy,
                      int64_t* replaced = nullptr) const;

 private:
  AugmentOptions options_;
  std::vector<std::string> vocabulary_;
  SynonymTable synonyms_;
};

}  // namespace seekforge::data
