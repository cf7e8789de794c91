#include "data/chat.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace seekforge::data {
namespace {

TEST(Chat, ByteChatTokenizerHasBytesAndTheChatSpecials) {
  const Tokenizer tok = byte_chat_tokenizer();
  EXPECT_EQ(tok.vocab_size(), kByteChatVocabSize);
  EXPECT_EQ(tok.special_id("bos"), 256);
  EXPECT_EQ(tok.special_id("/answer"), 265);
  const std::string text = "12+34=\xff";
  const auto ids = tok.encode(text);
  ASSERT_EQ(ids.size(), text.size());  // no merges: one id per byte
  EXPECT_EQ(tok.decode(ids), text);
}

TEST(Chat, PromptIsPlainTextBetweenRoleTokens) {
  const Tokenizer tok = byte_chat_tokenizer();
  const ChatTokens t = chat_tokens(tok);
  // A prompt that spells a special token stays plain text.
  const auto ids = chat_prompt_ids(tok, "a<|eos|>");
  ASSERT_EQ(ids.size(), 2u + 8u + 1u);
  EXPECT_EQ(ids[0], t.bos);
  EXPECT_EQ(ids[1], t.user);
  EXPECT_EQ(ids[2], 'a');
  EXPECT_EQ(ids.back(), t.assistant);
  for (size_t i = 2; i + 1 < ids.size(); ++i) EXPECT_LT(ids[i], 256);
}

TEST(Chat, ResponseMarkersAreSingleIdsAndEndWithEos) {
  const Tokenizer tok = byte_chat_tokenizer();
  const ChatTokens t = chat_tokens(tok);
  const auto ids = chat_response_ids(tok, "<think>1</think><answer>7</answer>");
  const std::vector<int64_t> want{t.think, '1', t.think_end, t.answer, '7', t.answer_end, t.eos};
  EXPECT_EQ(ids, want);
  EXPECT_EQ(chat_response_ids(tok, "x", false), std::vector<int64_t>{'x'});
}

TEST(Chat, ATokenizerWithoutChatSpecialsIsRefusedNamingTheRole) {
  std::vector<std::string> tokens(256);
  for (int b = 0; b < 256; ++b) tokens[b] = std::string(1, static_cast<char>(b));
  const Tokenizer plain(tokens, {}, MergeMode::merges, Pretokenizer::named("gpt2"), {});
  try {
    chat_prompt_ids(plain, "hi");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'bos'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace seekforge::data
