#include "train/trainer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <thread>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/chat.h"
#include "data/source.h"
#include "data/tokenizer_io.h"
#include "error_of.h"
#include "nn/transformer.h"
#include "train/checkpoint.h"
#include "train/run_dir.h"
#include "train/evaluate.h"
#include "train/text_codec.h"

namespace seekforge {
namespace {

namespace fs = std::filesystem;

Config tiny_copy_config(const std::string& out_dir) {
  Config c;
  ModelConfig& m = c.model;
  m.vocab_size = 16;
  m.d_model = 64;
  m.n_layers = 2;
  m.n_heads = 4;
  m.n_kv_heads = 2;
  m.head_dim = 16;
  m.max_seq_len = 32;
  m.d_ff = 128;
  m.first_dense_layers = 1;
  m.moe = MoeConfig{4, 1, 2, 64, "softmax", true, 1.0, 0.0, 0.001, 0.0};
  TrainConfig& t = c.train;
  t.seed = 1;
  t.batch_size = 16;
  t.seq_len = 24;
  t.max_steps = 200;
  t.lr = 3e-3;
  t.min_lr = 1e-4;
  t.warmup_steps = 20;
  t.weight_decay = 0.0;
  t.eval_every = 50;
  t.eval_steps = 2;
  t.checkpoint_every = 100;
  t.keep_checkpoints = 2;
  t.log_every = 50;
  t.out_dir = out_dir;
  c.data.synthetic = "copy";
  return c;
}

std::string fresh_dir(const std::string& name) {
  return testing::fresh_run_dir("sf-train-", name);
}
using testing::read_metrics;

std::vector<double> step_losses(const std::vector<nlohmann::json>& lines) {
  std::vector<double> out;
  for (const auto& j : lines)
    if (j.contains("loss")) out.push_back(j["loss"].get<double>());
  return out;
}

// configs/tiny.toml learns to copy a sequence: the loss on the copied half goes to ~0.
TEST(Trainer, LearnsTheCopyTask) {
  if (std::getenv("SEEKFORGE_SANITIZED")) GTEST_SKIP() << "too slow under sanitizers";
  const std::string dir = fresh_dir("copy");
  Config c = load_config(std::string(SEEKFORGE_SOURCE_DIR) + "/configs/tiny.toml",
                         {"train.out_dir=" + dir, "train.log_every=1000"});
  train::TrainOptions opt;
  opt.quiet = true;
  const auto start = std::chrono::steady_clock::now();
  train::TrainSummary s = train::run_training(c, opt);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(s.result, train::TrainResult::finished);
  EXPECT_LT(s.best_val_loss, 0.01) << "validation loss on the copy task";
  EXPECT_LT(secs, 60.0);
  auto lines = read_metrics(dir);
  ASSERT_FALSE(lines.empty());
  const auto& first = lines.front();
  for (const char* key : {"step", "loss", "lr", "grad_norm", "tokens_per_s", "mfu", "moe"})
    EXPECT_TRUE(first.contains(key)) << key;
  EXPECT_EQ(first["moe"][0]["load"].size(), 4u);
  EXPECT_EQ(first["moe"][0]["bias"].size(), 4u);
  fs::remove_all(dir);
}

// 2N steps straight, and N steps + resume + N steps, give bitwise-identical losses, and the
// resumed run's metrics.jsonl tells one history.
TEST(Trainer, ResumeIsBitwiseExact) {
  const std::string a = fresh_dir("straight"), b = fresh_dir("resumed");
  Config ca = tiny_copy_config(a);
  ca.train.max_steps = 16;
  ca.train.checkpoint_every = 8;
  ca.train.eval_every = 4;
  ca.train.grad_accum = 2;
  train::TrainOptions quiet;
  quiet.quiet = true;
  train::run_training(ca, quiet);

  Config cb = ca;
  cb.train.out_dir = b;
  cb.train.max_steps = 8;
  train::run_training(cb, quiet);
  // A later life of the run wrote past the checkpoint before dying: those lines must go.
  {
    std::ofstream f(b + "/metrics.jsonl", std::ios::app);
    f << "{\"step\": 9, \"loss\": 123.0}\n";
  }
  cb.train.max_steps = 16;
  train::TrainOptions resume = quiet;
  resume.resume_from = b + "/step-000008";
  train::run_training(cb, resume);

  const auto la = read_metrics(a), lb = read_metrics(b);
  const auto xa = step_losses(la), xb = step_losses(lb);
  ASSERT_EQ(xa.size(), 16u);
  ASSERT_EQ(xb.size(), 16u);
  for (size_t i = 0; i < xa.size(); ++i) EXPECT_EQ(xa[i], xb[i]) << "step " << i + 1;
  EXPECT_EQ(la.size(), lb.size());  // the eval lines line up too
  // The final weights agree bit for bit.
  auto wa = train::load_checkpoint(a + "/step-000016").model;
  auto wb = train::load_checkpoint(b + "/step-000016").model;
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i)
    EXPECT_EQ(wa[i].second.to_vector_f32(), wb[i].second.to_vector_f32()) << wa[i].first;
  fs::remove_all(a);
  fs::remove_all(b);
}

// Recomputing activations in backward (train.checkpoint_activations) changes memory and time,
// never the numbers: a few steps give the same losses, gradient norms and weights, bit for bit.
TEST(Trainer, CheckpointingModesTrainTheSameBits) {
  std::vector<std::vector<nlohmann::json>> metrics;
  std::vector<NamedTensors> weights;
  const std::vector<std::string> modes = {"none", "attention", "block"};
  for (const std::string& mode : modes) {
    const std::string dir = fresh_dir("recompute-" + mode);
    Config c = tiny_copy_config(dir);
    c.train.max_steps = 3;
    c.train.eval_every = 0;
    c.train.checkpoint_every = 0;
    c.train.grad_accum = 2;
    c.train.checkpoint_activations = mode;
    train::TrainOptions quiet;
    quiet.quiet = true;
    train::run_training(c, quiet);
    metrics.push_back(read_metrics(dir));
    weights.push_back(train::load_checkpoint(dir + "/step-000003").model);
    fs::remove_all(dir);
  }
  for (size_t m = 1; m < modes.size(); ++m) {
    ASSERT_EQ(metrics[m].size(), 3u) << modes[m];
    for (size_t i = 0; i < 3; ++i)
      for (const char* key : {"loss", "ce_loss", "aux_loss", "grad_norm"})
        EXPECT_EQ(metrics[m][i][key].get<double>(), metrics[0][i][key].get<double>())
            << modes[m] << " step " << i + 1 << " " << key;
    ASSERT_EQ(weights[m].size(), weights[0].size());
    for (size_t i = 0; i < weights[0].size(); ++i)
      EXPECT_EQ(weights[m][i].second.to_vector_f32(), weights[0][i].second.to_vector_f32())
          << modes[m] << " " << weights[0][i].first;
  }
}

// A short run for the memory figures: no evaluation, no other thread allocating while the
// trainer measures a forward (the prefetching loader would).
Config memory_config() {
  Config c = tiny_copy_config("");
  c.train.max_steps = 2;
  c.train.eval_every = 0;
  c.train.checkpoint_every = 0;
  c.data.prefetch = false;
  return c;
}

// The "memory" objects of a short run's step lines.
std::vector<nlohmann::json> run_memory(Config c, const std::string& name) {
  const std::string dir = fresh_dir("memory-" + name);
  c.train.out_dir = dir;
  train::TrainOptions quiet;
  quiet.quiet = true;
  train::run_training(c, quiet);
  std::vector<nlohmann::json> out;
  for (const auto& j : read_metrics(dir)) {
    if (!j.contains("loss")) continue;
    EXPECT_TRUE(j.contains("memory")) << j.dump();
    if (j.contains("memory")) out.push_back(j["memory"]);
  }
  fs::remove_all(dir);
  return out;
}

TEST(TrainerMemory, EveryStepLineCarriesTheMemoryObject) {
  const auto memory = run_memory(memory_config(), "lines");
  ASSERT_EQ(memory.size(), 2u);
  for (const auto& m : memory) {
    for (const char* key : {"params", "grads", "optimizer", "activations", "step_peak", "peak_rss"})
      ASSERT_TRUE(m.contains(key) && m[key].is_number_integer()) << key << " in " << m.dump();
    EXPECT_GT(m["params"].get<int64_t>(), 0);
    EXPECT_EQ(m["grads"], m["params"]);
    EXPECT_EQ(m["optimizer"].get<int64_t>(), 2 * m["params"].get<int64_t>());
    // The step's peak holds the weights, their gradients, the moments and the activations.
    EXPECT_GE(m["step_peak"].get<int64_t>(),
              m["params"].get<int64_t>() + m["activations"].get<int64_t>());
    EXPECT_GT(m["peak_rss"].get<int64_t>(), m["step_peak"].get<int64_t>() / 2);
  }
}

TEST(TrainerMemory, ActivationsGrowWithTheBatchAndShrinkWhenRecomputed) {
  const Config c = memory_config();
  Config big = c;
  big.train.batch_size = 2 * c.train.batch_size;
  Config attention = c, block = c;
  attention.train.checkpoint_activations = "attention";
  block.train.checkpoint_activations = "block";
  const int64_t base = run_memory(c, "base")[0]["activations"].get<int64_t>();
  const int64_t twice = run_memory(big, "big")[0]["activations"].get<int64_t>();
  const int64_t attn = run_memory(attention, "attention")[0]["activations"].get<int64_t>();
  const int64_t blk = run_memory(block, "block")[0]["activations"].get<int64_t>();
  EXPECT_GT(base, 0);
  // Activations are per token: twice the batch keeps nearly twice the bytes.
  EXPECT_GT(twice, base * 3 / 2) << "batch " << c.train.batch_size << ": " << base;
  EXPECT_LT(attn, base);
  EXPECT_LT(blk, attn);
  EXPECT_LT(blk, base / 2) << "block recomputation keeps " << blk << " of " << base << " bytes";
}

// The observer hooks see exactly what metrics.jsonl gets, every checkpoint, and every step, in
// order, on the training thread; watching the run does not change it.
TEST(Trainer, HooksSeeEveryLineCheckpointAndStep) {
  const std::string dir = fresh_dir("hooks");
  Config c = tiny_copy_config(dir);
  c.train.max_steps = 6;
  c.train.eval_every = 3;
  c.train.checkpoint_every = 4;
  std::vector<nlohmann::json> seen;
  std::vector<int64_t> steps, checkpoints;
  int starts = 0;
  train::TrainOptions opt;
  opt.quiet = true;
  opt.hooks.on_start = [&](const nn::Transformer&, int64_t step) {
    EXPECT_EQ(step, 0);
    ++starts;
  };
  opt.hooks.on_metrics = [&](const nlohmann::json& line) { seen.push_back(line); };
  opt.hooks.on_checkpoint = [&](const std::string& d, int64_t step) {
    EXPECT_TRUE(fs::exists(d + "/state.json")) << d;
    checkpoints.push_back(step);
  };
  opt.hooks.on_step = [&](nn::Transformer&, int64_t step) { steps.push_back(step); };
  train::TrainSummary s = train::run_training(c, opt);
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(seen, read_metrics(dir));
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(checkpoints, (std::vector<int64_t>{4, 6}));
  fs::remove_all(dir);
}

TEST(Trainer, NanStepsAreSkippedThenTheRunStops) {
  const std::string dir = fresh_dir("nan");
  Config c = tiny_copy_config(dir);
  c.train.max_steps = 50;
  c.train.lr = 1e30;  // the weights blow up within a few steps
  c.train.warmup_steps = 0;
  c.train.clip_grad_norm = 0.0;
  c.train.max_bad_steps = 3;
  train::TrainOptions opt;
  opt.quiet = true;
  train::TrainSummary s = train::run_training(c, opt);
  EXPECT_EQ(s.result, train::TrainResult::diverged);
  EXPECT_EQ(s.skipped_steps, 3);
  EXPECT_LT(s.step, 50);
  fs::remove_all(dir);
}

TEST(Trainer, EarlyStoppingOnValidationLoss) {
  const std::string dir = fresh_dir("early");
  Config c = tiny_copy_config(dir);
  c.train.max_steps = 200;
  c.train.lr = 1e-9;  // nothing improves
  c.train.min_lr = 0;
  c.train.warmup_steps = 0;
  c.train.eval_every = 5;
  c.train.early_stop_patience = 2;
  train::TrainOptions opt;
  opt.quiet = true;
  train::TrainSummary s = train::run_training(c, opt);
  EXPECT_EQ(s.result, train::TrainResult::early_stopped);
  EXPECT_LT(s.step, 30);
  EXPECT_FALSE(s.last_checkpoint.empty());
  fs::remove_all(dir);
}

TEST(Trainer, SignalStopsWithACheckpoint) {
  const std::string dir = fresh_dir("signal");
  Config c = tiny_copy_config(dir);
  c.train.max_steps = 1000;
  train::TrainOptions opt;
  opt.quiet = true;
  // The signal goes out once training is under way (a step has been logged), when the
  // trainer's handler is installed.
  std::thread killer([dir] {
    auto logged = [&] {
      std::ifstream f(dir + "/metrics.jsonl");
      std::string line;
      return static_cast<bool>(std::getline(f, line)) && !f.eof();
    };
    for (int i = 0; i < 6000 && !logged(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ::kill(::getpid(), SIGTERM);
  });
  train::TrainSummary s = train::run_training(c, opt);
  killer.join();
  EXPECT_EQ(s.result, train::TrainResult::interrupted);
  EXPECT_LT(s.step, 1000);
  EXPECT_EQ(train::latest_checkpoint(dir), s.last_checkpoint);
  EXPECT_NO_THROW(train::load_checkpoint(s.last_checkpoint));
  fs::remove_all(dir);
}

using testing::error_of;

// train.init_from: the first step of the new run computes its loss with the checkpoint's weights
// (parameters and the MoE correction-bias buffers), while the optimiser and schedule start fresh.
TEST(Trainer, InitFromStartsFromTheCheckpointsWeights) {
  const std::string a = fresh_dir("init-base"), b = fresh_dir("init-from");
  Config ca = tiny_copy_config(a);
  ca.train.max_steps = 12;
  ca.train.eval_every = 0;
  train::TrainOptions quiet;
  quiet.quiet = true;
  train::run_training(ca, quiet);

  Config cb = tiny_copy_config(b);
  cb.train.seed = 5;  // another initialisation and data order: only the weights carry over
  cb.train.max_steps = 2;
  cb.train.eval_every = 0;
  cb.train.init_from = a + "/step-000012";
  const train::TrainSummary s = train::run_training(cb, quiet);
  EXPECT_EQ(s.step, 2);
  const auto lines = read_metrics(b);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["step"], 1);
  EXPECT_DOUBLE_EQ(lines[0]["lr"].get<double>(), 3e-3 / 20);  // warm-up from step 0 again

  // The loss of the checkpoint's model on the new run's first batch.
  train::TrainedModel base = train::load_trained_model(cb.train.init_from);
  auto src = data::make_source(cb.data, cb.model.vocab_size, cb.train.seed, data::Split::train);
  const data::Batch batch = src->next(cb.train.batch_size, cb.train.seq_len);
  const double want = base.model->forward(batch.input_ids, batch.labels).loss.item_double();
  EXPECT_DOUBLE_EQ(lines[0]["loss"].get<double>(), want);
  // What the run would have started from without init_from.
  Generator gen(cb.train.seed);
  nn::Transformer fresh(cb.model, gen);
  EXPECT_NE(fresh.forward(batch.input_ids, batch.labels).loss.item_double(), want);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(Trainer, InitFromRefusesAnotherModelOrNoCheckpoint) {
  const std::string a = fresh_dir("init-other"), b = fresh_dir("init-other-b");
  Config ca = tiny_copy_config(a);
  ca.train.max_steps = 1;
  ca.train.eval_every = 0;
  train::TrainOptions quiet;
  quiet.quiet = true;
  train::run_training(ca, quiet);
  Config cb = tiny_copy_config(b);
  cb.model.d_model = 32;
  cb.train.init_from = a + "/step-000001";
  const std::string msg = error_of([&] { train::run_training(cb, quiet); });
  EXPECT_NE(msg.find("train.init_from = '" + a + "/step-000001'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[model] d_model = 64 there, d_model = 32 here"), std::string::npos) << msg;
  cb = tiny_copy_config(b);
  cb.train.init_from = a + "/step-000099";
  const std::string missing = error_of([&] { train::run_training(cb, quiet); });
  EXPECT_NE(missing.find("no such checkpoint directory"), std::string::npos) << missing;
  fs::remove_all(a);
  fs::remove_all(b);
}

// An SFT run is the same loop on the SFT source: it writes its tokenizer into the run directory
// (so its checkpoints speak text) and evaluates on the val split's response tokens.
TEST(Trainer, SftRunWritesItsTokenizerAndEvaluatesResponses) {
  const std::string dir = fresh_dir("sft");
  fs::create_directories(dir);
  {
    std::ofstream f(dir + "/add.jsonl");
    for (int a = 10; a < 50; ++a)
      f << "{\"prompt\": \"" << a << "+1\", \"response\": \"<answer>" << a + 1 << "</answer>\"}\n";
  }
  Config c = tiny_copy_config(dir + "/run");
  c.model.vocab_size = data::kByteChatVocabSize;
  c.train.seq_len = 24;
  c.train.batch_size = 4;
  c.train.max_steps = 3;
  c.train.eval_every = 3;
  c.train.eval_steps = 2;
  c.data.synthetic = "";
  c.data.sft = dir + "/add.jsonl";
  c.data.val_fraction = 0.25;
  train::TrainOptions quiet;
  quiet.quiet = true;
  const train::TrainSummary s = train::run_training(c, quiet);
  EXPECT_EQ(s.result, train::TrainResult::finished);
  EXPECT_TRUE(std::isfinite(s.best_val_loss));
  ASSERT_TRUE(fs::is_regular_file(dir + "/run/tokenizer.json"));
  EXPECT_EQ(data::tokenizer_hash(data::load_tokenizer(dir + "/run/tokenizer.json")),
            data::tokenizer_hash(data::byte_chat_tokenizer()));
  const train::TextCodec codec = train::TextCodec::for_checkpoint(c, s.last_checkpoint);
  EXPECT_EQ(codec.special_id("eos"), 257);

  train::TrainedModel t = train::load_trained_model(s.last_checkpoint);
  EXPECT_EQ(t.config.data.sft, c.data.sft);
  const train::EvalResult r = train::evaluate(*t.model, t.config, 2);
  auto val = data::make_source(c.data, c.model.vocab_size, c.train.seed, data::Split::val);
  int64_t response_tokens = 0;
  for (int i = 0; i < 2; ++i) {
    const data::Batch b = val->next(c.train.batch_size, c.train.seq_len);
    const int64_t* p = b.labels.data<int64_t>();
    for (int64_t j = 0; j < b.labels.numel(); ++j) response_tokens += p[j] != data::kIgnoreLabel;
  }
  EXPECT_EQ(r.tokens, response_tokens);
  EXPECT_DOUBLE_EQ(r.loss, s.best_val_loss);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace seekforge
