// Parity with a reference encoder: our ids for r50k_base, cl100k_base and o200k_base equal those
// of the npm package gpt-tokenizer's own JavaScript encoder, run with node, on ~3 MB of mixed
// text (tests/data/mixed_corpus.h). Skipped, with the reason, when node or the package is
// missing (scripts/fetch-tokenizers installs the package).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/threads.h"
#include "data/bpe.h"
#include "data/mixed_corpus.h"
#include "data/temp_dir.h"
#include "data/tokenizer_io.h"

namespace seekforge::data {
namespace {

std::string package_dir() {
  if (const char* p = std::getenv("SEEKFORGE_GPT_TOKENIZER")) return p;
  std::string cache;
  if (const char* c = std::getenv("SEEKFORGE_CACHE"))
    cache = c;
  else if (const char* h = std::getenv("HOME"))
    cache = std::string(h) + "/.cache/seekforge";
  return cache + "/npm/node_modules/gpt-tokenizer";
}

bool have_node() { return std::system("node --version > /dev/null 2>&1") == 0; }

class TokenizerParity : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(TokenizerParity, IdsEqualGptTokenizer) {
  const auto [encoding, pattern] = GetParam();
  const std::string pkg = package_dir();
  const std::string ranks = pkg + "/data/" + encoding + ".tiktoken";
  if (!have_node()) GTEST_SKIP() << "node is not installed (scripts/setup installs it)";
  if (!std::filesystem::exists(ranks))
    GTEST_SKIP() << ranks << " is missing; run scripts/fetch-tokenizers";

  static const std::string corpus = testing::mixed_corpus();
  testing::TempDir dir;
  testing::write_bytes(dir.file("corpus.txt"), corpus);
  const std::string script =
      std::string(SEEKFORGE_SOURCE_DIR) + "/tests/data/gpt_tokenizer_encode.js";
  const std::string cmd = "node '" + script + "' '" + pkg + "' " + encoding + " '" +
                          dir.file("corpus.txt") + "' '" + dir.file("ids.bin") + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string raw = testing::read_bytes(dir.file("ids.bin"));
  std::vector<uint32_t> want(raw.size() / 4);
  std::memcpy(want.data(), raw.data(), want.size() * 4);

  const Tokenizer t = import_tiktoken(ranks, pattern);
  const std::vector<uint32_t> got = t.encode(corpus);
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  if (i < got.size() || i < want.size()) {
    const size_t from = i >= 8 ? i - 8 : 0;
    std::vector<uint32_t> g(got.begin() + from, got.begin() + std::min(got.size(), i + 8));
    std::vector<uint32_t> w(want.begin() + from, want.begin() + std::min(want.size(), i + 8));
    FAIL() << encoding << ": first difference at id " << i << " of " << want.size() << "; ours '"
           << escape_bytes(t.decode(g), 200) << "', reference '" << escape_bytes(t.decode(w), 200)
           << "'";
  }
  EXPECT_EQ(t.decode(got), corpus);
  // Chunked on two threads, at the cut points, the ids are the same.
  const int threads = num_threads();
  set_num_threads(2);
  EXPECT_EQ(t.encode(corpus, 1 << 16), got);
  set_num_threads(threads);
  std::printf("%s: %zu bytes, %zu ids, equal to gpt-tokenizer\n", encoding, corpus.size(),
              got.size());
}

INSTANTIATE_TEST_SUITE_P(Encodings, TokenizerParity,
                         ::testing::Values(std::make_pair("r50k_base", "gpt2"),
                                           std::make_pair("cl100k_base", "cl100k"),
                                           std::make_pair("o200k_base", "o200k")),
                         [](const auto& info) { return std::string(info.param.first); });

}  // namespace
}  // namespace seekforge::data
