#include "apps/train_cmd.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/chat.h"
#include "infer/generate.h"
#include "io/tensor_file.h"
#include "train/evaluate.h"
#include "train/text_codec.h"
#include "train/trainer.h"
#include "viz/metrics_server.h"

namespace seekforge::apps {

namespace {

struct TrainArgs {
  std::string config, resume, checkpoint, data, prompt, prompt_ids, weights, batch, out;
  std::vector<std::string> sets;
  int64_t max_tokens = 64, top_k = 0, eval_batches = 0;
  double temperature = 1.0, top_p = 1.0;
  uint64_t seed = 0;
  std::string metrics_host = "127.0.0.1", sample_prompt;
  int metrics_port = 0;
  int64_t sample_every = 50;
  bool chat = false;
} train_args;

std::vector<int64_t> parse_ids(const std::string& s) {
  std::vector<int64_t> ids;
  std::istringstream in(s);
  std::string tok;
  while (in >> tok) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(tok, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    SF_CHECK(used == tok.size()) << "--prompt-ids: '" << tok << "' is not an integer";
    ids.push_back(v);
  }
  return ids;
}

Tensor json_matrix(const nlohmann::json& j, const char* key) {
  SF_CHECK(j.contains(key) && j[key].is_array() && !j[key].empty())
      << "batch: '" << key << "' must be a non-empty array of arrays";
  const auto& rows = j[key];
  const size_t T = rows[0].is_array() ? rows[0].size() : 0;
  SF_CHECK(T > 0) << "batch: '" << key << "' rows must be non-empty arrays";
  std::vector<int64_t> v;
  for (size_t b = 0; b < rows.size(); ++b) {
    SF_CHECK(rows[b].is_array() && rows[b].size() == T)
        << "batch: '" << key << "' row " << b << " has a different length than row 0 (" << T << ")";
    for (const auto& x : rows[b]) {
      SF_CHECK(x.is_number_integer())
          << "batch: '" << key << "' row " << b << " holds " << x.dump() << ", not an integer";
      v.push_back(x.get<int64_t>());
    }
  }
  return from_vector_i64(v, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(T)});
}

}  // namespace

CLI::App* add_train_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("train", "pretrain a model from a config");
  sub->add_option("--config", train_args.config, "TOML config file")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--set", train_args.sets, "override a key: section.key=value (repeatable)");
  sub->add_option("--resume", train_args.resume, "continue from this checkpoint directory")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--metrics-port", train_args.metrics_port,
                  "serve the live dashboard and /metrics on this port (0: off)")
      ->check(CLI::Range(0, 65535));
  sub->add_option("--metrics-host", train_args.metrics_host, "address the dashboard listens on")
      ->capture_default_str();
  sub->add_option("--sample-every", train_args.sample_every,
                  "with --metrics-port: generate a dashboard sample every N steps (0: never)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  sub->add_option("--sample-prompt", train_args.sample_prompt,
                  "the sample's prompt: text (the run's tokenizer, or bytes when vocab_size >= "
                  "256), or token ids \"1 2 3\" for a model with no text form");
  return sub;
}

namespace {

// Wires the trainer's hooks to the live dashboard: every metrics line goes to the store, and every
// --sample-every steps a short generation from --sample-prompt (on the training thread, so the
// weights hold still).
void attach_dashboard(const Config& config, viz::MetricsStore& store, train::TrainHooks& hooks) {
  const int64_t V = config.model.vocab_size;
  // The run's own tokenizer (or bytes), as `generate` will read its checkpoints.
  const train::TextCodec codec = train::TextCodec::for_run(config, config.train.out_dir);
  std::vector<int64_t> prompt;
  if (codec.can_encode()) {
    prompt = codec.encode(train_args.sample_prompt.empty() ? "Once upon a time"
                                                           : train_args.sample_prompt);
  } else {
    prompt =
        parse_ids(train_args.sample_prompt.empty() ? "1 2 3 4 5 6 7 8" : train_args.sample_prompt);
    for (int64_t& id : prompt) {
      SF_CHECK(train_args.sample_prompt.empty() || (id >= 0 && id < V))
          << "--sample-prompt: token " << id << " is outside the vocabulary [0, " << V << ")";
      id %= V;
    }
  }
  const std::string prompt_text = codec.decode(prompt);
  SF_CHECK(!prompt.empty()) << "--sample-prompt is empty";
  // Checked here, not at the first sample: a bad prompt must not stop a run midway.
  SF_CHECK(static_cast<int64_t>(prompt.size()) < config.model.max_seq_len)
      << "--sample-prompt has " << prompt.size() << " tokens; the model's max_seq_len is "
      << config.model.max_seq_len;
  store.set_run_info({{"config", config_to_toml(config)},
                      {"out_dir", config.train.out_dir},
                      {"max_steps", config.train.max_steps},
                      {"grad_norm_alarm", config.train.grad_norm_alarm},
                      {"attention", config.model.attention},
                      {"vocab_size", V},
                      {"sample_every", train_args.sample_every}});
  hooks.on_start = [&store](const nn::Transformer& model, int64_t) {
    nlohmann::json blocks = nlohmann::json::array();
    const ModelConfig& m = model.config();
    if (m.moe)
      for (int64_t i = m.first_dense_layers; i < m.n_layers; ++i) blocks.push_back(i);
    store.set_run_info({{"parameters", model.num_parameters()},
                        {"active_parameters", model.active_parameters()},
                        {"moe_layers", blocks}});
  };
  hooks.on_metrics = [&store](const nlohmann::json& line) { store.add_line(line); };
  hooks.on_checkpoint = [&store](const std::string& dir, int64_t step) {
    store.mark_checkpoint(dir, step);
  };
  if (train_args.sample_every <= 0) return;
  const int64_t every = train_args.sample_every;
  hooks.on_step = [&store, codec, prompt, prompt_text, every](nn::Transformer& model,
                                                              int64_t step) {
    if (step % every != 0) return;
    infer::GenerateOptions opt;
    opt.max_tokens = 48;
    opt.sampling = {0.8, 0, 1.0, static_cast<uint64_t>(step)};
    if (const int64_t eos = codec.special_id("eos"); eos >= 0) opt.stop_tokens.push_back(eos);
    store.set_sample(step, prompt_text, codec.decode(infer::generate(model, prompt, opt)));
  };
}

}  // namespace

int run_train() {
  Config config = load_config(train_args.config, train_args.sets);
  train::TrainOptions opt;
  opt.resume_from = train_args.resume;
  // The store outlives the server, which reads it until its destructor has joined.
  viz::MetricsStore store;
  std::unique_ptr<viz::MetricsServer> server;
  if (train_args.metrics_port > 0) {
    attach_dashboard(config, store, opt.hooks);
    server = std::make_unique<viz::MetricsServer>(store, train_args.metrics_host,
                                                  train_args.metrics_port);
    std::printf("dashboard: %s  (Prometheus: %smetrics)\n", server->url().c_str(),
                server->url().c_str());
    std::fflush(stdout);
  }
  return report_training(train::run_training(config, opt));
}

int report_training(const train::TrainSummary& s) {
  switch (s.result) {
    case train::TrainResult::finished:
      std::printf("done: %lld steps, last loss %.4f, checkpoint %s\n",
                  static_cast<long long>(s.step), s.last_loss, s.last_checkpoint.c_str());
      return 0;
    case train::TrainResult::early_stopped:
      std::printf("stopped early at step %lld: best validation loss %.4f; checkpoint %s\n",
                  static_cast<long long>(s.step), s.best_val_loss, s.last_checkpoint.c_str());
      return 0;
    case train::TrainResult::interrupted:
      std::printf("interrupted at step %lld; resume with --resume %s\n",
                  static_cast<long long>(s.step), s.last_checkpoint.c_str());
      return 130;
    case train::TrainResult::diverged:
      return 3;
  }
  return 0;
}

CLI::App* add_eval_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("eval", "validation loss and perplexity of a checkpoint");
  sub->add_option("--checkpoint", train_args.checkpoint, "checkpoint directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--data", train_args.data,
                  "a tokenized dataset directory (default: the run's data)");
  sub->add_option("--batches", train_args.eval_batches,
                  "batches to evaluate (default: train.eval_steps)");
  return sub;
}

int run_eval() {
  train::TrainedModel t = train::load_trained_model(train_args.checkpoint);
  if (!train_args.data.empty()) {
    t.config.data = DataConfig{};
    t.config.data.path = train_args.data;
  }
  const int64_t batches =
      train_args.eval_batches > 0 ? train_args.eval_batches : t.config.train.eval_steps;
  train::EvalResult r = train::evaluate(*t.model, t.config, batches);
  std::printf("checkpoint %s (step %lld): val_loss %.4f  perplexity %.3f  over %lld tokens\n",
              train_args.checkpoint.c_str(), static_cast<long long>(t.step), r.loss, r.perplexity,
              static_cast<long long>(r.tokens));
  return 0;
}

CLI::App* add_generate_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("generate", "sample text from a checkpoint, streaming");
  sub->add_option("--checkpoint", train_args.checkpoint, "checkpoint directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  auto* p = sub->add_option("--prompt", train_args.prompt,
                            "prompt text (encoded with the run's tokenizer, or as bytes)");
  auto* pi =
      sub->add_option("--prompt-ids", train_args.prompt_ids, "prompt as token ids: \"1 2 3\"");
  p->excludes(pi);
  sub->add_flag(
         "--chat", train_args.chat,
         "wrap --prompt in the chat template (a model fine-tuned with `sft`), stop at eos and "
         "print only the response")
      ->excludes(pi);
  sub->add_option("--max-tokens", train_args.max_tokens, "tokens to generate")
      ->check(CLI::Range(1, 1 << 20));
  sub->add_option("--temperature", train_args.temperature, "0 = greedy")
      ->check(CLI::Range(0.0, 100.0));
  sub->add_option("--top-k", train_args.top_k, "keep the k most likely tokens (0 = all)")
      ->check(CLI::Range(0, 1 << 30));
  sub->add_option("--top-p", train_args.top_p, "nucleus mass in (0, 1]")
      ->check(CLI::Range(1e-9, 1.0));
  sub->add_option("--seed", train_args.seed, "sampling seed");
  return sub;
}

int run_generate() {
  train::TrainedModel t = train::load_trained_model(train_args.checkpoint);
  const int64_t V = t.config.model.vocab_size;
  SF_CHECK(!train_args.prompt.empty() || !train_args.prompt_ids.empty())
      << "generate: give --prompt or --prompt-ids";
  const train::TextCodec codec = train::TextCodec::for_checkpoint(t.config, train_args.checkpoint);
  std::vector<int64_t> prompt;
  if (train_args.chat) {
    const data::Tokenizer* tok = codec.tokenizer();
    SF_CHECK(tok != nullptr) << "generate --chat: this model's tokens are " << codec.describe()
                             << ", with no chat special tokens (<|user|>, <|assistant|>, ...); "
                                "a model fine-tuned with `seekforge sft` has them";
    try {
      prompt = data::chat_prompt_ids(*tok, train_args.prompt);
    } catch (const Error& e) {
      SF_FAIL() << "generate --chat: the run's tokenizer (" << codec.describe()
                << ") cannot write the chat template: " << e.what();
    }
  } else {
    prompt = train_args.prompt_ids.empty() ? codec.encode(train_args.prompt)
                                           : parse_ids(train_args.prompt_ids);
  }
  for (int64_t id : prompt)
    SF_CHECK(id >= 0 && id < V) << "--prompt-ids: token " << id << " is outside the vocabulary [0, "
                                << V << ")";
  infer::GenerateOptions opt;
  opt.max_tokens = train_args.max_tokens;
  opt.sampling = {train_args.temperature, train_args.top_k, train_args.top_p, train_args.seed};
  // A document (or a chat response) ends at eos: what follows would be the start of another one.
  const int64_t eos = codec.special_id("eos");
  if (eos >= 0) opt.stop_tokens.push_back(eos);
  // A chat prints the response only; its special tokens (<think>, <answer>, ...) as their text.
  if (!train_args.chat) {
    std::fputs(
        train_args.prompt_ids.empty() ? train_args.prompt.c_str() : codec.decode(prompt).c_str(),
        stdout);
    std::fflush(stdout);
  }
  infer::generate(*t.model, prompt, opt, [&](int64_t id) {
    if (id == eos) return;
    std::fputs(codec.token_bytes(id).c_str(), stdout);
    std::fflush(stdout);
  });
  std::fputs("\n", stdout);
  return 0;
}

CLI::App* add_fwdbwd_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "fwdbwd", "one forward and backward on a JSON batch; writes loss, logits and gradients");
  sub->add_option("--config", train_args.config, "TOML config")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--weights", train_args.weights, "safetensors with every parameter and buffer")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--batch", train_args.batch, "JSON {\"input_ids\": [[...]], \"labels\": [[...]]}")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--out", train_args.out, "output safetensors")->required();
  sub->add_option("--set", train_args.sets, "override a key: section.key=value (repeatable)");
  return sub;
}

int run_fwdbwd() {
  Config config = load_model_config(train_args.config, train_args.sets);
  Generator gen(config.train.seed);
  nn::Transformer model(config.model, gen);
  std::vector<std::string> ignored;
  if (config.model.tie_embeddings) ignored.push_back("lm_head.weight");
  model.load_state(load_tensors(train_args.weights), ignored);
  nlohmann::json batch;
  {
    std::ifstream f(train_args.batch);
    try {
      batch = nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception& e) {
      SF_FAIL() << "batch file '" << train_args.batch << "' is not valid JSON: " << e.what();
    }
  }
  Tensor ids = json_matrix(batch, "input_ids"), labels = json_matrix(batch, "labels");
  SF_CHECK(ids.shape() == labels.shape())
      << "batch: input_ids " << shape_str(ids.shape()) << " and labels "
      << shape_str(labels.shape()) << " differ";
  const int64_t* pi = ids.data<int64_t>();
  for (int64_t i = 0; i < ids.numel(); ++i)
    SF_CHECK(pi[i] >= 0 && pi[i] < config.model.vocab_size)
        << "batch: input id " << pi[i] << " outside [0, " << config.model.vocab_size << ")";
  nn::ForwardOptions fo;
  fo.label_smoothing = config.train.label_smoothing;
  nn::ModelOutput out = model.forward(ids, labels, fo);
  out.loss.backward();
  NamedTensors result{{"loss", out.loss.detach()}, {"logits", out.logits.detach()}};
  for (auto& [name, p] : model.named_parameters())
    result.emplace_back(name + ".grad", p.grad().defined() ? p.grad() : zeros(p.shape()));
  save_tensors(train_args.out, result);
  std::printf("loss %.6f; wrote %s (%zu tensors)\n", out.loss.item_double(), train_args.out.c_str(),
              result.size());
  return 0;
}

}  // namespace seekforge::apps
