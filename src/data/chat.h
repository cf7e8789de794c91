// The chat template that supervised fine-tuning, RL rollouts and generation share, so a prompt
// reads the same to the model in every job:
//
//   <|bos|><|user|>PROMPT<|assistant|>RESPONSE<|eos|>
//
// The prompt is encoded as plain text (a user cannot smuggle control tokens in); the response
// with its special tokens (<think>, </think>, <answer>, </answer> are single ids), because the
// model writes those markers itself.
//
// byte_chat_tokenizer() is the tokenizer of small models trained on task text (arithmetic,
// Countdown): the 256 bytes, no merges, and the default special tokens at ids 256..265.
//
// Thread safety: free functions over an immutable Tokenizer.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "data/bpe.h"

namespace seekforge::data {

inline constexpr int64_t kByteChatVocabSize = 266;

Tokenizer byte_chat_tokenizer();

// The special tokens a chat template needs, by role; throws naming the missing one.
struct ChatTokens {
  int64_t bos = -1, eos = -1, user = -1, assistant = -1;
  int64_t think = -1, think_end = -1, answer = -1, answer_end = -1;
};
ChatTokens chat_tokens(const Tokenizer& tokenizer);

// bos, user, the prompt's plain ids, assistant: what a completion continues.
std::vector<int64_t> chat_prompt_ids(const Tokenizer& tokenizer, std::string_view prompt);
// The response's ids, special-token strings as their ids, then eos when add_eos.
std::vector<int64_t> chat_response_ids(const Tokenizer& tokenizer, std::string_view response,
                                       bool add_eos = true);

}  // namespace seekforge::data
