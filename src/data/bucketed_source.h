// The bucketed loader: batches of whole documents of similar length, padded to the longest of
// the batch (dynamic padding), for variable-length data (data.loader = "bucketed").
//
// The documents of the split (every shard of "train" or "val"; a document's tokens include the
// eos the tokenizer appended) are cut to seq_len + 1 tokens and sorted by that length into
// `buckets` groups of equal count (length quantiles). Batch c draws its bucket uniformly, then
// each row a document of the bucket, all with the counter-based draws of source_common.h, so
// batch c depends only on (seed, split, c, B, T) and the data, and state() is the counter.
// The batch is [B, W] with W = the longest chosen document minus one (<= seq_len): input_ids
// hold the document then the pad id (manifest stats.tokenize.pad_id, else 0), labels the next
// token or -100 on padding, attention_mask 1 on real tokens and 0 on padding.
//
// What this is not: packing (source.cpp's packed windows) or domain mixing.
//
// Thread safety: like every source, used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "data/source.h"

namespace seekforge::data {

std::unique_ptr<TokenSource> make_bucketed_source(const std::string& dir, int64_t buckets,
                                                  int64_t vocab_size, uint64_t seed, Split split);

}  // namespace seekforge::data
