#include "train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "autograd/node.h"
#include "data/sft_source.h"
#include "data/source.h"
#include "data/tokenizer_io.h"
#include "core/allocator.h"
#include "kernels/gemm.h"
#include "nn/transformer.h"
#include "ops/autocast.h"
#include "ops/elementwise.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/loss_scaler.h"
#include "train/memory_report.h"
#include "train/metrics.h"

namespace seekforge::train {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::atomic<bool>& stop_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

extern "C" void on_stop_signal(int) { stop_requested().store(true); }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// The GEMM rate MFU divides by (FLOP/s): a [2048 x 1024] x [1024 x 1024] product, the shape of
// the model's projections at B*T = 2048 tokens, on the operands train.precision gives the products
// (f32, or bf16 / f16 as lowp_storage_dtype stores them). `calls` timed calls after two untimed
// ones; the best counts, since a moment in which another process (or a neighbour on a shared
// host) slows the machine must not lower the peak, which would inflate MFU.
double gemm_rate(DType ab, int calls) {
  const int64_t m = 2048, n = 1024;
  Tensor a = randn({m, n}).to(ab), b = randn({n, n}).to(ab), c = empty({m, n});
  const auto shape = kernels::gemm_shape(1, m, n, n);
  double best = 0;
  for (int r = 0; r < calls + 2; ++r) {
    const auto t0 = Clock::now();
    kernels::gemm(ab, shape, a.raw_data(), b.raw_data(), c.data<float>(), 1.0f, 0.0f);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r >= 2) best = std::max(best, 2.0 * double(m) * double(n) * double(n) / s);
  }
  return best;
}

// Measured once per dtype and process. `again` measures once more and keeps the higher rate:
// the trainer asks for it when a step's MFU comes out above 1, which shows that the first
// measurement ran in a slow moment (seen: 135% for a whole run started right after a build).
double measured_gemm_peak(DType precision, bool again = false) {
  static std::map<DType, double> peaks;
  const DType ab = ops::lowp_storage_dtype(precision);
  auto it = peaks.find(ab);
  if (it != peaks.end() && !again) return it->second;
  const double rate = gemm_rate(ab, 8);
  return peaks[ab] = std::max(rate, it != peaks.end() ? it->second : 0.0);
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  return buf;
}

std::string model_signature(const ModelConfig& m) {
  Config c;
  c.model = m;
  c.data.synthetic = "random";
  const std::string t = config_to_toml(c);
  // Only the [model...] tables matter for weight compatibility.
  const size_t train_at = t.find("\n[train]");
  return train_at == std::string::npos ? t : t.substr(0, train_at);
}

// "" when the two models are built alike, else the first line of their signatures that differs
// ("[model] d_model = 64 there, d_model = 128 here"), for errors that say what to change.
std::string model_difference(const ModelConfig& there, const ModelConfig& here) {
  std::istringstream a(model_signature(there)), b(model_signature(here));
  std::string la, lb, table;
  while (true) {
    const bool more_a = static_cast<bool>(std::getline(a, la));
    const bool more_b = static_cast<bool>(std::getline(b, lb));
    if (!more_a && !more_b) return "";
    if (!more_a) la = "(nothing)";
    if (!more_b) lb = "(nothing)";
    if (la != lb) return (table.empty() ? "" : table + " ") + la + " there, " + lb + " here";
    if (!la.empty() && la[0] == '[') table = la;
  }
}

class Run {
 public:
  Run(const Config& config, const TrainOptions& options)
      : cfg_(config), opts_(options), gen_(config.train.seed), model_(config.model, gen_) {
    optim::ParamGroup decay{model_.decay_parameters(), cfg_.train.lr, cfg_.train.weight_decay, 1.0,
                            "decay"};
    optim::ParamGroup no_decay{model_.no_decay_parameters(), cfg_.train.lr, 0.0, 1.0, "no_decay"};
    optimizer_ = std::make_unique<optim::AdamW>(
        std::vector<optim::ParamGroup>{decay, no_decay},
        optim::AdamWOptions{cfg_.train.beta1, cfg_.train.beta2, cfg_.train.eps});
    schedule_ = optim::LrSchedule{optim::parse_schedule_kind(cfg_.train.schedule), cfg_.train.lr,
                                  cfg_.train.min_lr, cfg_.train.warmup_steps, cfg_.train.max_steps};
    train_src_ = data::make_source(cfg_.data, cfg_.model.vocab_size, cfg_.train.seed,
                                   data::Split::train);
    params_ = model_.parameters();
    lowp_ = ops::precision_dtype(cfg_.train.precision);
    if (lowp_ == DType::f16)
      scaler_ = std::make_unique<LossScaler>(
          LossScalerOptions{cfg_.train.loss_scale, 2.0, 0.5, cfg_.train.loss_scale_window});
  }

  TrainSummary run() {
    fs::create_directories(cfg_.train.out_dir);
    int64_t keep_metrics = -1;
    if (!opts_.resume_from.empty()) {
      resume(opts_.resume_from);
      keep_metrics = step_;
    } else if (!cfg_.train.init_from.empty()) {
      init_from(cfg_.train.init_from);  // a resumed run's checkpoint already holds everything
    }
    {
      std::ofstream f(cfg_.train.out_dir + "/config.toml");
      f << config_to_toml(cfg_);
    }
    copy_dataset_tokenizer();
    write_sft_tokenizer();
    metrics_ = std::make_unique<MetricsLog>(cfg_.train.out_dir + "/metrics.jsonl", keep_metrics);
    install_signal_handlers();
    stop_requested().store(false);
    std::string start;
    if (!opts_.resume_from.empty())
      start = ", resumed at step " + std::to_string(step_);
    else if (!cfg_.train.init_from.empty())
      start = ", weights from " + cfg_.train.init_from;
    say("seekforge train: %lld parameters (%lld active per token), %s, out_dir %s%s\n",
        static_cast<long long>(model_.num_parameters()),
        static_cast<long long>(model_.active_parameters()), train_src_->describe().c_str(),
        cfg_.train.out_dir.c_str(), start.c_str());
    memory_ = static_memory(params_, *optimizer_);
    say("memory: %s\n", format_memory(memory_).c_str());

    double peak = measured_gemm_peak(lowp_);
    int64_t peak_checked_at = -1;
    // Every product of the run, evaluations included, in train.precision; the 16-bit weight
    // copies are made on first use and refreshed after each optimiser step.
    ops::AutocastScope autocast(lowp_, &lowp_weights_);
    if (opts_.hooks.on_start) opts_.hooks.on_start(model_, step_);
    const int64_t tokens_per_step = cfg_.train.batch_size * cfg_.train.seq_len * cfg_.train.grad_accum;
    const double flops_per_token = model_.flops_per_token(cfg_.train.seq_len);
    double step_time_avg = 0;
    const auto run_start = Clock::now();

    while (step_ < cfg_.train.max_steps) {
      if (stop_requested().load()) {
        summary_.result = TrainResult::interrupted;
        say("\nstopping on a signal at step %lld\n", static_cast<long long>(step_));
        break;
      }
      const auto t0 = Clock::now();
      const StepResult r = train_step();
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      step_time_avg = step_time_avg == 0 ? secs : 0.9 * step_time_avg + 0.1 * secs;
      const double tps = static_cast<double>(tokens_per_step) / secs;
      const bool first_step = memory_.activations < 0;
      // An MFU above 1 is a peak measured low (see measured_gemm_peak); measure again, at most
      // every 50 steps, and keep the higher rate.
      if (tps * flops_per_token > peak && (peak_checked_at < 0 || step_ - peak_checked_at >= 50)) {
        peak = measured_gemm_peak(lowp_, /*again=*/true);
        peak_checked_at = step_;
      }
      log_step(r, tps, tps * flops_per_token / peak,
               std::chrono::duration<double>(Clock::now() - run_start).count(),
               step_time_avg * static_cast<double>(cfg_.train.max_steps - step_));
      if (first_step) say("memory at step %lld: %s\n", static_cast<long long>(step_),
                          format_memory(memory_).c_str());
      if (summary_.result == TrainResult::diverged) break;
      if (cfg_.train.eval_every > 0 && step_ % cfg_.train.eval_every == 0) {
        if (evaluate_and_check_patience()) {
          summary_.result = TrainResult::early_stopped;
          break;
        }
      }
      if (cfg_.train.checkpoint_every > 0 && step_ % cfg_.train.checkpoint_every == 0 &&
          step_ < cfg_.train.max_steps)
        checkpoint();
      if (opts_.hooks.on_step) opts_.hooks.on_step(model_, step_);
    }
    if (summary_.result != TrainResult::diverged) checkpoint();
    summary_.step = step_;
    summary_.best_val_loss = best_val_;
    summary_.skipped_steps = skipped_;
    return summary_;
  }

 private:
  struct StepResult {
    double loss = 0, ce = 0, aux = 0, mtp = 0, grad_norm = 0, lr = 0;
    double loss_scale = 1;
    int64_t activation_bytes = 0, peak_bytes = 0;  // MemoryReport's measured figures
    bool skipped = false, alarm = false, overflow = false;
  };

  template <typename... A>
  void say(const char* fmt, A... args) {
    if (opts_.quiet) return;
    std::printf(fmt, args...);
    std::fflush(stdout);
  }

  StepResult train_step() {
    StepResult r;
    auto moe = model_.moe_layers();
    std::vector<std::vector<int64_t>> loads(moe.size());
    for (size_t i = 0; i < moe.size(); ++i) loads[i].assign(moe[i]->n_experts(), 0);
    dropped_.assign(moe.size(), 0);
    optimizer_->zero_grad();
    nn::ForwardOptions fo;
    fo.label_smoothing = cfg_.train.label_smoothing;
    fo.checkpoint_activations = nn::parse_recompute(cfg_.train.checkpoint_activations);
    const double scale = 1.0 / static_cast<double>(cfg_.train.grad_accum);
    const double loss_scale = scaler_ ? scaler_->scale() : 1.0;
    reset_peak_bytes();
    for (int64_t micro = 0; micro < cfg_.train.grad_accum; ++micro) {
      data::Batch b = train_src_->next(cfg_.train.batch_size, cfg_.train.seq_len);
      const int64_t live_before = allocator_live_bytes();
      nn::ModelOutput out = model_.forward(b.input_ids, b.labels, fo);
      if (micro == 0) r.activation_bytes = allocator_live_bytes() - live_before;
      r.loss += out.loss.item_double() * scale;
      r.ce += out.ce_loss.item_double() * scale;
      if (out.aux_loss.defined()) r.aux += out.aux_loss.item_double() * scale;
      if (out.mtp_loss.defined()) r.mtp += out.mtp_loss.item_double() * scale;
      ops::mul(out.loss, scale * loss_scale).backward();
      for (size_t i = 0; i < moe.size(); ++i) {
        const auto& s = moe[i]->last_stats();
        for (size_t e = 0; e < s.load.size(); ++e) loads[i][e] += s.load[e];
        dropped_[i] += s.dropped;
      }
    }
    if (scaler_) optim::scale_gradients(params_, 1.0 / loss_scale);
    r.grad_norm = optim::clip_grad_norm(params_, cfg_.train.clip_grad_norm);
    r.lr = schedule_.lr_at(step_);
    r.loss_scale = loss_scale;
    if (scaler_ && std::isfinite(r.loss) && !scaler_->update(!std::isfinite(r.grad_norm))) {
      // An fp16 overflow: the scaler has halved the scale; the step is skipped, but it is not a
      // bad step (the next one runs at the lower scale).
      r.overflow = true;
      optimizer_->zero_grad();
    } else if (!std::isfinite(r.loss) || !std::isfinite(r.grad_norm)) {
      r.skipped = true;
      ++skipped_;
      ++bad_streak_;
      optimizer_->zero_grad();
    } else {
      bad_streak_ = 0;
      r.alarm = r.grad_norm > cfg_.train.grad_norm_alarm;
      optimizer_->set_lr(r.lr);
      optimizer_->step();
      lowp_weights_.refresh();
      model_.update_expert_biases(loads);
    }
    last_loads_ = std::move(loads);
    r.peak_bytes = allocator_peak_bytes();
    ++step_;
    tokens_seen_ += cfg_.train.batch_size * cfg_.train.seq_len * cfg_.train.grad_accum;
    summary_.last_loss = r.loss;
    if (bad_streak_ >= cfg_.train.max_bad_steps) {
      summary_.result = TrainResult::diverged;
      const std::string last = latest_checkpoint(cfg_.train.out_dir);
      std::fprintf(stderr,
                   "seekforge train: stopping: %lld steps in a row had a NaN/inf loss or gradient "
                   "(the last at step %lld); lower train.lr or raise train.clip_grad_norm; the last "
                   "good checkpoint is %s\n",
                   static_cast<long long>(bad_streak_), static_cast<long long>(step_),
                   last.empty() ? "(none)" : last.c_str());
    }
    return r;
  }

  void log_step(const StepResult& r, double tps, double mfu, double elapsed, double eta) {
    nlohmann::json line = {{"step", step_},
                           {"loss", r.loss},
                           {"ce_loss", r.ce},
                           {"lr", r.lr},
                           {"grad_norm", r.grad_norm},
                           {"tokens_per_s", tps},
                           {"mfu", mfu},
                           {"tokens", tokens_seen_},
                           {"elapsed_s", elapsed}};
    if (model_.config().moe) line["aux_loss"] = r.aux;
    if (model_.config().mtp) line["mtp_loss"] = r.mtp;
    if (r.skipped) line["skipped"] = true;
    if (scaler_) {
      line["loss_scale"] = r.loss_scale;
      line["overflow_steps"] = scaler_->overflow_steps();
      if (r.overflow) line["overflow"] = true;
    }
    if (r.alarm) line["grad_norm_alarm"] = true;
    memory_.activations = r.activation_bytes;
    memory_.step_peak = r.peak_bytes;
    memory_.peak_rss = peak_rss_bytes();
    line["memory"] = memory_json(memory_);
    auto moe = model_.moe_layers();
    if (!moe.empty()) {
      nlohmann::json layers = nlohmann::json::array();
      for (size_t i = 0; i < moe.size(); ++i)
        layers.push_back({{"layer", i},
                          {"load", last_loads_[i]},
                          {"bias", moe[i]->correction_bias().to_vector_f32()},
                          {"dropped", dropped_[i]}});
      line["moe"] = layers;
    }
    write_metrics(line);
    if (r.alarm)
      say("\nalarm: gradient norm %.3g at step %lld exceeds train.grad_norm_alarm %.3g\n",
          r.grad_norm, static_cast<long long>(step_), cfg_.train.grad_norm_alarm);
    if (r.skipped)
      say("\nstep %lld skipped: non-finite loss or gradient (%lld skipped so far)\n",
          static_cast<long long>(step_), static_cast<long long>(skipped_));
    const bool last = step_ == cfg_.train.max_steps;
    if (step_ == 1 || step_ % std::max<int64_t>(cfg_.train.log_every, 1) == 0 || last) {
      say("step %lld/%lld  loss %.4f  lr %.2e  gnorm %.3f  %.1fk tok/s  mfu %.1f%%  elapsed %s  "
          "left %s\n",
          static_cast<long long>(step_), static_cast<long long>(cfg_.train.max_steps), r.loss,
          r.lr, r.grad_norm, tps / 1000.0, 100.0 * mfu, format_duration(elapsed).c_str(),
          format_duration(eta).c_str());
    }
  }

  void write_metrics(const nlohmann::json& line) {
    metrics_->write(line);
    if (opts_.hooks.on_metrics) opts_.hooks.on_metrics(line);
  }

  // Returns true when early stopping triggers.
  bool evaluate_and_check_patience() {
    const double val = evaluate(model_, cfg_, cfg_.train.eval_steps).loss;
    write_metrics({{"step", step_}, {"val_loss", val}, {"val_ppl", std::exp(val)}});
    say("eval at step %lld: val_loss %.4f  perplexity %.2f\n", static_cast<long long>(step_), val,
        std::exp(val));
    if (val < best_val_) {
      best_val_ = val;
      evals_without_improvement_ = 0;
      return false;
    }
    ++evals_without_improvement_;
    if (cfg_.train.early_stop_patience > 0 &&
        evals_without_improvement_ >= cfg_.train.early_stop_patience) {
      say("early stop: validation loss has not improved on %.4f for %lld evaluations\n", best_val_,
          static_cast<long long>(evals_without_improvement_));
      return true;
    }
    return false;
  }

  // The run keeps its own copy of the dataset's tokenizer, so its checkpoints still speak text
  // when the dataset has moved or been rebuilt.
  void copy_dataset_tokenizer() {
    if (cfg_.data.path.empty()) return;
    const std::string src = cfg_.data.path + "/tokenizer.json";
    if (!fs::is_regular_file(src)) return;
    const std::string dst = cfg_.train.out_dir + "/tokenizer.json";
    std::error_code ec;
    fs::copy_file(src, dst + ".tmp", fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(dst + ".tmp", dst, ec);
    SF_CHECK(!ec) << "train: cannot copy the dataset's tokenizer '" << src << "' into '" << dst
                  << "': " << ec.message();
  }

  // An SFT run's tokenizer (byte-chat or a file) goes into the run directory too: prompts,
  // generation and evaluation of its checkpoints then read ids the way training wrote them.
  void write_sft_tokenizer() {
    if (cfg_.data.sft.empty()) return;
    data::save_tokenizer(data::sft_tokenizer(cfg_.data.tokenizer),
                         cfg_.train.out_dir + "/tokenizer.json");
  }

  // train.init_from: the weights of another run start this one; nothing else of it is taken.
  void init_from(const std::string& dir) {
    SF_CHECK(fs::is_directory(dir)) << "train.init_from = '" << dir
                                    << "': no such checkpoint directory";
    Checkpoint c = load_checkpoint(dir);
    SF_CHECK(c.state.contains("config") && c.state["config"].is_string())
        << "train.init_from = '" << dir << "': state.json has no config";
    const Config saved = parse_config(c.state["config"].get<std::string>(), dir + "/state.json");
    const std::string diff = model_difference(saved.model, cfg_.model);
    SF_CHECK(diff.empty()) << "train.init_from = '" << dir
                           << "': the checkpoint's model was built from a different [model] "
                              "config than this run's ("
                           << diff << "); use the config it was trained with";
    model_.load_state(c.model);
  }

  void checkpoint() {
    Checkpoint c;
    c.model = model_.named_parameters();
    for (auto& b : model_.named_buffers()) c.model.push_back(b);
    c.optimizer = optimizer_->state();
    c.optimizer.emplace_back("step", scalar_tensor(static_cast<double>(optimizer_->steps_taken()),
                                                   DType::i64));
    const GeneratorState rng = default_generator().state();
    c.state = {{"step", step_},
               {"config", config_to_toml(cfg_)},
               {"data", {{"train", train_src_->state()}}},
               {"rng", {{"seed", rng.seed}, {"offset", rng.offset}}},
               {"optimizer_steps", optimizer_->steps_taken()},
               {"tokens_seen", tokens_seen_},
               {"best_val_loss", std::isfinite(best_val_) ? nlohmann::json(best_val_) : nlohmann::json(nullptr)},
               {"evals_without_improvement", evals_without_improvement_},
               {"skipped_steps", skipped_},
               {"bad_streak", bad_streak_}};
    if (scaler_)
      c.state["loss_scaler"] = {{"scale", scaler_->scale()},
                                {"clean_streak", scaler_->clean_streak()},
                                {"overflow_steps", scaler_->overflow_steps()}};
    summary_.last_checkpoint = save_checkpoint(cfg_.train.out_dir, c, cfg_.train.keep_checkpoints);
    if (opts_.hooks.on_checkpoint) opts_.hooks.on_checkpoint(summary_.last_checkpoint, step_);
  }

  void resume(const std::string& dir) {
    Checkpoint c = load_checkpoint(dir);
    const Config saved = parse_config(c.state.at("config").get<std::string>(), dir + "/state.json");
    const std::string diff = model_difference(saved.model, cfg_.model);
    SF_CHECK(diff.empty()) << "resume: the model in '" << dir
                           << "' was built from a different [model] config (" << diff << ")";
    model_.load_state(c.model);
    NamedTensors opt_state;
    int64_t opt_steps = 0;
    for (auto& [n, t] : c.optimizer) {
      if (n == "step")
        opt_steps = t.item<int64_t>();
      else
        opt_state.emplace_back(n, t);
    }
    optimizer_->load_state(opt_state, opt_steps);
    train_src_->set_state(c.state.at("data").at("train"));
    default_generator().set_state(
        {c.state["rng"]["seed"].get<uint64_t>(), c.state["rng"]["offset"].get<uint64_t>()});
    step_ = c.state.at("step").get<int64_t>();
    tokens_seen_ = c.state.value("tokens_seen", int64_t{0});
    best_val_ = c.state["best_val_loss"].is_number() ? c.state["best_val_loss"].get<double>()
                                                     : std::numeric_limits<double>::infinity();
    evals_without_improvement_ = c.state.value("evals_without_improvement", int64_t{0});
    skipped_ = c.state.value("skipped_steps", int64_t{0});
    bad_streak_ = c.state.value("bad_streak", int64_t{0});
    if (scaler_ && c.state.contains("loss_scaler")) {
      const auto& ls = c.state["loss_scaler"];
      scaler_->restore(ls.at("scale").get<double>(), ls.at("clean_streak").get<int64_t>(),
                       ls.at("overflow_steps").get<int64_t>());
    }
  }

  Config cfg_;
  TrainOptions opts_;
  Generator gen_;
  nn::Transformer model_;
  std::unique_ptr<optim::AdamW> optimizer_;
  optim::LrSchedule schedule_;
  std::unique_ptr<data::TokenSource> train_src_;
  std::vector<Tensor> params_;
  DType lowp_ = DType::f32;          // the product dtype of train.precision
  ops::LowpWeights lowp_weights_;    // the weights' 16-bit copies (bf16/fp16 runs)
  std::unique_ptr<LossScaler> scaler_;  // fp16 runs only
  std::unique_ptr<MetricsLog> metrics_;
  std::vector<std::vector<int64_t>> last_loads_;
  std::vector<int64_t> dropped_;
  MemoryReport memory_;
  int64_t step_ = 0, tokens_seen_ = 0, skipped_ = 0, bad_streak_ = 0;
  int64_t evals_without_improvement_ = 0;
  double best_val_ = std::numeric_limits<double>::infinity();
  TrainSummary summary_;
};

}  // namespace

TrainSummary run_training(const Config& config, const TrainOptions& options) {
  validate_config(config);
  Run run(config, options);
  return run.run();
}

}  // namespace seekforge::train
