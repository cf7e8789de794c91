// The RL run end to end on a small random policy: GRPO, PPO (with replay) and ES each run a few
// steps, write their metrics and a checkpoint that loads back as a model. Whether RL improves a
// policy is the CLI test's business (tests/cli/rl_cli_test.py); this checks the plumbing.
#include "rl/rl_run.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/chat.h"
#include "data/tokenizer_io.h"
#include "nn/transformer.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"

namespace seekforge::rl {
namespace {

namespace fs = std::filesystem;

class RlRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("sf-rl-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "start");
    Config c;
    c.model.vocab_size = data::kByteChatVocabSize;
    c.model.d_model = 32;
    c.model.n_layers = 2;
    c.model.n_heads = 2;
    c.model.n_kv_heads = 2;
    c.model.head_dim = 16;
    c.model.max_seq_len = 48;
    c.model.d_ff = 64;
    c.model.first_dense_layers = 1;
    c.model.moe = MoeConfig{4, 1, 2, 16, "softmax", true, 1.0, 0.0, 0.001, 0.0};
    c.train.seq_len = 32;
    c.data.synthetic = "random";
    Generator gen(7);
    nn::Transformer model(c.model, gen);
    train::Checkpoint ck;
    ck.model = model.named_parameters();
    for (auto& b : model.named_buffers()) ck.model.push_back(b);
    ck.optimizer.emplace_back("step", scalar_tensor(0.0, DType::i64));
    ck.state = {{"step", 0}, {"config", config_to_toml(c)}};
    start_ = train::save_checkpoint((root_ / "start").string(), ck, 1);
    data::save_tokenizer(data::byte_chat_tokenizer(), (root_ / "start" / "tokenizer.json").string());
  }
  void TearDown() override { fs::remove_all(root_); }

  RlConfig config(const std::string& algo) const {
    RlConfig c = parse_rl_config("", "test");
    c.algo = algo;
    c.steps = 3;
    c.prompts_per_step = 3;
    c.group_size = 4;
    c.max_tokens = 8;
    c.lr = 1e-3;
    c.min_lr = 1e-3;
    c.eval_every = 2;
    c.eval_problems = 6;
    c.minibatches = 2;
    c.es.population = 3;
    c.es.elite = 1;
    c.es.problems = 4;
    c.out_dir = (root_ / ("run-" + algo)).string();
    return c;
  }

  static std::vector<nlohmann::json> metrics(const std::string& dir) {
    std::vector<nlohmann::json> lines;
    std::ifstream f(dir + "/metrics.jsonl");
    for (std::string line; std::getline(f, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
  }

  fs::path root_;
  std::string start_;
};

TEST_F(RlRunTest, GrpoStepsWriteMetricsEvaluationsAndALoadableCheckpoint) {
  RlConfig c = config("grpo");
  // A random policy never answers right; a reward it sometimes earns (a digit anywhere) gives
  // the groups a spread, hence advantages and an update.
  RewardSpec digit;
  digit.kind = "regex";
  digit.pattern = "[0-9]";
  digit.target = "response";
  c.rewards.push_back(digit);
  const RlSummary s = run_rl(c, {start_, true});
  EXPECT_EQ(s.steps, 3);
  const auto lines = metrics(c.out_dir);
  int steps = 0, evals = 0;
  for (const auto& l : lines) {
    if (l.contains("reward_mean")) {
      ++steps;
      for (const char* k : {"reward_std", "reward_accuracy", "reward_format", "accuracy",
                            "format_rate", "kl", "clip_fraction", "response_len", "rollout_s",
                            "score_s", "update_s", "lr", "grad_norm", "reward_regex_0"})
        EXPECT_TRUE(l.contains(k)) << k << " missing in " << l.dump();
    }
    evals += l.contains("test_accuracy");
  }
  EXPECT_EQ(steps, 3);
  EXPECT_EQ(evals, 3) << "at the start, at step 2 and at the end";
  train::TrainedModel t = train::load_trained_model(s.last_checkpoint);
  EXPECT_EQ(t.step, 3);
  // The run directory speaks text: its tokenizer is there for generate and the next run.
  EXPECT_TRUE(fs::is_regular_file(c.out_dir + "/tokenizer.json"));
  EXPECT_TRUE(fs::is_regular_file(c.out_dir + "/rl.toml"));
  EXPECT_NO_THROW(parse_rl_config(data::read_file(c.out_dir + "/rl.toml"), "rl.toml"));
  // The weights moved.
  train::TrainedModel before = train::load_trained_model(start_);
  const auto a = before.model->named_parameters(), b = t.model->named_parameters();
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto x = a[i].second.to_vector_f32(), y = b[i].second.to_vector_f32();
    for (size_t j = 0; j < x.size(); ++j) diff += std::abs(x[j] - y[j]);
  }
  EXPECT_GT(diff, 0.0);
}

TEST_F(RlRunTest, PpoReplaysOlderRolloutsAndMovesTheClipRange) {
  RlConfig c = config("ppo");
  c.group_size = 2;
  c.ppo.replay_fraction = 0.5;
  const RlSummary s = run_rl(c, {start_, true});
  EXPECT_EQ(s.steps, 3);
  int64_t replayed_later = 0;
  for (const auto& l : metrics(c.out_dir)) {
    if (!l.contains("reward_mean")) continue;
    EXPECT_TRUE(l.contains("value_loss")) << l.dump();
    EXPECT_TRUE(l.contains("clip_eps")) << l.dump();
    if (l["step"].get<int64_t>() == 1) {
      EXPECT_EQ(l["replayed"].get<int64_t>(), 0);
    }
    if (l["step"].get<int64_t>() > 1) replayed_later += l["replayed"].get<int64_t>();
  }
  EXPECT_GT(replayed_later, 0) << "steps after the first reuse older rollouts";
}

TEST_F(RlRunTest, EvolutionKeepsItsBestMemberAsTheResult) {
  const RlConfig c = config("es");
  const RlSummary s = run_rl(c, {start_, true});
  EXPECT_EQ(s.steps, 3);
  double best = -1e9;
  for (const auto& l : metrics(c.out_dir)) {
    if (!l.contains("best_fitness")) continue;
    EXPECT_GE(l["best_fitness"].get<double>(), best) << "elitism: the best never falls";
    best = l["best_fitness"].get<double>();
  }
  EXPECT_NO_THROW(train::load_trained_model(s.last_checkpoint));
}

TEST_F(RlRunTest, AStartWithoutAChatTokenizerIsRefusedSayingWhatToDo) {
  fs::remove(root_ / "start" / "tokenizer.json");
  try {
    run_rl(config("grpo"), {start_, true});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("seekforge sft"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace seekforge::rl
