// Tests of the byte-level BPE tokenizer: the byte table, pre-tokenisation (including invalid
// UTF-8), merges by rank against a naive reference, round trips on random bytes, chunked
// encoding, special tokens, training on a toy corpus, our JSON and Hugging Face round trips,
// tiktoken import, and every bad-input error.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "data/bpe.h"
#include "data/bpe_train.h"
#include "data/byte_table.h"
#include "data/pretokenize.h"
#include "data/temp_dir.h"
#include "data/tokenizer_io.h"

namespace seekforge::data {
namespace {

using testing::expect_error;
using testing::TempDir;
using testing::write_bytes;

std::vector<std::string> split(const Pretokenizer& p, std::string_view text) {
  std::vector<std::string_view> v;
  p.split(text, v);
  return {v.begin(), v.end()};
}

std::string random_bytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) {
    const uint64_t r = rng();
    // Mostly text-like bytes, with UTF-8 lead and continuation bytes in odd orders.
    switch (r % 4) {
      case 0:
        c = char(' ' + (r >> 8) % 95);
        break;
      case 1:
        c = " \n\t"[(r >> 8) % 3];
        break;
      case 2:
        c = char(0x80 + (r >> 8) % 0x80);
        break;
      default:
        c = char((r >> 8) & 0xFF);
        break;
    }
  }
  return s;
}

// A small corpus with letters, digits, punctuation, spaces and some multi-byte text.
std::string toy_corpus() {
  std::string s;
  const char* words[] = {"the",  "cat",  "sat",   "on",    "mat",  "and", "then", "it's", "ran",
                         "2024", "3.14", "héllo", "wörld", "中文", "字",  "🙂", "==>",  "  "};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 4000; ++i) {
    s += words[rng() % std::size(words)];
    s += (rng() % 11 == 0) ? "\n" : " ";
  }
  return s;
}

Tokenizer toy_tokenizer(const std::string& pattern = "gpt2", int64_t vocab = 400) {
  TrainOptions opt;
  opt.vocab_size = vocab;
  opt.pattern = pattern;
  const std::string c = toy_corpus();
  return train_bpe({c}, opt);
}

// Reference BPE for merges mode: the lowest-ranked adjacent pair, leftmost first, until none.
std::vector<uint32_t> naive_encode_piece(const Tokenizer& t, std::string_view piece) {
  std::map<std::pair<uint32_t, uint32_t>, size_t> rank;
  for (size_t r = 0; r < t.merges().size(); ++r) rank.emplace(t.merges()[r], r);
  std::vector<uint32_t> s;
  for (char c : piece) s.push_back(uint32_t(t.token_id(std::string(1, c))));
  for (;;) {
    size_t best = s.size(), best_rank = SIZE_MAX;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      auto it = rank.find({s[i], s[i + 1]});
      if (it != rank.end() && it->second < best_rank) {
        best_rank = it->second;
        best = i;
      }
    }
    if (best == s.size()) break;
    const auto [a, b] = t.merges()[best_rank];
    s[best] = uint32_t(t.token_id(t.tokens()[a] + t.tokens()[b]));
    s.erase(s.begin() + best + 1);
  }
  return s;
}

// Bytes, then "ab", "bc", "abc", "cd" as tokens; merges in the given order.
Tokenizer hand_made(const std::vector<std::pair<std::string, std::string>>& merges,
                    MergeMode mode = MergeMode::merges) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(std::string(1, char(b)));
  std::vector<MergePair> m;
  auto id = [&](const std::string& s) {
    for (uint32_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == s) return i;
    return uint32_t(~0u);
  };
  for (const auto& [a, b] : merges) {
    if (id(a + b) == ~0u) tokens.push_back(a + b);
    m.push_back({id(a), id(b)});
  }
  if (mode == MergeMode::ranks) m.clear();
  return Tokenizer(tokens, m, mode, Pretokenizer::named("gpt2"), {});
}

TEST(TokenizerByteTable, RoundTripsEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(char(b));
  const std::string u = bytes_to_unicode(all);
  auto back = unicode_to_bytes(u);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, all);
  EXPECT_EQ(uint32_t(byte_to_codepoint('A')), uint32_t('A'));
  EXPECT_EQ(uint32_t(byte_to_codepoint(' ')), 0x120u);  // GPT-2's "Ġ"
  EXPECT_EQ(bytes_to_unicode(" the"), "\xC4\xA0the");
  std::vector<bool> seen(0x200, false);
  for (int b = 0; b < 256; ++b) {
    const char32_t cp = byte_to_codepoint(uint8_t(b));
    ASSERT_LT(cp, 0x200u);
    EXPECT_FALSE(seen[cp]) << "code point used twice: " << uint32_t(cp);
    seen[cp] = true;
  }
  EXPECT_FALSE(unicode_to_bytes("\xE4\xB8\xAD").has_value());  // 中 is not in the table
  EXPECT_FALSE(unicode_to_bytes("\xC1\xA1").has_value());      // overlong 'a'
}

TEST(TokenizerPretokenize, NamedPatternsSplitAsTheEncodingsDo) {
  const Pretokenizer gpt2 = Pretokenizer::named("gpt2");
  EXPECT_EQ(split(gpt2, "Hello world's 12345  x\n"),
            (std::vector<std::string>{"Hello", " world", "'s", " 12345", " ", " x", "\n"}));
  const Pretokenizer cl = Pretokenizer::named("cl100k");
  EXPECT_EQ(split(cl, "I'LL pay 12345!\n\n  "),
            (std::vector<std::string>{"I", "'LL", " pay", " ", "123", "45", "!\n\n", "  "}));
  const Pretokenizer o2 = Pretokenizer::named("o200k");
  EXPECT_EQ(split(o2, "HelloWorld don't"), (std::vector<std::string>{"Hello", "World", " don't"}));
  EXPECT_EQ(gpt2.name(), "gpt2");
  EXPECT_EQ(Pretokenizer::from_regex(named_pattern_regex("cl100k")).name(), "cl100k");
  EXPECT_TRUE(Pretokenizer::from_regex(R"(\w+|\W)").name().empty());
}

TEST(TokenizerPretokenize, InvalidUtf8BytesArePiecesOfTheirOwn) {
  const Pretokenizer p = Pretokenizer::named("gpt2");
  EXPECT_EQ(split(p,
                  "ab\xFF"
                  "cd\xC3"),
            (std::vector<std::string>{"ab", "\xFF", "cd", "\xC3"}));
  EXPECT_EQ(split(p, "\xED\xA0\x80x"),  // an encoded surrogate: three invalid bytes
            (std::vector<std::string>{"\xED", "\xA0", "\x80", "x"}));
  EXPECT_EQ(valid_utf8_prefix("h\xC3\xA9\xF0\x9F\x99\x82"
                              "a\xF4\x90"),
            8u);
  std::mt19937_64 rng(1);
  for (const char* name : {"gpt2", "cl100k", "o200k"}) {
    const Pretokenizer q = Pretokenizer::named(name);
    for (int i = 0; i < 200; ++i) {
      const std::string s = random_bytes(rng, rng() % 300);
      std::string joined;
      for (const auto& piece : split(q, s)) {
        EXPECT_FALSE(piece.empty());
        joined += piece;
      }
      ASSERT_EQ(joined, s) << name;
    }
  }
}

TEST(TokenizerPretokenize, CustomRegexGapsAndEmptyMatchesStillCoverTheText) {
  const Pretokenizer p = Pretokenizer::from_regex("[a-z]*");
  EXPECT_EQ(split(p, "ab12cd"), (std::vector<std::string>{"ab", "12", "cd"}));
}

TEST(TokenizerPretokenize, ChunkStartsAreCutPoints) {
  const std::string text = "aaa\nbbb\n\nccc.\nddd\n eee";
  const std::vector<size_t> s = chunk_starts(text, 2);
  EXPECT_EQ(s, (std::vector<size_t>{0, 4, 14}));
}

TEST(TokenizerPretokenize, BadPatternsAreNamed) {
  expect_error([] { Pretokenizer::from_regex("(ab"); },
               {"invalid pre-tokenisation regex '(ab'", "missing closing parenthesis", "offset 3"});
  expect_error([] { Pretokenizer::named("gpt5"); },
               {"unknown pre-tokenisation pattern 'gpt5'", "gpt2, cl100k, o200k"});
}

TEST(TokenizerBpe, MergesApplyByRank) {
  // (a,b) before (b,c): "abc" -> ab + c -> abc.
  Tokenizer t1 = hand_made({{"a", "b"}, {"ab", "c"}, {"b", "c"}});
  std::vector<uint32_t> ids;
  t1.encode_piece("abc", ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{uint32_t(t1.token_id("abc"))}));
  // (b,c) first: "abc" -> a + bc, and no merge (a, bc) exists.
  Tokenizer t2 = hand_made({{"b", "c"}, {"a", "b"}, {"ab", "c"}});
  ids.clear();
  t2.encode_piece("abc", ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{'a', uint32_t(t2.token_id("bc"))}));
  // Equal pairs merge leftmost first: "aaa" -> aa + a.
  Tokenizer t3 = hand_made({{"a", "a"}});
  ids.clear();
  t3.encode_piece("aaa", ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{uint32_t(t3.token_id("aa")), 'a'}));
}

TEST(TokenizerBpe, RankModeMergesByTheRankOfTheResult) {
  // Ranks: "bc" (256) < "ab" (257) < "abc" (258). "abc" is a token: taken whole. "abcb":
  // bc first, then (a, bc) is "abc" -> abc + b.
  Tokenizer t = hand_made({{"b", "c"}, {"a", "b"}, {"ab", "c"}}, MergeMode::ranks);
  EXPECT_EQ(t.encode("abc"), (std::vector<uint32_t>{258}));
  EXPECT_EQ(t.encode("abcb"), (std::vector<uint32_t>{258, 'b'}));
  EXPECT_EQ(t.encode("xabx"), (std::vector<uint32_t>{'x', 257, 'x'}));
}

TEST(TokenizerBpe, MergeLoopMatchesANaiveReferenceOnShortAndLongPieces) {
  const Tokenizer t = toy_tokenizer("gpt2", 500);
  std::mt19937_64 rng(3);
  const std::string alphabet = "thecatsonmdri ";
  for (int i = 0; i < 300; ++i) {
    std::string piece;
    const size_t n = 1 + rng() % (i % 3 == 0 ? 400 : 40);  // both merge paths
    for (size_t k = 0; k < n; ++k) piece.push_back(alphabet[rng() % alphabet.size()]);
    std::vector<uint32_t> ids;
    t.encode_piece(piece, ids);
    ASSERT_EQ(ids, naive_encode_piece(t, piece)) << piece;
  }
}

TEST(TokenizerBpe, DecodeOfEncodeIsIdentityOnRandomBytes) {
  std::mt19937_64 rng(11);
  for (const char* pattern : {"gpt2", "cl100k", "o200k"}) {
    const Tokenizer t = toy_tokenizer(pattern);
    for (int i = 0; i < 300; ++i) {
      const std::string s = random_bytes(rng, rng() % 500);
      const std::vector<uint32_t> ids = t.encode(s);
      ASSERT_EQ(t.decode(ids), s) << pattern;
    }
    const std::string c = toy_corpus();
    EXPECT_EQ(t.decode(t.encode(c)), c);
    EXPECT_LT(t.encode(c).size(), c.size() / 2) << "the merges should compress their own corpus";
  }
}

TEST(TokenizerBpe, ChunkedParallelEncodingEqualsSerial) {
  const Tokenizer t = toy_tokenizer("cl100k");
  std::string text;
  for (int i = 0; i < 20; ++i) text += toy_corpus();
  std::vector<uint32_t> serial;
  t.encode_append(text, serial);
  const int before = num_threads();
  set_num_threads(2);
  const std::vector<uint32_t> chunked = t.encode(text, 4096);
  set_num_threads(before);
  EXPECT_EQ(chunked, serial);
}

TEST(TokenizerBpe, SpecialTokens) {
  const Tokenizer t = toy_tokenizer();
  const int64_t eos = t.special_id("eos");
  ASSERT_GE(eos, 0);
  EXPECT_EQ(t.special_id("<|eos|>"), eos);
  EXPECT_GE(t.special_id("think"), 0);
  EXPECT_GE(t.special_id("</answer>"), 0);
  EXPECT_EQ(t.special_id("nothing"), -1);
  EXPECT_LE(t.vocab_size(), 400);  // the toy corpus runs out of repeated pairs first
  EXPECT_EQ(t.special_tokens().back().id, uint32_t(t.vocab_size() - 1));
  const std::string text = "the cat<|eos|><think>x</think>";
  const std::vector<uint32_t> with = t.encode_with_special(text);
  EXPECT_NE(std::find(with.begin(), with.end(), uint32_t(eos)), with.end());
  EXPECT_EQ(t.decode(with), text);
  const std::vector<uint32_t> plain = t.encode(text);
  EXPECT_EQ(std::find(plain.begin(), plain.end(), uint32_t(eos)), plain.end())
      << "plain encode treats special-token text as text";
  EXPECT_EQ(t.decode(plain), text);
  // Overlapping and repeated specials: "<|eos|><|eos|>" is two ids, "<|eo" alone is text.
  const std::vector<uint32_t> two = t.encode_with_special("a<|eos|><|eos|>b<|eo");
  EXPECT_EQ(std::count(two.begin(), two.end(), uint32_t(eos)), 2);
  EXPECT_EQ(t.decode(two), "a<|eos|><|eos|>b<|eo");
}

TEST(TokenizerTrain, ToyCorpusGivesTheExpectedFirstMerges) {
  TrainOptions opt;
  opt.vocab_size = 1000;
  opt.min_frequency = 2;
  TrainStats st;
  const Tokenizer t = train_bpe({"ab ab ab ab cd cd"}, opt, &st);
  // Words: "ab" x1, " ab" x3, " cd" x2. (a,b) = 4 first; then (" ", ab) = 3; then the tie at 2
  // between (" ", c) and (c, d) goes to the smaller ids, (32, 99).
  ASSERT_EQ(t.merges().size(), 4u);
  EXPECT_EQ(t.tokens()[256], "ab");
  EXPECT_EQ(t.tokens()[257], " ab");
  EXPECT_EQ(t.tokens()[258], " c");
  EXPECT_EQ(t.tokens()[259], " cd");
  EXPECT_EQ(t.merges()[1], (MergePair{' ', 256}));
  EXPECT_EQ(t.special_tokens().front().id, 260u);
  EXPECT_EQ(st.merges, 4);
  EXPECT_EQ(st.unique_words, 3);
  EXPECT_EQ(t.encode("ab cd ab"), (std::vector<uint32_t>{256, 259, 257}));
  opt.min_frequency = 3;
  EXPECT_EQ(train_bpe({"ab ab ab ab cd cd"}, opt).merges().size(), 2u);
}

TEST(TokenizerTrain, StopsAtTheVocabularySizeAndRepeatsExactly) {
  const Tokenizer a = toy_tokenizer("gpt2", 300);
  EXPECT_EQ(a.vocab_size(), 300);
  EXPECT_EQ(a.merges().size(), 300u - 256 - default_special_tokens(0).size());
  const int before = num_threads();
  set_num_threads(2);
  const Tokenizer b = toy_tokenizer("gpt2", 300);
  set_num_threads(before);
  EXPECT_EQ(tokenizer_hash(a), tokenizer_hash(b));
}

TEST(TokenizerIo, OwnJsonRoundTrips) {
  TempDir dir;
  for (const std::string pattern : {"gpt2", R"(\p{L}+|\p{N}|[^\p{L}\p{N}]+)"}) {
    const Tokenizer t = toy_tokenizer(pattern);
    save_tokenizer(t, dir.file("t.json"));
    const Tokenizer u = load_tokenizer(dir.file("t.json"));
    EXPECT_EQ(u.tokens(), t.tokens());
    EXPECT_EQ(u.merges(), t.merges());
    EXPECT_EQ(u.special_tokens(), t.special_tokens());
    EXPECT_EQ(u.pretokenizer().regex(), t.pretokenizer().regex());
    EXPECT_EQ(tokenizer_hash(u), tokenizer_hash(t));
    const std::string c = toy_corpus();
    EXPECT_EQ(u.encode(c), t.encode(c));
  }
  EXPECT_NE(tokenizer_hash(toy_tokenizer("gpt2", 300)), tokenizer_hash(toy_tokenizer("gpt2", 301)));
}

TEST(TokenizerIo, HuggingFaceJsonRoundTrips) {
  TempDir dir;
  for (const char* pattern : {"gpt2", "cl100k"}) {
    const Tokenizer t = toy_tokenizer(pattern);
    export_hf(t, dir.file("tokenizer.json"));
    const nlohmann::json j = nlohmann::json::parse(testing::read_bytes(dir.file("tokenizer.json")));
    EXPECT_EQ(j["model"]["type"], "BPE");
    EXPECT_EQ(j["model"]["vocab"]["\xC4\xA0the"], t.token_id(" the"));
    const Tokenizer u = import_hf(dir.file("tokenizer.json"));
    EXPECT_EQ(u.tokens(), t.tokens());
    EXPECT_EQ(u.merges(), t.merges());
    EXPECT_EQ(u.pretokenizer().name(), pattern);
    ASSERT_EQ(u.special_tokens().size(), t.special_tokens().size());
    EXPECT_EQ(u.special_tokens(), t.special_tokens());
    EXPECT_EQ(tokenizer_hash(u), tokenizer_hash(t));
    const std::string c = toy_corpus();
    EXPECT_EQ(u.encode(c), t.encode(c));
  }
}

TEST(TokenizerIo, HuggingFaceImportAcceptsStringMergesAndSpecialsInVocab) {
  TempDir dir;
  // A GPT-2-like file: merges as "a b" strings, <|endoftext|> both in the vocabulary and added.
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[bytes_to_unicode(std::string(1, char(b)))] = b;
  vocab["\xC4\xA0t"] = 256;
  vocab["\xC4\xA0th"] = 257;
  vocab["<|endoftext|>"] = 258;
  nlohmann::json j = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"\xC4\xA0 t", "\xC4\xA0t h"}}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
      {"added_tokens", {{{"id", 258}, {"content", "<|endoftext|>"}, {"special", true}}}}};
  write_bytes(dir.file("tokenizer.json"), j.dump());
  const Tokenizer t = import_hf(dir.file("tokenizer.json"));
  EXPECT_EQ(t.encode(" the"), (std::vector<uint32_t>{257, 'e'}));
  EXPECT_EQ(t.special_id("<|endoftext|>"), 258);
  EXPECT_EQ(t.decode(std::vector<uint32_t>{258}), "<|endoftext|>");
}

std::string b64(const std::string& s) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < s.size(); i += 3) {
    uint32_t w = uint32_t(uint8_t(s[i])) << 16;
    if (i + 1 < s.size()) w |= uint32_t(uint8_t(s[i + 1])) << 8;
    if (i + 2 < s.size()) w |= uint8_t(s[i + 2]);
    out += a[w >> 18];
    out += a[(w >> 12) & 63];
    out += i + 1 < s.size() ? a[(w >> 6) & 63] : '=';
    out += i + 2 < s.size() ? a[w & 63] : '=';
  }
  return out;
}

std::string tiktoken_text(const std::vector<std::string>& extra) {
  std::string text;
  int rank = 0;
  for (int b = 0; b < 256; ++b)
    text += b64(std::string(1, char(b))) + " " + std::to_string(rank++) + "\n";
  for (const auto& e : extra) text += b64(e) + " " + std::to_string(rank++) + "\n";
  return text;
}

TEST(TokenizerIo, TiktokenImport) {
  TempDir dir;
  write_bytes(dir.file("t.tiktoken"), tiktoken_text({"he", "ll", "hell", "hello", " w"}));
  const Tokenizer t = import_tiktoken(dir.file("t.tiktoken"), "gpt2");
  EXPECT_EQ(t.mode(), MergeMode::ranks);
  EXPECT_EQ(t.encode("hello"), (std::vector<uint32_t>{259}));
  // he, ll, hell, hello by rank; then (hello, o) is no token.
  EXPECT_EQ(t.encode("helloo wx"), (std::vector<uint32_t>{259, 'o', 260, 'x'}));
  EXPECT_EQ(t.encode("hel"), (std::vector<uint32_t>{256, 'l'}));
  EXPECT_EQ(t.special_id("<|endoftext|>"), 50256);
  EXPECT_EQ(t.vocab_size(), 50257);
  save_tokenizer(t, dir.file("t.json"));
  const Tokenizer u = load_tokenizer(dir.file("t.json"));
  EXPECT_EQ(u.mode(), MergeMode::ranks);
  EXPECT_EQ(tokenizer_hash(u), tokenizer_hash(t));
  // Exported to Hugging Face as a merge list, it encodes the same.
  export_hf(t, dir.file("hf.json"));
  const Tokenizer h = import_hf(dir.file("hf.json"));
  const std::string s = "hello hell he wh ll hello";
  EXPECT_EQ(h.encode(s), t.encode(s));
}

TEST(TokenizerErrors, MalformedTiktokenFilesNameTheLine) {
  TempDir dir;
  const std::string path = dir.file("bad.tiktoken");
  write_bytes(path, tiktoken_text({}) + "aGk=\n");
  expect_error([&] { import_tiktoken(path, "gpt2"); }, {path, "line 257", "expected"});
  write_bytes(path, tiktoken_text({}) + "a$k= 256\n");
  expect_error([&] { import_tiktoken(path, "gpt2"); }, {"line 257", "not base64"});
  write_bytes(path, tiktoken_text({}) + "aGk= 12x\n");
  expect_error([&] { import_tiktoken(path, "gpt2"); }, {"line 257", "rank '12x'"});
  write_bytes(path, tiktoken_text({}) + "aGk= 3\n");
  expect_error([&] { import_tiktoken(path, "gpt2"); }, {"line 257", "rank 3 appears twice"});
  write_bytes(path, tiktoken_text({}) + "YQ== 256\n");
  expect_error([&] { import_tiktoken(path, "gpt2"); }, {"line 257", "already appeared on line 98"});
  write_bytes(path, "YQ== 0\n");
  expect_error([&] { import_tiktoken(path, "gpt2"); }, {path, "byte 0x\\x00 has no token"});
  write_bytes(path, "");
  expect_error([&] { import_tiktoken(path, "gpt2"); }, {path, "is empty"});
  expect_error([&] { import_tiktoken(dir.file("missing"), "gpt2"); }, {"cannot open", "missing"});
  write_bytes(path, tiktoken_text({}));
  expect_error([&] { import_tiktoken(path, "gpt4"); }, {"unknown pre-tokenisation pattern 'gpt4'"});
}

TEST(TokenizerErrors, MalformedTokenizerJsonIsNamed) {
  TempDir dir;
  const std::string path = dir.file("t.json");
  write_bytes(path, "{\n\"format\": \"seekforge-tokenizer\",\n\"version\": 1,\n]");
  expect_error([&] { load_tokenizer(path); }, {path, "not valid JSON at line 4"});
  write_bytes(path, R"({"format": "other"})");
  expect_error([&] { load_tokenizer(path); }, {path, "format is \"other\""});
  write_bytes(path, R"({"format": "seekforge-tokenizer", "version": 9})");
  expect_error([&] { load_tokenizer(path); }, {path, "unknown format version 9"});
  nlohmann::json j = tokenizer_to_json(toy_tokenizer());
  j["tokens"][300] = "\xE4\xB8\xAD";
  write_bytes(path, j.dump());
  expect_error([&] { load_tokenizer(path); }, {path, "tokens[300]", "not a byte-level token"});
  j = tokenizer_to_json(toy_tokenizer());
  j["merges"][0] = {1, 2};
  write_bytes(path, j.dump());
  expect_error([&] { load_tokenizer(path); }, {path, "merge 0", "not in the vocabulary"});
  j = tokenizer_to_json(toy_tokenizer());
  j["pattern"] = {{"regex", "[a-"}};
  write_bytes(path, j.dump());
  expect_error([&] { load_tokenizer(path); }, {"invalid pre-tokenisation regex '[a-'", "offset"});
  j = tokenizer_to_json(toy_tokenizer());
  j.erase("merges");
  write_bytes(path, j.dump());
  expect_error([&] { load_tokenizer(path); }, {path, "missing field 'merges'"});
  write_bytes(path, "");
  expect_error([&] { load_tokenizer(path); }, {path, "is empty"});
  write_bytes(path, R"({"model": {"type": "WordPiece"}})");
  expect_error([&] { import_hf(path); }, {path, "only byte-level BPE"});
}

TEST(TokenizerErrors, BadTrainingInputsAreRefused) {
  TempDir dir;
  TrainOptions opt;
  opt.vocab_size = 300;
  write_bytes(dir.file("empty.txt"), "");
  expect_error([&] { train_bpe_files({dir.file("empty.txt")}, opt); }, {"empty.txt", "is empty"});
  write_bytes(dir.file("bin.dat"), std::string("abc\0def", 7));
  expect_error([&] { train_bpe_files({dir.file("bin.dat")}, opt); },
               {"bin.dat", "NUL byte at offset 3", "binary"});
  expect_error([&] { train_bpe_files({dir.file("nope.txt")}, opt); }, {"cannot open", "nope.txt"});
  expect_error([&] { train_bpe_files({}, opt); }, {"no input files"});
  write_bytes(dir.file("ok.txt"), "some text");
  opt.vocab_size = 260;
  expect_error([&] { train_bpe_files({dir.file("ok.txt")}, opt); },
               {"vocabulary size 260 is smaller than the 256 byte tokens plus the 10 special"});
  opt.vocab_size = 300;
  opt.pattern = "(unclosed";
  expect_error([&] { train_bpe_files({dir.file("ok.txt")}, opt); },
               {"invalid pre-tokenisation regex '(unclosed'", "offset 9"});
}

TEST(TokenizerErrors, DecodeRefusesUnknownIds) {
  const Tokenizer t = toy_tokenizer();
  expect_error(
      [&] {
        t.decode(std::vector<uint32_t>{1, 2, 99999});
      },
      {"id 99999 at position 2 is not in the vocabulary"});
}

TEST(TokenizerErrors, ConstructorChecksTheVocabulary) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(std::string(1, char(b)));
  tokens.push_back("a");
  expect_error(
      [&] { Tokenizer(tokens, {}, MergeMode::ranks, Pretokenizer::named("gpt2"), {}, "x"); },
      {"x: ids 97 and 256 are the same token 'a'"});
  tokens.pop_back();
  expect_error(
      [&] {
        Tokenizer(tokens, {}, MergeMode::ranks, Pretokenizer::named("gpt2"), {{5, "<s>", ""}}, "x");
      },
      {"special token '<s>' has id 5"});
}

}  // namespace
}  // namespace seekforge::data
