#include "data/chat.h"

#include "core/error.h"

namespace seekforge::data {

Tokenizer byte_chat_tokenizer() {
  std::vector<std::string> tokens(256);
  for (int b = 0; b < 256; ++b) tokens[b] = std::string(1, static_cast<char>(b));
  std::vector<SpecialToken> specials = default_special_tokens(256);
  tokens.resize(256 + specials.size());  // special ids are not BPE tokens: empty entries
  return Tokenizer(std::move(tokens), {}, MergeMode::merges, Pretokenizer::named("gpt2"),
                   std::move(specials), "byte chat tokenizer");
}

ChatTokens chat_tokens(const Tokenizer& tokenizer) {
  auto need = [&](const char* role) {
    const int64_t id = tokenizer.special_id(role);
    SF_CHECK(id >= 0) << "the tokenizer has no '" << role
                      << "' special token, which the chat template needs (train the tokenizer "
                         "with the default special tokens, or use the byte chat tokenizer)";
    return id;
  };
  ChatTokens t;
  t.bos = need("bos");
  t.eos = need("eos");
  t.user = need("user");
  t.assistant = need("assistant");
  t.think = need("think");
  t.think_end = need("/think");
  t.answer = need("answer");
  t.answer_end = need("/answer");
  return t;
}

std::vector<int64_t> chat_prompt_ids(const Tokenizer& tokenizer, std::string_view prompt) {
  const ChatTokens t = chat_tokens(tokenizer);
  std::vector<int64_t> ids{t.bos, t.user};
  for (uint32_t id : tokenizer.encode(prompt)) ids.push_back(id);
  ids.push_back(t.assistant);
  return ids;
}

std::vector<int64_t> chat_response_ids(const Tokenizer& tokenizer, std::string_view response,
                                       bool add_eos) {
  const ChatTokens t = chat_tokens(tokenizer);
  std::vector<int64_t> ids;
  for (uint32_t id : tokenizer.encode_with_special(response)) ids.push_back(id);
  if (add_eos) ids.push_back(t.eos);
  return ids;
}

}  // namespace seekforge::data
