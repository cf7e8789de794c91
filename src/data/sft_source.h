// The supervised fine-tuning source (data.sft): prompt/response pairs from a JSONL file, laid
// out in the chat template (chat.h) with the loss on the response only. It is the cold start of
// R1-style post-training: the model learns to answer in the <think>...</think><answer>...
// </answer> format before RL rewards it.
//
// Input: one JSON object per line with string fields "prompt" and "response" (other keys are
// ignored, blank lines skipped). The whole file is read, checked and tokenized at construction:
// SFT sets are small (thousands to some hundred thousand short examples, megabytes of ids), and
// a bad line is refused naming file:line before the first step, not hours into a run. Refused:
// a line that is not JSON or not an object, a missing or non-string "prompt" or "response",
// invalid UTF-8, an empty file, a split that holds no example.
//
// Rows: ids = chat_prompt_ids(prompt) + chat_response_ids(response) (which ends with eos);
// input_ids = ids[:-1], labels = ids[1:] with -100 where the target is still part of the prompt,
// so the loss counts every response token including the eos (and the assistant marker's
// position, which predicts the first response token). A batch is [B, W], W = its longest row
// (at most seq_len); shorter rows are right-padded with the tokenizer's pad id (its eos when it
// has none), labels -100 and attention_mask 0. An example longer than seq_len + 1 ids is cut to
// seq_len + 1; describe() counts those, and a warning says so once per file, split and seq_len.
//
// Split: an example is in val when a hash of its prompt text (FNV-1a, mixed) falls in the first
// data.val_fraction of the hash range, so the same prompt is always on the same side whatever
// the seed, and duplicates of a prompt never straddle the splits.
//
// Order: the split's N examples are read in epochs, each a fresh permutation. Row b of batch c
// is stream position i = c*B + b: example perm_e[i mod N] with e = i / N, and perm_e is a
// Fisher-Yates shuffle drawn from the counter-based draws of source_common.h with the batch
// counter slot holding the epoch (this source makes no other draw). So batch c depends only on
// (seed, split, c, B, seq_len) and the file, every example is seen once per epoch, and state()
// is the batch counter plus identity checks (file size and hash, tokenizer hash, val_fraction).
//
// What this is not: packing of several examples per row, multi-turn chats, or RL prompts.
//
// Thread safety: like every source, used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "data/bpe.h"
#include "data/source.h"

namespace seekforge::data {

// data.tokenizer's default: the byte chat tokenizer of chat.h.
inline constexpr const char* kByteChatTokenizerName = "byte-chat";

// The tokenizer data.tokenizer names: "byte-chat", or the path of a tokenizer.json in our
// format (tokenizer_io.h). Throws naming the key when the file is missing or the tokenizer lacks
// the chat special tokens.
Tokenizer sft_tokenizer(const std::string& name_or_path);

// Reads `path` (see above) with the tokenizer sft_tokenizer(tokenizer), whose vocab_size must
// not exceed vocab_size. Errors name data.sft, data.tokenizer or file:line.
std::unique_ptr<TokenSource> make_sft_source(const std::string& path, const std::string& tokenizer,
                                             double val_fraction, int64_t vocab_size, uint64_t seed,
                                             Split split);

}  // namespace seekforge::data
