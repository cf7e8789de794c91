// Tests of the SFT source: the loss falls exactly on the response (eos included), padding and
// truncation, epochs that visit every example once, determinism and exact resume through
// state()/set_state() (with and without prefetching), the identity check against another file,
// the split by prompt, and every refusal naming file:line or the key.
#include "data/sft_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/batch_values.h"
#include "data/chat.h"
#include "data/temp_dir.h"
#include "data/tokenizer_io.h"

namespace seekforge::data {
namespace {

using testing::expect_error;
using testing::TempDir;
using testing::write_bytes;

using testing::mask_values;
using testing::values;

std::string line(const std::string& prompt, const std::string& response) {
  return "{\"prompt\": \"" + prompt + "\", \"response\": \"" + response + "\"}\n";
}

// `n` additions "a+b" with a worked response; prompts are distinct.
std::string additions(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    const int a = 10 + i % 90, b = 10 + i / 90;
    text += line(std::to_string(a) + "+" + std::to_string(b),
                 "<think>" + std::to_string(a) + "+" + std::to_string(b) + "</think><answer>" +
                     std::to_string(a + b) + "</answer>");
  }
  return text;
}

DataConfig sft_config(const std::string& path, double val_fraction = 0.0) {
  DataConfig d;
  d.sft = path;
  d.val_fraction = val_fraction;
  return d;
}

std::unique_ptr<TokenSource> source(const std::string& path, double val_fraction = 0.0,
                                    Split split = Split::train, uint64_t seed = 1) {
  return make_source(sft_config(path, val_fraction), kByteChatVocabSize, seed, split);
}

// The prompt text of a row: the plain bytes between <|user|> and <|assistant|>.
std::string prompt_of(const Batch& b, int64_t row) {
  const ChatTokens t = chat_tokens(byte_chat_tokenizer());
  const int64_t W = b.input_ids.shape()[1];
  const auto in = values(b.input_ids);
  std::string text;
  for (int64_t i = 2; i < W && in[size_t(row * W + i)] != t.assistant; ++i)
    text += static_cast<char>(in[size_t(row * W + i)]);
  return text;
}

TEST(SftSource, LossIsOnTheResponseOnlyAndEndsWithEos) {
  TempDir dir;
  write_bytes(dir.file("a.jsonl"), line("12+34", "<think>2+4=6</think><answer>46</answer>"));
  const Tokenizer tok = byte_chat_tokenizer();
  std::vector<int64_t> ids = chat_prompt_ids(tok, "12+34");
  const size_t P = ids.size();
  const std::vector<int64_t> r = chat_response_ids(tok, "<think>2+4=6</think><answer>46</answer>");
  ids.insert(ids.end(), r.begin(), r.end());
  const int64_t n = int64_t(ids.size());

  const Batch b = source(dir.file("a.jsonl"))->next(1, 64);
  ASSERT_EQ(b.input_ids.shape(), (Shape{1, n - 1}));
  ASSERT_EQ(b.labels.shape(), (Shape{1, n - 1}));
  ASSERT_EQ(b.attention_mask.shape(), (Shape{1, n - 1}));
  const auto in = values(b.input_ids), lab = values(b.labels);
  for (int64_t t = 0; t + 1 < n; ++t) {
    EXPECT_EQ(in[size_t(t)], ids[size_t(t)]) << t;
    // Position t predicts ids[t + 1]: counted exactly when that is a response token.
    EXPECT_EQ(lab[size_t(t)], size_t(t) + 1 >= P ? ids[size_t(t) + 1] : kIgnoreLabel) << t;
  }
  EXPECT_EQ(lab[size_t(P) - 2], kIgnoreLabel);            // predicting <|assistant|>: prompt
  EXPECT_EQ(lab[size_t(P) - 1], chat_tokens(tok).think);  // <|assistant|> predicts <think>
  EXPECT_EQ(lab.back(), chat_tokens(tok).eos);
  EXPECT_EQ(mask_values(b.attention_mask), std::vector<uint8_t>(size_t(n - 1), 1));
}

TEST(SftSource, ShortRowsArePaddedToTheLongest) {
  TempDir dir;
  write_bytes(dir.file("a.jsonl"),
              line("1+1", "<answer>2</answer>") +
                  line("11+11", "<think>1+1=2, 1+1=2</think><answer>22</answer>"));
  const Batch b = source(dir.file("a.jsonl"))->next(2, 64);  // one epoch: both examples
  const int64_t W = b.input_ids.shape()[1];
  const int64_t pad = byte_chat_tokenizer().special_id("pad");
  const auto in = values(b.input_ids), lab = values(b.labels);
  const auto mask = mask_values(b.attention_mask);
  std::vector<int64_t> real(2, 0);
  for (int64_t row = 0; row < 2; ++row) {
    for (int64_t t = 0; t < W; ++t) real[size_t(row)] += mask[size_t(row * W + t)];
    for (int64_t t = real[size_t(row)]; t < W; ++t) {
      EXPECT_EQ(in[size_t(row * W + t)], pad);
      EXPECT_EQ(lab[size_t(row * W + t)], kIgnoreLabel);
      EXPECT_EQ(mask[size_t(row * W + t)], 0);
    }
  }
  std::sort(real.begin(), real.end());
  EXPECT_EQ(real[1], W);  // the longest row has no padding
  // bos user "1+1" assistant, then <answer> 2 </answer> eos: 10 ids, 9 positions.
  EXPECT_EQ(real[0], (2 + 3 + 1) + (3 + 1) - 1);
}

TEST(SftSource, LongExamplesAreCutAtSeqLenAndCounted) {
  TempDir dir;
  write_bytes(dir.file("a.jsonl"),
              line("1+1", "<think>" + std::string(40, 'x') + "</think><answer>2</answer>") +
                  line("2+2", "<answer>4</answer>"));
  auto src = source(dir.file("a.jsonl"));
  const Batch b = src->next(2, 10);
  EXPECT_EQ(b.input_ids.shape(), (Shape{2, 10}));
  EXPECT_NE(src->describe().find("1 cut to train.seq_len + 1 = 11 ids"), std::string::npos)
      << src->describe();
  const Tokenizer tok = byte_chat_tokenizer();
  std::vector<int64_t> ids = chat_prompt_ids(tok, "1+1");
  const auto r = chat_response_ids(tok, "<think>" + std::string(40, 'x') + "</think>");
  ids.insert(ids.end(), r.begin(), r.end());
  const auto in = values(b.input_ids), lab = values(b.labels);
  const int64_t row = prompt_of(b, 0) == "1+1" ? 0 : 1;
  for (int64_t t = 0; t < 10; ++t) {
    EXPECT_EQ(in[size_t(row * 10 + t)], ids[size_t(t)]);
    EXPECT_EQ(lab[size_t(row * 10 + t)], t + 1 >= 6 ? ids[size_t(t) + 1] : kIgnoreLabel);
  }
}

TEST(SftSource, EachEpochVisitsEveryExampleOnce) {
  TempDir dir;
  write_bytes(dir.file("a.jsonl"), additions(7));
  auto src = source(dir.file("a.jsonl"));
  std::vector<std::string> first, second;
  for (int i = 0; i < 7; ++i) first.push_back(prompt_of(src->next(1, 64), 0));
  for (int i = 0; i < 7; ++i) second.push_back(prompt_of(src->next(1, 64), 0));
  EXPECT_EQ(std::set<std::string>(first.begin(), first.end()).size(), 7u);
  EXPECT_EQ(std::set<std::string>(second.begin(), second.end()),
            std::set<std::string>(first.begin(), first.end()));
  EXPECT_NE(first, second) << "each epoch draws its own order";
  // Rows of one batch continue the same stream: batch 0 of B = 7 is epoch 0.
  const Batch all = source(dir.file("a.jsonl"))->next(7, 64);
  for (int64_t row = 0; row < 7; ++row) EXPECT_EQ(prompt_of(all, row), first[size_t(row)]);
}

TEST(SftSource, DeterministicAndResumesExactly) {
  TempDir dir;
  write_bytes(dir.file("a.jsonl"), additions(50));
  for (const bool prefetch : {false, true}) {
    SCOPED_TRACE(prefetch ? "prefetching" : "direct");
    DataConfig d = sft_config(dir.file("a.jsonl"), 0.1);
    d.prefetch = prefetch;
    auto a = make_source(d, kByteChatVocabSize, 7, Split::train);
    auto b = make_source(d, kByteChatVocabSize, 7, Split::train);
    for (int i = 0; i < 5; ++i) {
      const Batch x = a->next(4, 32), y = b->next(4, 32);
      EXPECT_EQ(values(x.input_ids), values(y.input_ids));
      EXPECT_EQ(values(x.labels), values(y.labels));
    }
    const nlohmann::json state = a->state();
    EXPECT_EQ(state["kind"], "sft");
    EXPECT_EQ(state["counter"], 5);
    const Batch want = a->next(4, 32);
    auto c = make_source(d, kByteChatVocabSize, 7, Split::train);
    c->set_state(state);
    const Batch got = c->next(4, 32);
    EXPECT_EQ(values(got.input_ids), values(want.input_ids));
    EXPECT_EQ(values(got.labels), values(want.labels));
    EXPECT_EQ(mask_values(got.attention_mask), mask_values(want.attention_mask));
    // Another seed is another order, and its state is not this source's.
    auto other = make_source(d, kByteChatVocabSize, 8, Split::train);
    auto again = make_source(d, kByteChatVocabSize, 7, Split::train);
    EXPECT_NE(values(other->next(4, 32).input_ids), values(again->next(4, 32).input_ids));
    expect_error([&] { other->set_state(state); }, {"\"seed\"", "does not match"});
  }
}

TEST(SftSource, StateOfAnotherFileOrTokenizerIsRefused) {
  TempDir dir;
  write_bytes(dir.file("a.jsonl"), additions(20));
  write_bytes(dir.file("b.jsonl"), additions(21));
  auto a = source(dir.file("a.jsonl"));
  a->next(2, 32);
  const nlohmann::json state = a->state();
  expect_error([&] { source(dir.file("b.jsonl"))->set_state(state); },
               {"set_state", "\"file_hash\"", "does not match"});
  nlohmann::json other_tokenizer = state;
  other_tokenizer["tokenizer_hash"] = "0123456789abcdef";
  expect_error([&] { source(dir.file("a.jsonl"))->set_state(other_tokenizer); },
               {"\"tokenizer_hash\""});
  expect_error(
      [&] {
        source(dir.file("a.jsonl"), 0.0, Split::train)->set_state({{"kind", "sft"}});
      },
      {"\"split\"", "missing"});
}

TEST(SftSource, ValAndTrainSplitByPromptWhateverTheSeed) {
  TempDir dir;
  // Every prompt twice with different responses: both copies must land on the same side.
  std::string text = additions(300);
  for (int i = 0; i < 300; ++i) {
    const int a = 10 + i % 90, b = 10 + i / 90;
    text += line(std::to_string(a) + "+" + std::to_string(b), "<answer>?</answer>");
  }
  write_bytes(dir.file("a.jsonl"), text);
  auto prompts = [&](Split split, uint64_t seed) {
    auto src = source(dir.file("a.jsonl"), 0.2, split, seed);
    std::multiset<std::string> seen;
    const std::string d = src->describe();
    const size_t n = std::stoul(d.substr(d.find("' (") + 3));  // "N of M in the ... split"
    for (size_t i = 0; i < n; ++i) seen.insert(prompt_of(src->next(1, 64), 0));
    return seen;
  };
  const auto train = prompts(Split::train, 1), val = prompts(Split::val, 1);
  EXPECT_EQ(train.size() + val.size(), 600u);
  EXPECT_GT(val.size(), 60u);  // about 0.2 of 600
  EXPECT_LT(val.size(), 180u);
  for (const std::string& p : val) {
    EXPECT_EQ(train.count(p), 0u) << p;
    EXPECT_EQ(val.count(p), 2u) << p;
  }
  EXPECT_EQ(prompts(Split::val, 99), val);
}

TEST(SftSource, BadLinesAreRefusedNamingFileAndLine) {
  TempDir dir;
  const std::string good = line("1+1", "<answer>2</answer>");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"prompt\": \"1+1\", \"response\": }", "not JSON"},
      {"[\"1+1\", \"2\"]", "expected a JSON object"},
      {"{\"response\": \"2\"}", "\"prompt\" is missing"},
      {"{\"prompt\": \"1+1\"}", "\"response\" is missing"},
      {"{\"prompt\": 11, \"response\": \"2\"}", "\"prompt\" must be a string, got number"},
      {"{\"prompt\": \"1+1\", \"response\": null}", "\"response\" must be a string, got null"},
      {"{\"prompt\": \"1\xff+1\", \"response\": \"2\"}", "invalid UTF-8 at byte 14"},
      {"{\"prompt\": \"1+1\", \"response\": \"\xc3\x28\"}", "invalid UTF-8"},
  };
  for (const auto& [bad, fragment] : cases) {
    SCOPED_TRACE(bad);
    write_bytes(dir.file("bad.jsonl"), good + "  \n" + bad + "\n" + good);  // line 3 is bad
    for (const Split split : {Split::train, Split::val})
      expect_error([&] { source(dir.file("bad.jsonl"), 0.5, split); },
                   {dir.file("bad.jsonl") + ":3: ", fragment});
  }
  // Other keys are ignored, CRLF line ends and a missing final newline are fine.
  write_bytes(dir.file("ok.jsonl"),
              "{\"id\": 3, \"prompt\": \"1+1\", \"response\": \"2\", \"x\": [1]}\r\n" + good);
  EXPECT_NE(source(dir.file("ok.jsonl"))->describe().find("2 of 2"), std::string::npos);
}

TEST(SftSource, EmptyFilesAndEmptySplitsAreRefused) {
  TempDir dir;
  write_bytes(dir.file("empty.jsonl"), "");
  expect_error([&] { source(dir.file("empty.jsonl")); }, {"data.sft", "no examples"});
  write_bytes(dir.file("blank.jsonl"), "\n \n\t\n");
  expect_error([&] { source(dir.file("blank.jsonl")); }, {"no examples"});
  write_bytes(dir.file("a.jsonl"), additions(5));
  expect_error([&] { source(dir.file("a.jsonl"), 0.0, Split::val); },
               {"the val split holds none of the 5 examples", "data.val_fraction = 0"});
  expect_error([&] { source(dir.file("nope.jsonl")); }, {"data.sft = '", "no such file"});
}

TEST(SftSource, TokenizerMustFitTheModelAndHaveTheChatSpecials) {
  TempDir dir;
  write_bytes(dir.file("a.jsonl"), additions(5));
  expect_error(
      [&] { make_source(sft_config(dir.file("a.jsonl")), 200, 0, Split::train); },
      {"data.tokenizer = 'byte-chat' has 266 ids", "model.vocab_size = 200 must be >= 266"});
  DataConfig d = sft_config(dir.file("a.jsonl"));
  d.tokenizer = dir.file("missing.json");
  expect_error([&] { make_source(d, 300, 0, Split::train); },
               {"data.tokenizer = '", "no such file"});
  std::vector<std::string> tokens(256);
  for (int b = 0; b < 256; ++b) tokens[size_t(b)] = std::string(1, static_cast<char>(b));
  save_tokenizer(Tokenizer(tokens, {}, MergeMode::merges, Pretokenizer::named("gpt2"), {}),
                 dir.file("plain.json"));
  d.tokenizer = dir.file("plain.json");
  expect_error([&] { make_source(d, 300, 0, Split::train); }, {"cannot be used for SFT", "'bos'"});
  // A tokenizer file with the chat specials reads the same as byte-chat.
  save_tokenizer(byte_chat_tokenizer(), dir.file("chat.json"));
  d.tokenizer = dir.file("chat.json");
  const Batch x = make_source(d, 300, 0, Split::train)->next(3, 64);
  const Batch y = source(dir.file("a.jsonl"), 0.0, Split::train, 0)->next(3, 64);
  EXPECT_EQ(values(x.input_ids), values(y.input_ids));
  EXPECT_EQ(values(x.labels), values(y.labels));
  DataConfig two = sft_config(dir.file("a.jsonl"));
  two.synthetic = "copy";
  expect_error([&] { make_source(two, 300, 0, Split::train); }, {"exactly one of", "data.sft"});
}

}  // namespace
}  // namespace seekforge::data
