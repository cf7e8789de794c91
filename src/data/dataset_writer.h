// Tokenizing a cleaned corpus into a dataset directory (docs/data-format.md): token shards with
// a document index, split into train and val by document, one set of shards per domain, and a
// manifest.json written last.
//
// Layout: shards are named "<split>-<domain>-NNNN.bin" and hold whole documents of one domain and
// split, at most `shard_tokens` tokens each (a longer document gets a shard of its own). The
// manifest's splits are "train" and "val" (every shard of the split) plus "train/<domain>" and
// "val/<domain>" (that domain's shards), which domain mixing reads; stats.tokenize records the
// counts, the options, the eos and pad ids, and stats.domains the per-domain counts.
//
// Determinism: the val documents are chosen from the document count and the seed alone (Philox
// of (seed, index)); documents are encoded in parallel in blocks but written in input order, so
// the output is the same bytes for any thread count.
//
// Crash safety: each shard is written atomically (write_shard); the manifest is written last,
// atomically, so a directory whose manifest is absent or older than its shards is recognisably
// unfinished. Shards of an earlier run that the new manifest does not list are removed first.
//
// What this is not: reading the corpus (corpus_reader.h) or the batch loaders (source.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "data/bpe.h"
#include "data/shard.h"

namespace seekforge::data {

struct TokenizeOptions {
  double val_fraction = 0.01;               // share of documents in the val split, in [0, 0.5]
  uint64_t seed = 0;                        // chooses the val documents
  int64_t shard_tokens = int64_t{1} << 24;  // bound on a shard's tokens (16M)
  bool progress = false;                    // documents done and rate on stderr
};

struct TokenizeStats {
  int64_t documents = 0;
  int64_t empty_documents = 0;  // no text: skipped
  int64_t bytes = 0;
  int64_t tokens = 0;  // eos tokens included
  int64_t shards = 0;
  double seconds = 0;
};

// The copy of the tokenizer a dataset directory holds (our JSON format).
inline constexpr const char* kDatasetTokenizerFile = "tokenizer.json";

// Reads `input` (a file or directory, corpus_reader.h), encodes every document with `tok` and an
// eos token appended, and writes the dataset into `out_dir` (created if absent), with a copy of
// `tok` as out_dir/tokenizer.json. `tokenizer_label` is recorded in the manifest (e.g. the
// tokenizer file's path). Throws naming the input.
Manifest tokenize_corpus(const std::string& input, const Tokenizer& tok,
                         const std::string& tokenizer_label, const std::string& out_dir,
                         const TokenizeOptions& opt, TokenizeStats* stats = nullptr);

// The documents a split's shards hold, by domain: what `data stats` prints.
struct DomainCounts {
  int64_t docs = 0;
  int64_t tokens = 0;
};
// domain -> counts, for split "train" or "val", from the "<split>/<domain>" splits of the
// manifest (a dataset without them counts as one domain, "all").
std::map<std::string, DomainCounts> domain_counts(const Manifest& m, const std::string& split);

}  // namespace seekforge::data
