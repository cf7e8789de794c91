// Token sources: the batches a training or evaluation loop consumes, from synthetic tasks, a
// plain text file (bytes as tokens), a tokenized dataset directory (shard.h) or prompt/response
// pairs for supervised fine-tuning (sft_source.h).
//
// Determinism and resumption: batch number c of a source depends only on (seed, split, c, batch
// shape) and the data. Every random choice is drawn with the counter-based Philox of core/rng.h
// keyed by the seed, with the split, the batch counter, the row and the draw index in the counter,
// so a source's whole state is its batch counter, and train and val never share a stream.
// state() also records identity checks (kind, split, seed, data size and hash) that set_state()
// verifies, so a run cannot silently resume on different data.
//
// Layout of a batch: input_ids and labels are i64 [B, T]; labels[b][t] is the token that should
// follow input_ids[b][t], or -100 where the loss ignores the position.
//
// What this is not: a tokenizer or a multi-process loader. Windows of the
// file and dataset sources may cross document boundaries (the tokenizer marks those in-band).
//
// Thread safety: a source is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/tensor.h"
#include "io/config.h"

namespace seekforge::data {

inline constexpr int64_t kIgnoreLabel = -100;

struct Batch {
  Tensor input_ids;  // i64 [B, T]
  Tensor labels;     // i64 [B, T]; kIgnoreLabel = ignored
  // u8 [B, T], 1 = a real token, 0 = padding: set by the bucketed and SFT loaders only (packed
  // rows have no padding). Padding is on the right, so causal attention from real positions never reaches
  // it; the mask is for key-padding masks and for counting real tokens.
  Tensor attention_mask;
};

enum class Split { train, val };
const char* split_name(Split s);

class TokenSource {
 public:
  virtual ~TokenSource();
  // The next batch; advances the counter by one. Throws when the shape does not fit the data
  // (e.g. seq_len + 1 longer than the split) naming the setting.
  virtual Batch next(int64_t batch_size, int64_t seq_len) = 0;
  // Everything needed to resume exactly: {"kind", "split", "seed", "counter", identity...}.
  virtual nlohmann::json state() const = 0;
  // Restores a state() of a source built from the same data and seed; errors name the field.
  virtual void set_state(const nlohmann::json& state) = 0;
  // One line for logs, e.g. "copy task (vocab 64, sep 0, pad 1), train split, batch 12".
  virtual std::string describe() const = 0;
};

// Builds the source chosen by `data` (exactly one of path, synthetic, text_file, sft): synthetic
// "random" | "copy" | "reverse", text_file (vocab_size must be >= 256), sft (prompt/response
// JSONL in the chat template of data.tokenizer, sft_source.h) or path (a dataset whose
// manifest vocab_size must not exceed vocab_size), read as packed windows (optionally mixed by
// data.domain_weights) or, with data.loader = "bucketed", as whole documents in length buckets
// (bucketed_source.h). With data.prefetch the source is wrapped so that the next batch is made
// on a background thread (prefetch.h); the batches are the same. Errors name the config key.
std::unique_ptr<TokenSource> make_source(const DataConfig& data, int64_t vocab_size, uint64_t seed,
                                         Split split);

// The copy/reverse task's special tokens: content tokens are [kCopyFirstContent, vocab_size).
inline constexpr int64_t kCopySeparator = 0;
inline constexpr int64_t kCopyPad = 1;
inline constexpr int64_t kCopyFirstContent = 2;

}  // namespace seekforge::data
