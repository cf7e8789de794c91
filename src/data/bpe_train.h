// Training a byte-level BPE tokenizer from a text corpus.
//
// The algorithm is linear in the corpus apart from the merge loop, which only touches the words
// a merge changes: the corpus is pre-tokenised once (on all threads) into a word -> count map;
// pair counts are then kept up to date incrementally, with a max-heap of (count, pair) that is
// invalidated lazily and an index pair -> words that may hold it. Each merge takes the most
// frequent pair (ties: the smallest (left id, right id)), so results are deterministic and do not
// depend on the thread count.
//
// Ids: 0..255 are the bytes, then one token per merge in merge order, then the special tokens
// (default_special_tokens()). The vocabulary size asked for counts all three.
//
// What this is not: encoding (bpe.h) or file formats (tokenizer_io.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/bpe.h"

namespace seekforge::data {

struct TrainOptions {
  int64_t vocab_size = 8192;     // bytes + merges + special tokens
  int64_t min_frequency = 2;     // stop when the best pair is rarer than this
  std::string pattern = "gpt2";  // named pre-tokenisation pattern, or a regex
  bool progress = false;         // merges done, rate and time left on stderr
};

struct TrainStats {
  int64_t bytes = 0;         // corpus size
  int64_t unique_words = 0;  // distinct pre-tokenised pieces
  int64_t merges = 0;
  double count_seconds = 0;  // pre-tokenising and counting
  double merge_seconds = 0;
};

// Trains on texts held in memory (`labels` name them in errors; may be empty).
Tokenizer train_bpe(const std::vector<std::string_view>& texts, const TrainOptions& opt,
                    TrainStats* stats = nullptr, const std::vector<std::string>& labels = {});
// Trains on files. Refuses a missing or empty file, and files with NUL bytes (binary).
Tokenizer train_bpe_files(const std::vector<std::string>& paths, const TrainOptions& opt,
                          TrainStats* stats = nullptr);

}  // namespace seekforge::data
