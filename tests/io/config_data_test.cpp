// Tests of the [data] loader keys (loader, buckets, domain_weights, prefetch) and of the SFT keys
// (data.sft, data.tokenizer, train.init_from): reading, the TOML round trip, --set, and the
// refusals that name the key; and that configs/small-moe-bpe.toml and configs/tiny-chat.toml load.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/error.h"
#include "error_of.h"
#include "io/config.h"

namespace seekforge {
namespace {

using testing::error_of;

const std::string kPath = "[data]\npath = \"d\"\n";

#define EXPECT_CONTAINS(haystack, needle)                                                   \
  do {                                                                                      \
    const std::string h_ = (haystack);                                                      \
    EXPECT_NE(h_.find(needle), std::string::npos) << "'" << (needle) << "' not in: " << h_; \
  } while (0)

TEST(ConfigData, LoaderKeysAreReadAndRoundTrip) {
  const Config c =
      parse_config(kPath + "loader = \"bucketed\"\nbuckets = 4\nprefetch = false\n", "t.toml");
  EXPECT_EQ(c.data.loader, "bucketed");
  EXPECT_EQ(c.data.buckets, 4);
  EXPECT_FALSE(c.data.prefetch);
  const Config d =
      parse_config(kPath + "domain_weights = {prose = 0.7, code = 3, \"a.b\" = 0}\n", "t.toml");
  EXPECT_EQ(d.data.domain_weights,
            (std::map<std::string, double>{{"prose", 0.7}, {"code", 3.0}, {"a.b", 0.0}}));
  EXPECT_TRUE(d.data.prefetch);
  EXPECT_EQ(d.data.loader, "packed");
  const std::string text = config_to_toml(d);
  EXPECT_CONTAINS(text, "domain_weights = { \"a.b\" = 0.0, code = 3.0, prose = 0.7 }\n");
  EXPECT_EQ(parse_config(text, "back.toml"), d);
  EXPECT_EQ(
      parse_config(config_to_toml(Config{}), "x", {"data.synthetic=random"}).data.domain_weights,
      (std::map<std::string, double>{}));
  const Config e = parse_config(kPath, "t.toml", {"data.domain_weights={x = 1}"});
  EXPECT_EQ(e.data.domain_weights, (std::map<std::string, double>{{"x", 1.0}}));
}

TEST(ConfigData, LoaderKeysAreValidatedNamingTheKey) {
  auto err = [](const std::string& text) {
    return error_of([&] { parse_config(text, "t.toml"); });
  };
  EXPECT_CONTAINS(err(kPath + "loader = \"zigzag\"\n"), "data.loader = \"zigzag\": must be one of");
  EXPECT_CONTAINS(err(kPath + "loader = 3\n"), "data.loader = 3: expected a string");
  EXPECT_CONTAINS(err(kPath + "buckets = 0\n"), "data.buckets = 0: must be in [1, 4096]");
  EXPECT_CONTAINS(err(kPath + "prefetch = 1\n"), "data.prefetch = 1: expected a boolean");
  EXPECT_CONTAINS(err(kPath + "domain_weights = 0.5\n"),
                  "data.domain_weights = 0.5: expected a table of numbers");
  EXPECT_CONTAINS(err(kPath + "domain_weights = {a = \"x\"}\n"),
                  "data.domain_weights.a = \"x\": expected a number");
  EXPECT_CONTAINS(err(kPath + "domain_weights = {a = -1}\n"),
                  "data.domain_weights.a = -1.0: must be a finite number >= 0");
  EXPECT_CONTAINS(
      err(kPath + "domain_weights = {a = 0}\n"),
      "data.domain_weights = { a = 0.0 }: must be a table with at least one weight > 0");
  EXPECT_CONTAINS(err("[data]\nsynthetic = \"random\"\ndomain_weights = {a = 1}\n"),
                  "data.domain_weights = { a = 1.0 }: must be empty unless data.path is set");
  EXPECT_CONTAINS(err(kPath + "loader = \"bucketed\"\ndomain_weights = {a = 1}\n"),
                  "with data.loader = \"bucketed\"");
  EXPECT_CONTAINS(err("[data]\nsynthetic = \"random\"\nloader = \"bucketed\"\n"),
                  "data.loader = \"bucketed\": must be \"packed\" unless data.path is set");
  EXPECT_CONTAINS(err(kPath + "bucket = 3\n"),
                  "unknown key 'data.bucket' (did you mean 'data.buckets'?)");
}

TEST(ConfigData, SftKeysAreReadAndRoundTrip) {
  const Config c = parse_config(
      "[train]\ninit_from = \"runs/base/step-000100\"\n[data]\nsft = \"add.jsonl\"\n", "t.toml");
  EXPECT_EQ(c.data.sft, "add.jsonl");
  EXPECT_EQ(c.data.tokenizer, "byte-chat");  // the default
  EXPECT_EQ(c.train.init_from, "runs/base/step-000100");
  const std::string text = config_to_toml(c);
  EXPECT_CONTAINS(text, "text_file = \"\"\nsft = \"add.jsonl\"\ntokenizer = \"byte-chat\"\n");
  EXPECT_CONTAINS(text, "init_from = \"runs/base/step-000100\"\n");
  EXPECT_EQ(parse_config(text, "back.toml"), c);
  // The sft command's overrides: clear the file's source, point at the JSONL and a tokenizer.
  const Config d = parse_config(kPath, "t.toml",
                                {"data.path=", "data.sft=x.jsonl", "data.tokenizer=runs/a/tok.json",
                                 "train.init_from=runs/a/step-000001"});
  EXPECT_EQ(d.data.path, "");
  EXPECT_EQ(d.data.sft, "x.jsonl");
  EXPECT_EQ(d.data.tokenizer, "runs/a/tok.json");
  EXPECT_EQ(d.train.init_from, "runs/a/step-000001");
  EXPECT_EQ(parse_config(kPath, "t.toml").train.init_from, "");
}

TEST(ConfigData, SftKeysAreValidatedNamingTheKey) {
  auto err = [](const std::string& text, const std::vector<std::string>& sets = {}) {
    return error_of([&] { parse_config(text, "t.toml", sets); });
  };
  const std::string sft = "[data]\nsft = \"a.jsonl\"\n";
  EXPECT_CONTAINS(err(kPath + "sft = \"a.jsonl\"\n"),
                  "exactly one of data.path, data.synthetic, data.text_file, data.sft must be set, "
                  "got 2");
  EXPECT_CONTAINS(err(kPath + "tokenizer = \"tok.json\"\n"),
                  "data.tokenizer = \"tok.json\": must be \"byte-chat\" (the default) unless "
                  "data.sft is set");
  EXPECT_CONTAINS(
      err(sft, {"data.tokenizer="}),
      "--set data.tokenizer=: data.tokenizer = \"\": must be \"byte-chat\" or the path");
  EXPECT_CONTAINS(err(sft + "tokenizer = 3\n"), "data.tokenizer = 3: expected a string");
  EXPECT_CONTAINS(err(sft + "[train]\ninit_from = false\n"),
                  "train.init_from = false: expected a string");
  EXPECT_CONTAINS(err(sft, {"train.init_form=x"}),
                  "unknown key 'train.init_form' (did you mean 'train.init_from'?)");
  EXPECT_CONTAINS(err(sft + "loader = \"bucketed\"\n"),
                  "data.loader = \"bucketed\": must be \"packed\" unless data.path is set");
}

TEST(ConfigData, SmallMoeBpeLoads) {
  const Config c = load_config(std::string(SEEKFORGE_SOURCE_DIR) + "/configs/small-moe-bpe.toml");
  EXPECT_EQ(c.model.vocab_size, 8192);
  EXPECT_EQ(c.data.path, "data/default");
  EXPECT_TRUE(c.model.moe.has_value());
}

}  // namespace
}  // namespace seekforge
