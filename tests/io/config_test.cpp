// Tests for the run configuration: defaults, optional tables, the TOML round trip, every class of
// error (each must name the key), --set overrides, and the shipped configs under configs/.
#include "io/config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "error_of.h"

namespace seekforge {
namespace {

// The smallest valid file: every default, plus the one thing without a default (a data source).
const std::string kMinimal = "[data]\nsynthetic = \"random\"\n";

std::string config_path(const std::string& name) {
  return std::string(SEEKFORGE_SOURCE_DIR) + "/configs/" + name;
}

// The message of the seekforge::Error that f throws, or "<no error>".
using testing::error_of;

std::string parse_error(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return error_of([&] { parse_config(text, "test.toml", overrides); });
}

#define EXPECT_CONTAINS(haystack, needle)                                                   \
  do {                                                                                      \
    const std::string h_ = (haystack);                                                      \
    EXPECT_NE(h_.find(needle), std::string::npos) << "'" << (needle) << "' not in: " << h_; \
  } while (0)

TEST(Config, DefaultsFillEveryKeyNotGiven) {
  const Config c = parse_config(kMinimal, "test.toml");
  Config expected;
  expected.data.synthetic = "random";
  EXPECT_EQ(c, expected);
  EXPECT_EQ(c.model.vocab_size, 8192);
  EXPECT_EQ(c.model.attention, "mha");
  EXPECT_FALSE(c.model.moe.has_value());
  EXPECT_FALSE(c.model.mla.has_value());
  EXPECT_FALSE(c.model.mtp.has_value());
  EXPECT_EQ(c.train.lr, 3e-4);
  EXPECT_EQ(c.train.schedule, "cosine");
  EXPECT_EQ(c.data.val_fraction, 0.05);
}

TEST(Config, NoDataSourceIsRefused) {
  const std::string msg = parse_error("");
  EXPECT_CONTAINS(msg, "test.toml");
  EXPECT_CONTAINS(msg, "data.path");
  EXPECT_CONTAINS(msg, "data.synthetic");
  EXPECT_CONTAINS(msg, "data.text_file");
}

TEST(Config, EmptyTablesTurnFeaturesOnWithDefaults) {
  const Config moe = parse_config("[model.moe]\n" + kMinimal, "t");
  ASSERT_TRUE(moe.model.moe.has_value());
  EXPECT_EQ(*moe.model.moe, MoeConfig{});
  EXPECT_FALSE(moe.model.mla.has_value());
  EXPECT_FALSE(moe.model.mtp.has_value());

  const Config mtp = parse_config("[model.mtp]\n" + kMinimal, "t");
  ASSERT_TRUE(mtp.model.mtp.has_value());
  EXPECT_EQ(*mtp.model.mtp, MtpConfig{});
  EXPECT_FALSE(mtp.model.moe.has_value());

  const Config mla = parse_config("[model]\nattention = \"mla\"\n[model.mla]\n" + kMinimal, "t");
  ASSERT_TRUE(mla.model.mla.has_value());
  EXPECT_EQ(*mla.model.mla, MlaConfig{});
}

TEST(Config, TableValuesAreRead) {
  const Config c = parse_config(
      "[model.moe]\ntop_k = 3\ngate = \"sigmoid\"\nnorm_topk = false\n"
      "[model.mtp]\ndepth = 2\nloss_weight = 0.5\n" +
          kMinimal,
      "t");
  EXPECT_EQ(c.model.moe->top_k, 3);
  EXPECT_EQ(c.model.moe->gate, "sigmoid");
  EXPECT_FALSE(c.model.moe->norm_topk);
  EXPECT_EQ(c.model.mtp->depth, 2);
  EXPECT_EQ(c.model.mtp->loss_weight, 0.5);
}

TEST(Config, MlaAttentionWithoutTableUsesMlaDefaults) {
  const Config c = parse_config("[model]\nattention = \"mla\"\n" + kMinimal, "t");
  ASSERT_TRUE(c.model.mla.has_value());
  EXPECT_EQ(*c.model.mla, MlaConfig{});
}

TEST(Config, MlaTableUnderMhaIsRefused) {
  const std::string msg = parse_error("[model.mla]\n" + kMinimal);
  EXPECT_CONTAINS(msg, "test.toml");
  EXPECT_CONTAINS(msg, "model.attention = \"mha\"");
  EXPECT_CONTAINS(msg, "[model.mla]");
}

TEST(Config, IntegersAreAcceptedForFloats) {
  const Config c = parse_config("[train]\nlr = 1\nmin_lr = 0\n" + kMinimal, "t");
  EXPECT_EQ(c.train.lr, 1.0);
  EXPECT_EQ(c.train.min_lr, 0.0);
}

// ---- errors -----------------------------------------------------------------------------------

TEST(ConfigErrors, UnknownKeySuggestsTheClosest) {
  const std::string msg = parse_error("[model]\nd_modle = 384\n" + kMinimal);
  EXPECT_CONTAINS(msg, "test.toml:2:1: unknown key");
  EXPECT_CONTAINS(msg, "unknown key 'model.d_modle'");
  EXPECT_CONTAINS(msg, "did you mean 'model.d_model'?");

  const std::string moe = parse_error("[model.moe]\ntopk = 2\n" + kMinimal);
  EXPECT_CONTAINS(moe, "'model.moe.topk'");
  EXPECT_CONTAINS(moe, "did you mean 'model.moe.top_k'?");

  // Nothing close: no suggestion.
  const std::string far = parse_error("[train]\nbanana = 1\n" + kMinimal);
  EXPECT_CONTAINS(far, "unknown key 'train.banana'");
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
}

TEST(ConfigErrors, KeyInTheWrongSectionSaysWhereItBelongs) {
  const std::string msg = parse_error("[model]\nlr = 0.1\n" + kMinimal);
  EXPECT_CONTAINS(msg, "unknown key 'model.lr'");
  EXPECT_CONTAINS(msg, "it belongs in [train]");
  const std::string top = parse_error("seed = 1\n" + kMinimal);
  EXPECT_CONTAINS(top, "unknown key 'seed'");
  EXPECT_CONTAINS(top, "it belongs in [train]");
}

TEST(ConfigErrors, UnknownTableSuggestsTheClosest) {
  const std::string msg = parse_error("[trian]\nlr = 0.1\n" + kMinimal);
  EXPECT_CONTAINS(msg, "unknown table [trian]");
  EXPECT_CONTAINS(msg, "did you mean 'train'?");
  const std::string sub = parse_error("[model.moes]\n" + kMinimal);
  EXPECT_CONTAINS(sub, "unknown table [model.moes]");
  EXPECT_CONTAINS(sub, "did you mean 'model.moe'?");
  const std::string not_table = parse_error("[model]\nmoe = true\n" + kMinimal);
  EXPECT_CONTAINS(not_table, "model.moe = true: expected a table");
}

TEST(ConfigErrors, WrongTypeNamesKeyValueAndExpectedType) {
  const std::string str = parse_error("[model]\nd_model = \"abc\"\n" + kMinimal);
  EXPECT_CONTAINS(str, "test.toml:2:11");
  EXPECT_CONTAINS(str, "model.d_model = \"abc\": expected an integer, got a string");

  const std::string flt = parse_error("[model]\nd_model = 384.0\n" + kMinimal);
  EXPECT_CONTAINS(flt, "model.d_model = 384.0: expected an integer, got a float");

  const std::string num = parse_error("[train]\nlr = \"fast\"\n" + kMinimal);
  EXPECT_CONTAINS(num, "train.lr = \"fast\": expected a number, got a string");

  const std::string boolean = parse_error("[model]\ntie_embeddings = 1\n" + kMinimal);
  EXPECT_CONTAINS(boolean, "model.tie_embeddings = 1: expected a boolean");

  const std::string text = parse_error("[data]\nsynthetic = 3\n");
  EXPECT_CONTAINS(text, "data.synthetic = 3: expected a string, got an integer");

  const std::string seed = parse_error("[train]\nseed = -1\n" + kMinimal);
  EXPECT_CONTAINS(seed, "train.seed = -1: must be >= 0");

  const std::string section = parse_error("train = 3\n" + kMinimal);
  EXPECT_CONTAINS(section, "train = 3: expected a table");
}

TEST(ConfigErrors, TomlSyntaxErrorsCarryLineAndColumn) {
  const std::string msg = parse_error("[model]\nd_model = = 3\n");
  EXPECT_CONTAINS(msg, "test.toml:2:");
  EXPECT_CONTAINS(msg, "TOML syntax");
  const std::string dup = parse_error("[train]\nlr = 1.0\nlr = 2.0\n");
  EXPECT_CONTAINS(dup, "test.toml:3:");
}

struct RangeCase {
  std::string override_text;  // applied to a file with [model.moe] and synthetic data
  std::string expected;       // must appear in the message
};

TEST(ConfigErrors, OutOfRangeNamesKeyAndAllowedRange) {
  const std::vector<RangeCase> cases = {
      {"model.vocab_size=1", "model.vocab_size = 1: must be in [2, 2^31)"},
      {"model.vocab_size=2147483648", "model.vocab_size = 2147483648"},
      {"model.d_model=0", "model.d_model = 0: must be >= 1"},
      {"model.n_layers=0", "model.n_layers = 0: must be >= 1"},
      {"model.n_heads=0", "model.n_heads = 0: must be >= 1"},
      {"model.head_dim=63", "model.head_dim = 63: must be even"},
      {"model.max_seq_len=0", "model.max_seq_len = 0"},
      {"model.rope_theta=0", "model.rope_theta = 0.0: must be > 0"},
      {"model.norm_eps=-1e-6", "model.norm_eps = -1e-6: must be > 0"},
      {"model.attention=gqa", "model.attention = \"gqa\": must be one of \"mha\", \"mla\""},
      {"model.window=-1", "model.window = -1: must be >= 0"},
      {"model.d_ff=0", "model.d_ff = 0"},
      {"model.first_dense_layers=7", "model.first_dense_layers = 7: must be in [0, 6]"},
      {"model.first_dense_layers=-1", "model.first_dense_layers = -1"},
      {"model.init_std=-0.1", "model.init_std = -0.1"},
      {"model.moe.top_k=9", "model.moe.top_k = 9: must be in [1, 8] (n_routed_experts)"},
      {"model.moe.top_k=0", "model.moe.top_k = 0"},
      {"model.moe.n_routed_experts=0", "model.moe.n_routed_experts = 0"},
      {"model.moe.n_shared_experts=-1", "model.moe.n_shared_experts = -1"},
      {"model.moe.d_expert=0", "model.moe.d_expert = 0"},
      {"model.moe.gate=relu", "model.moe.gate = \"relu\": must be one of \"softmax\", \"sigmoid\""},
      {"model.moe.routed_scaling_factor=0", "model.moe.routed_scaling_factor = 0.0"},
      {"model.moe.aux_loss_coef=-1", "model.moe.aux_loss_coef = -1.0"},
      {"model.moe.bias_update_speed=-0.1", "model.moe.bias_update_speed = -0.1"},
      {"model.moe.capacity_factor=-1", "model.moe.capacity_factor = -1.0"},
      {"model.mla.kv_lora_rank=0", "model.mla.kv_lora_rank = 0"},
      {"model.mtp.depth=0", "model.mtp.depth = 0: must be >= 1"},
      {"model.mtp.loss_weight=-1", "model.mtp.loss_weight = -1.0"},
      {"train.batch_size=0", "train.batch_size = 0: must be >= 1"},
      {"train.seq_len=0", "train.seq_len = 0"},
      {"train.grad_accum=0", "train.grad_accum = 0: must be >= 1"},
      {"train.max_steps=0", "train.max_steps = 0"},
      {"train.lr=0", "train.lr = 0.0: must be > 0"},
      {"train.min_lr=-1e-5", "train.min_lr = -1e-5: must be in [0, 3e-4] (train.lr)"},
      {"train.min_lr=1", "train.min_lr = 1.0: must be in [0, 3e-4] (train.lr)"},
      {"train.warmup_steps=-1", "train.warmup_steps = -1"},
      {"train.schedule=step", "train.schedule = \"step\": must be one of"},
      {"train.weight_decay=-0.1", "train.weight_decay = -0.1"},
      {"train.beta1=1", "train.beta1 = 1.0: must be in [0, 1)"},
      {"train.beta2=-0.5", "train.beta2 = -0.5: must be in [0, 1)"},
      {"train.eps=0", "train.eps = 0.0: must be > 0"},
      {"train.clip_grad_norm=-1", "train.clip_grad_norm = -1.0"},
      {"train.label_smoothing=1", "train.label_smoothing = 1.0: must be in [0, 1)"},
      {"train.eval_every=-1", "train.eval_every = -1"},
      {"train.eval_steps=0", "train.eval_steps = 0"},
      {"train.checkpoint_every=-1", "train.checkpoint_every = -1"},
      {"train.keep_checkpoints=0", "train.keep_checkpoints = 0: must be >= 1"},
      {"train.out_dir=", "train.out_dir = \"\": must be a non-empty path"},
      {"train.log_every=0", "train.log_every = 0"},
      {"train.early_stop_patience=-1", "train.early_stop_patience = -1"},
      {"train.grad_norm_alarm=0", "train.grad_norm_alarm = 0.0"},
      {"train.max_bad_steps=0", "train.max_bad_steps = 0"},
      {"train.checkpoint_activations=blocks",
       "train.checkpoint_activations = \"blocks\": must be one of \"none\", \"attention\", "
       "\"block\""},
      {"data.synthetic=zeros", "data.synthetic = \"zeros\": must be one of"},
      {"data.val_fraction=0.6", "data.val_fraction = 0.6: must be in [0, 0.5]"},
      {"data.val_fraction=-0.1", "data.val_fraction = -0.1"},
      {"train.lr=inf", "train.lr = inf: must be a finite number"},
      {"model.moe.aux_loss_coef=nan", "model.moe.aux_loss_coef = nan: must be a finite number"},
  };
  const std::string file = "[model.moe]\n[model.mtp]\n" + kMinimal;
  for (const auto& c : cases) {
    std::vector<std::string> overrides = {c.override_text};
    if (c.override_text.rfind("model.mla.", 0) == 0) overrides.push_back("model.attention=mla");
    const std::string msg = parse_error(file, overrides);
    EXPECT_EQ(msg.rfind("test.toml: ", 0), 0u) << c.override_text << ": " << msg;
    EXPECT_CONTAINS(msg, c.expected);
  }
}

TEST(ConfigErrors, OutOfRangeInTheFileNamesTheFile) {
  const std::string msg = parse_error("[model.moe]\ntop_k = 9\n" + kMinimal);
  EXPECT_CONTAINS(msg, "test.toml: model.moe.top_k = 9: must be in [1, 8] (n_routed_experts)");
}

TEST(ConfigErrors, Contradictions) {
  const std::string kv = parse_error("[model]\nn_heads = 6\nn_kv_heads = 4\n" + kMinimal);
  EXPECT_CONTAINS(kv, "model.n_kv_heads = 4: must be a divisor of model.n_heads = 6");

  const std::string kv_more = parse_error("[model]\nn_heads = 4\nn_kv_heads = 8\n" + kMinimal);
  EXPECT_CONTAINS(kv_more, "model.n_kv_heads = 8: must be in [1, 4]");

  const std::string seq =
      parse_error("[model]\nmax_seq_len = 128\n[train]\nseq_len = 256\n" + kMinimal);
  EXPECT_CONTAINS(seq, "train.seq_len = 256: must be in [1, 128] (model.max_seq_len)");

  const std::string two = parse_error("[data]\npath = \"shards\"\nsynthetic = \"random\"\n");
  EXPECT_CONTAINS(two, "exactly one of data.path, data.synthetic, data.text_file");
  EXPECT_CONTAINS(two, "path = \"shards\"");
  EXPECT_CONTAINS(two, "synthetic = \"random\"");

  const std::string bytes =
      parse_error("[model]\nvocab_size = 128\n[data]\ntext_file = \"a.txt\"\n");
  EXPECT_CONTAINS(bytes, "model.vocab_size = 128: must be >= 256 with data.text_file");

  const std::string patience =
      parse_error("[train]\neval_every = 0\nearly_stop_patience = 3\n" + kMinimal);
  EXPECT_CONTAINS(patience, "train.early_stop_patience = 3");
  EXPECT_CONTAINS(patience, "train.eval_every = 0");

  const std::string rope =
      parse_error("[model]\nattention = \"mla\"\n[model.mla]\nqk_rope_head_dim = 7\n" + kMinimal);
  EXPECT_CONTAINS(rope, "model.mla.qk_rope_head_dim = 7: must be even");
}

// train.activation_checkpointing (bool) was renamed train.checkpoint_activations (a mode); older
// files, and the config.toml of older runs, still load, and the old key is never written.
TEST(Config, DeprecatedActivationCheckpointingIsReadAsBlock) {
  for (const char* mode : {"none", "attention", "block"}) {
    EXPECT_EQ(parse_config("[train]\ncheckpoint_activations = \"" + std::string(mode) + "\"\n" +
                               kMinimal, "t")
                  .train.checkpoint_activations,
              mode);
  }
  EXPECT_EQ(parse_config(kMinimal, "t").train.checkpoint_activations, "none");
  const Config on = parse_config("[train]\nactivation_checkpointing = true\n" + kMinimal, "t");
  EXPECT_EQ(on.train.checkpoint_activations, "block");
  const std::string written = config_to_toml(on);
  EXPECT_EQ(written.find("activation_checkpointing"), std::string::npos) << written;
  EXPECT_NE(written.find("checkpoint_activations = \"block\"\n"), std::string::npos) << written;
  EXPECT_EQ(parse_config(written, "t"), on);
  // false was the old default, spelled out in every older config.toml: it changes nothing.
  EXPECT_EQ(parse_config("[train]\nactivation_checkpointing = false\n" + kMinimal, "t")
                .train.checkpoint_activations,
            "none");
  EXPECT_EQ(parse_config("[train]\nactivation_checkpointing = false\n"
                         "checkpoint_activations = \"attention\"\n" + kMinimal, "t")
                .train.checkpoint_activations,
            "attention");
  EXPECT_EQ(parse_config("[train]\nactivation_checkpointing = true\n"
                         "checkpoint_activations = \"block\"\n" + kMinimal, "t")
                .train.checkpoint_activations,
            "block");
  EXPECT_EQ(parse_config(kMinimal, "t", {"train.activation_checkpointing=true"})
                .train.checkpoint_activations,
            "block");
}

TEST(ConfigErrors, DeprecatedActivationCheckpointingThatDisagreesIsRefused) {
  const std::string both = parse_error("[train]\nactivation_checkpointing = true\n"
                                       "checkpoint_activations = \"attention\"\n" + kMinimal);
  EXPECT_CONTAINS(both, "test.toml:2:28: train.activation_checkpointing = true (deprecated, the "
                        "same as train.checkpoint_activations = \"block\") disagrees with "
                        "train.checkpoint_activations = \"attention\" (test.toml:3:");
  EXPECT_CONTAINS(both, "keep only train.checkpoint_activations");
  const std::string set = parse_error("[train]\nactivation_checkpointing = true\n" + kMinimal,
                                      {"train.checkpoint_activations=none"});
  EXPECT_CONTAINS(set, "disagrees with train.checkpoint_activations = \"none\" (test.toml: --set "
                       "train.checkpoint_activations=none)");
  EXPECT_CONTAINS(parse_error("[train]\nactivation_checkpointing = \"block\"\n" + kMinimal),
                  "train.activation_checkpointing = \"block\": expected a boolean");
}

TEST(ConfigErrors, MlaIgnoresMhaOnlyKeys) {
  // n_kv_heads and head_dim are not used by mla (docs/model.md), so they are not checked.
  const Config c = parse_config(
      "[model]\nattention = \"mla\"\nn_heads = 8\nn_kv_heads = 3\nhead_dim = 5\n" + kMinimal, "t");
  EXPECT_EQ(c.model.n_heads, 8);
}

TEST(ConfigErrors, ValidateConfigChecksAStructBuiltInCode) {
  Config c;
  c.data.synthetic = "copy";
  EXPECT_NO_THROW(validate_config(c));
  c.model.moe = MoeConfig{};
  c.model.moe->top_k = 9;
  const std::string msg = error_of([&] { validate_config(c); });
  EXPECT_EQ(msg.rfind("model.moe.top_k = 9", 0), 0u) << msg;
  c.model.moe->top_k = 2;
  c.train.seed = ~uint64_t{0};
  EXPECT_CONTAINS(error_of([&] { validate_config(c); }), "train.seed");
}

TEST(ConfigErrors, MissingFileNamesThePath) {
  const std::string msg = error_of([] { load_config("/nonexistent/run.toml"); });
  EXPECT_CONTAINS(msg, "/nonexistent/run.toml");
}

// ---- overrides --------------------------------------------------------------------------------

TEST(ConfigOverrides, SetValuesOfEveryType) {
  const Config c = parse_config(
      kMinimal, "t",
      {"train.lr=1e-3", "train.min_lr = 0", "data.synthetic=copy", "train.out_dir=runs/2024-01-01",
       "model.tie_embeddings=true", "train.seed=42", "model.rope_theta=500000"});
  EXPECT_EQ(c.train.lr, 1e-3);
  EXPECT_EQ(c.train.min_lr, 0.0);
  EXPECT_EQ(c.data.synthetic, "copy");
  EXPECT_EQ(c.train.out_dir, "runs/2024-01-01");  // bare: not read as a TOML date
  EXPECT_TRUE(c.model.tie_embeddings);
  EXPECT_EQ(c.train.seed, 42u);
  EXPECT_EQ(c.model.rope_theta, 500000.0);
}

TEST(ConfigOverrides, QuotedStringsAreTomlStrings) {
  const Config c = parse_config(kMinimal, "t", {"train.out_dir=\"runs/a b\\tc\""});
  EXPECT_EQ(c.train.out_dir, "runs/a b\tc");
  const Config lit = parse_config(kMinimal, "t", {"train.out_dir='C:\\runs'"});
  EXPECT_EQ(lit.train.out_dir, "C:\\runs");
}

TEST(ConfigOverrides, ReplaceFileValuesAndApplyInOrder) {
  const Config c =
      parse_config("[train]\nlr = 0.1\n" + kMinimal, "t", {"train.lr=0.2", "train.lr=0.01"});
  EXPECT_EQ(c.train.lr, 0.01);
}

TEST(ConfigOverrides, SettingAKeyCreatesItsTable) {
  const Config c = parse_config(kMinimal, "t", {"model.moe.top_k=4", "model.moe.gate=sigmoid"});
  ASSERT_TRUE(c.model.moe.has_value());
  EXPECT_EQ(c.model.moe->top_k, 4);
  EXPECT_EQ(c.model.moe->gate, "sigmoid");
  EXPECT_EQ(c.model.moe->n_routed_experts, 8);

  // Even when the file has no [model] at all, and for the other optional tables.
  const Config m =
      parse_config("[data]\npath = \"d\"\n", "t",
                   {"model.mtp.depth=2", "model.attention=mla", "model.mla.kv_lora_rank=32"});
  EXPECT_EQ(m.model.mtp->depth, 2);
  EXPECT_EQ(m.model.mla->kv_lora_rank, 32);
  EXPECT_EQ(m.model.mla->v_head_dim, MlaConfig{}.v_head_dim);
}

TEST(ConfigOverrides, InlineTableTurnsAFeatureOn) {
  const Config c = parse_config(kMinimal, "t", {"model.mtp={}", "model.moe={top_k=1}"});
  EXPECT_EQ(*c.model.mtp, MtpConfig{});
  EXPECT_EQ(c.model.moe->top_k, 1);
  const std::string bad = parse_error(kMinimal, {"model.moe={topk=1}"});
  EXPECT_CONTAINS(bad, "--set model.moe={topk=1}");
  EXPECT_CONTAINS(bad, "did you mean 'model.moe.top_k'?");
}

TEST(ConfigOverrides, EmptyBareStringClearsAString) {
  const Config c =
      parse_config("[data]\npath = \"shards\"\n", "t", {"data.path=", "data.synthetic=reverse"});
  EXPECT_EQ(c.data.path, "");
  EXPECT_EQ(c.data.synthetic, "reverse");
}

TEST(ConfigOverrides, MalformedOverridesNameThemselves) {
  const std::string no_eq = parse_error(kMinimal, {"train.lr"});
  EXPECT_CONTAINS(no_eq, "--set train.lr");
  EXPECT_CONTAINS(no_eq, "expected section.key=value");

  const std::string unknown = parse_error(kMinimal, {"train.lrr=1"});
  EXPECT_CONTAINS(unknown, "--set train.lrr=1");
  EXPECT_CONTAINS(unknown, "unknown key 'train.lrr' (did you mean 'train.lr'?)");

  const std::string section = parse_error(kMinimal, {"trian.lr=1"});
  EXPECT_CONTAINS(section, "unknown section 'trian' (did you mean 'train'?)");

  const std::string bare = parse_error(kMinimal, {"lr=1"});
  EXPECT_CONTAINS(bare, "--set lr=1");
  EXPECT_CONTAINS(bare, "it belongs in [train]");

  const std::string type = parse_error(kMinimal, {"train.lr=abc"});
  EXPECT_CONTAINS(type, "--set train.lr=abc");
  EXPECT_CONTAINS(type, "train.lr");
  EXPECT_CONTAINS(type, "a number");

  const std::string flt = parse_error(kMinimal, {"model.d_model=1.5"});
  EXPECT_CONTAINS(flt, "--set model.d_model=1.5");
  EXPECT_CONTAINS(flt, "model.d_model = 1.5: expected an integer, got a float");

  const std::string empty = parse_error(kMinimal, {"train.max_steps="});
  EXPECT_CONTAINS(empty, "--set train.max_steps=");
  EXPECT_CONTAINS(empty, "an integer");

  const std::string table = parse_error(kMinimal, {"model.moe=4"});
  EXPECT_CONTAINS(table, "model.moe is a table");
}

// ---- round trip -------------------------------------------------------------------------------

void expect_round_trip(const Config& c) {
  const std::string text = config_to_toml(c);
  Config back;
  try {
    back = parse_config(text, "round-trip.toml");
  } catch (const Error& e) {
    FAIL() << e.what() << "\n" << text;
  }
  EXPECT_EQ(back, c) << text;
  EXPECT_EQ(config_to_toml(back), text);
}

TEST(ConfigRoundTrip, ShippedConfigs) {
  for (const char* name : {"tiny.toml", "small-moe.toml", "small-dense.toml"}) {
    SCOPED_TRACE(name);
    expect_round_trip(load_config(config_path(name)));
  }
}

TEST(ConfigRoundTrip, WritesEveryKeyInAStableOrder) {
  const Config c =
      parse_config("[model.moe]\n[model.mtp]\n" + kMinimal, "t", {"model.attention=mla"});
  const std::string text = config_to_toml(c);
  const std::vector<std::string> in_order = {"[model]\n",
                                             "vocab_size = 8192\n",
                                             "init_std = 0.02\n",
                                             "[model.moe]\n",
                                             "capacity_factor = 0.0\n",
                                             "[model.mla]\n",
                                             "q_lora_rank = 0\n",
                                             "[model.mtp]\n",
                                             "loss_weight = 0.3\n",
                                             "[train]\n",
                                             "seed = 0\n",
                                             "checkpoint_activations = \"none\"\n",
                                             "[data]\n",
                                             "path = \"\"\n",
                                             "synthetic = \"random\"\n",
                                             "text_file = \"\"\n",
                                             "val_fraction = 0.05\n"};
  size_t at = 0;
  for (const auto& piece : in_order) {
    const size_t found = text.find(piece, at);
    ASSERT_NE(found, std::string::npos) << piece << " not after offset " << at << " in\n" << text;
    at = found + piece.size();
  }
  expect_round_trip(c);
}

std::string format_17g(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

TEST(ConfigRoundTrip, RandomOverrides) {
  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const std::vector<std::string> string_pieces = {"runs", "/", "a b", "\\", "\"", "é",
                                                  "\t",   "x", "#",   "=",  "'",  "\xe2\x9c\x93"};
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<std::string> o;
    const double lr = std::exp(std::log(1e-5) + unit(rng) * std::log(1e4));
    o.push_back("train.lr=" + format_17g(lr));
    o.push_back("train.min_lr=" + format_17g(lr * unit(rng)));
    o.push_back("train.beta1=" + format_17g(unit(rng) * 0.999));
    o.push_back("train.weight_decay=" + format_17g(unit(rng) * 1e-300));
    o.push_back("train.seed=" + std::to_string(pick(0, INT64_MAX)));
    o.push_back("train.schedule=" + std::string(pick(0, 1) ? "linear" : "constant"));
    o.push_back("model.tie_embeddings=" + std::string(pick(0, 1) ? "true" : "false"));
    o.push_back("model.window=" + std::to_string(pick(0, 1000)));
    o.push_back("data.val_fraction=" + format_17g(unit(rng) * 0.5));
    std::string dir = "r";
    for (int64_t i = pick(0, 8); i > 0; --i) {
      dir += string_pieces[pick(0, static_cast<int64_t>(string_pieces.size()) - 1)];
    }
    dir += "z";  // bare override values are trimmed: keep blanks away from the ends
    o.push_back("train.out_dir=" + dir);
    if (pick(0, 1)) {
      const int64_t experts = pick(1, 64);
      o.push_back("model.moe.n_routed_experts=" + std::to_string(experts));
      o.push_back("model.moe.top_k=" + std::to_string(pick(1, experts)));
      o.push_back("model.moe.gate=" + std::string(pick(0, 1) ? "sigmoid" : "softmax"));
      o.push_back("model.moe.routed_scaling_factor=" + format_17g(0.1 + unit(rng) * 3));
    }
    if (pick(0, 1)) o.push_back("model.mtp.loss_weight=" + format_17g(unit(rng)));
    if (pick(0, 1)) {
      o.push_back("model.attention=mla");
      o.push_back("model.mla.q_lora_rank=" + std::to_string(pick(0, 128)));
    }
    const Config c = parse_config(kMinimal, "t", o);
    EXPECT_EQ(c.train.out_dir, dir);
    expect_round_trip(c);
    if (HasFailure()) {
      for (const auto& s : o) ADD_FAILURE() << "override: " << s;
      break;
    }
  }
}

// ---- the shipped configs ----------------------------------------------------------------------

struct Counts {
  int64_t total = 0;
  int64_t active = 0;
};

// Parameters as docs/config.md counts them (mha only): embeddings, head, norms, attention,
// dense or MoE SwiGLU FFNs and routers.
Counts count_parameters(const ModelConfig& m) {
  const int64_t D = m.d_model;
  Counts n;
  n.total = m.vocab_size * D * (m.tie_embeddings ? 1 : 2) + D;
  n.active = n.total;
  for (int64_t i = 0; i < m.n_layers; ++i) {
    const int64_t attn = 2 * D * m.n_heads * m.head_dim + 2 * D * m.n_kv_heads * m.head_dim;
    n.total += attn + 2 * D;
    n.active += attn + 2 * D;
    if (!m.moe || i < m.first_dense_layers) {
      n.total += 3 * D * m.d_ff;
      n.active += 3 * D * m.d_ff;
    } else {
      const MoeConfig& e = *m.moe;
      const int64_t expert = 3 * D * e.d_expert;
      n.total += e.n_routed_experts * D + (e.n_routed_experts + e.n_shared_experts) * expert;
      n.active += e.n_routed_experts * D + (e.top_k + e.n_shared_experts) * expert;
    }
  }
  return n;
}

TEST(ShippedConfigs, TinyIsSmallAndHasEveryMovingPart) {
  const Config c = load_config(config_path("tiny.toml"));
  EXPECT_EQ(c.model.vocab_size, 32);
  EXPECT_GE(c.model.d_model, 32);
  EXPECT_LE(c.model.d_model, 64);
  EXPECT_EQ(c.model.n_layers, 2);
  EXPECT_EQ(c.model.n_heads, 4);
  EXPECT_EQ(c.model.n_kv_heads, 2);
  EXPECT_EQ(c.model.head_dim, 16);
  EXPECT_EQ(c.model.first_dense_layers, 1);
  ASSERT_TRUE(c.model.moe.has_value());
  EXPECT_EQ(c.model.moe->n_routed_experts, 4);
  EXPECT_EQ(c.model.moe->top_k, 2);
  EXPECT_EQ(c.model.moe->n_shared_experts, 1);
  EXPECT_EQ(c.model.moe->d_expert, 32);
  EXPECT_EQ(c.data.synthetic, "copy");
  EXPECT_EQ(c.train.seq_len, 32);
  EXPECT_EQ(c.train.batch_size, 16);
  EXPECT_EQ(c.train.lr, 3e-3);
  EXPECT_EQ(c.train.out_dir, "runs/tiny");
  const Counts n = count_parameters(c.model);
  EXPECT_EQ(n.total, 84544);  // the figures in the file's comment
  EXPECT_EQ(n.active, 72256);
}

TEST(ShippedConfigs, SmallMoeAndDenseMatchTheirComments) {
  const Config moe = load_config(config_path("small-moe.toml"));
  const Config dense = load_config(config_path("small-dense.toml"));
  ASSERT_TRUE(moe.model.moe.has_value());
  EXPECT_FALSE(dense.model.moe.has_value());
  EXPECT_EQ(moe.model.moe->n_routed_experts, 8);
  EXPECT_EQ(moe.model.moe->top_k, 2);
  EXPECT_EQ(moe.model.moe->n_shared_experts, 1);
  const Counts m = count_parameters(moe.model);
  const Counts d = count_parameters(dense.model);
  EXPECT_EQ(m.total, 18206592);
  EXPECT_EQ(m.active, 9359232);
  EXPECT_GE(m.total, 10'000'000);
  EXPECT_LE(m.total, 30'000'000);
  EXPECT_EQ(d.total, 9048960);
  EXPECT_EQ(d.active, d.total);
  // Per token, a dense layer does the FFN work of an MoE layer's chosen and shared experts.
  EXPECT_EQ(dense.model.d_ff,
            (moe.model.moe->top_k + moe.model.moe->n_shared_experts) * moe.model.moe->d_expert);
  // Everything but the FFN is the same.
  Config same = dense;
  same.model.moe = moe.model.moe;
  same.model.d_ff = moe.model.d_ff;
  same.train.out_dir = moe.train.out_dir;
  EXPECT_EQ(same, moe);
}

// tiny-chat names no data: `seekforge sft --data FILE` sets data.sft.
TEST(ShippedConfigs, TinyChatIsAByteChatModelMatchingItsComment) {
  EXPECT_CONTAINS(error_of([] { load_config(config_path("tiny-chat.toml")); }),
                  "exactly one of data.path");
  const Config c = load_config(config_path("tiny-chat.toml"), {"data.sft=add.jsonl"});
  EXPECT_EQ(c.model.vocab_size, 266);  // data/chat.h kByteChatVocabSize
  EXPECT_EQ(c.data.tokenizer, "byte-chat");
  EXPECT_EQ(c.model.max_seq_len, 64);
  EXPECT_EQ(c.train.seq_len, 64);
  EXPECT_EQ(c.train.batch_size, 32);
  EXPECT_EQ(c.train.lr, 2e-3);
  EXPECT_EQ(c.train.max_steps, 300);
  EXPECT_EQ(c.train.checkpoint_every, 0);
  EXPECT_EQ(c.train.out_dir, "runs/tiny-chat-sft");
  ASSERT_TRUE(c.model.moe.has_value());
  EXPECT_EQ(c.model.moe->n_routed_experts, 4);
  EXPECT_EQ(c.model.moe->top_k, 2);
  EXPECT_EQ(c.model.moe->n_shared_experts, 1);
  const Counts n = count_parameters(c.model);
  EXPECT_EQ(n.total, 856448);  // the figures in the file's comment
  EXPECT_EQ(n.active, 659840);
  expect_round_trip(c);
}

TEST(ShippedConfigs, AcceptOverrides) {
  const Config c =
      load_config(config_path("tiny.toml"), {"data.synthetic=reverse", "model.moe.gate=sigmoid"});
  EXPECT_EQ(c.data.synthetic, "reverse");
  EXPECT_EQ(c.model.moe->gate, "sigmoid");
  const std::string msg =
      error_of([] { load_config(config_path("tiny.toml"), {"train.seq_len=65"}); });
  EXPECT_CONTAINS(msg, "tiny.toml: --set train.seq_len=65");
}

}  // namespace
}  // namespace seekforge
