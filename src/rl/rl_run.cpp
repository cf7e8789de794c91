#include "rl/rl_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>

#include "autograd/node.h"
#include "core/error.h"
#include "data/chat.h"
#include "data/tokenizer_io.h"
#include "nn/layers.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/policy_loss.h"
#include "ops/shape.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "rl/adaptive_clip.h"
#include "rl/advantage.h"
#include "rl/evolution.h"
#include "rl/experience.h"
#include "rl/replay_buffer.h"
#include "rl/rollout.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/metrics.h"
#include "train/text_codec.h"
#include "train/trainer.h"

namespace seekforge::rl {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The problems held out for measuring: the same for every run of a task config, whatever the
// RL seed, so accuracies of different runs (and of the SFT checkpoint) compare.
constexpr uint64_t kTestSeed = 0;

data::Tokenizer policy_tokenizer(const Config& config, const std::string& checkpoint) {
  const train::TextCodec codec = train::TextCodec::for_checkpoint(config, checkpoint);
  SF_CHECK(codec.tokenizer() != nullptr)
      << "rl: the checkpoint '" << checkpoint << "' has no tokenizer (" << codec.describe()
      << "); RL needs one with the chat special tokens: fine-tune the model with `seekforge sft` "
         "first";
  data::chat_tokens(*codec.tokenizer());  // throws naming the missing special token
  return *codec.tokenizer();
}

// Scalars of a batch of numbers.
struct Moments {
  double mean = 0, std = 0;
};
Moments moments(const std::vector<double>& v) {
  Moments m;
  if (v.empty()) return m;
  for (double x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  for (double x : v) m.std += (x - m.mean) * (x - m.mean);
  m.std = std::sqrt(m.std / static_cast<double>(v.size()));
  return m;
}

class Run {
 public:
  Run(const RlConfig& config, const RlOptions& options)
      : cfg_(config), opts_(options), task_(config.task), rewards_(config.rewards) {
    train::TrainedModel t = train::load_trained_model(options.checkpoint);
    model_cfg_ = t.config;
    policy_ = std::move(t.model);
    tokenizer_ = std::make_unique<data::Tokenizer>(policy_tokenizer(model_cfg_, options.checkpoint));
    chat_ = data::chat_tokens(*tokenizer_);
    SF_CHECK(tokenizer_->vocab_size() <= model_cfg_.model.vocab_size)
        << "rl: the tokenizer has " << tokenizer_->vocab_size()
        << " ids, more than the model's vocab_size " << model_cfg_.model.vocab_size;
    if (cfg_.kl_coef > 0 && cfg_.algo != "es")
      reference_ = train::load_trained_model(options.checkpoint).model;
    test_set_ = task_.test_set(cfg_.eval_problems, kTestSeed);
  }

  RlSummary run() {
    fs::create_directories(cfg_.out_dir);
    write_text(cfg_.out_dir + "/rl.toml", rl_config_to_toml(cfg_));
    write_text(cfg_.out_dir + "/config.toml", config_to_toml(model_cfg_));
    data::save_tokenizer(*tokenizer_, cfg_.out_dir + "/tokenizer.json");
    metrics_ = std::make_unique<train::MetricsLog>(cfg_.out_dir + "/metrics.jsonl", -1);
    train::stop_requested().store(false);
    say("seekforge rl: %s on %s from %s; %lld parameters; out_dir %s\n", cfg_.algo.c_str(),
        cfg_.task.name.c_str(), opts_.checkpoint.c_str(),
        static_cast<long long>(policy_->num_parameters()), cfg_.out_dir.c_str());

    const TaskScore first = evaluate(0);
    summary_.initial_accuracy = first.accuracy;
    summary_.initial_format_rate = first.format_rate;
    if (cfg_.algo == "es")
      run_es();
    else
      run_policy_gradient();
    const TaskScore last = evaluate(step_);
    summary_.final_accuracy = last.accuracy;
    summary_.final_format_rate = last.format_rate;
    checkpoint();
    summary_.steps = step_;
    say("held-out accuracy %.1f%% -> %.1f%% (format %.1f%% -> %.1f%%); checkpoint %s\n",
        100 * summary_.initial_accuracy, 100 * summary_.final_accuracy,
        100 * summary_.initial_format_rate, 100 * summary_.final_format_rate,
        summary_.last_checkpoint.c_str());
    return summary_;
  }

 private:
  // One prompt's rollouts and their scores.
  struct Rollouts {
    std::vector<Problem> problems;
    std::vector<std::vector<int64_t>> prompts;  // per problem
    std::vector<Completion> completions;       // problem-major, group per problem
    std::vector<std::string> texts;
    std::vector<double> rewards;
    std::vector<std::vector<double>> parts;
    double accuracy = 0, format_rate = 0, mean_tokens = 0;
  };

  template <typename... A>
  void say(const char* fmt, A... args) {
    if (opts_.quiet) return;
    std::printf(fmt, args...);
    std::fflush(stdout);
  }

  static void write_text(const std::string& path, const std::string& text) {
    std::ofstream f(path);
    f << text;
    SF_CHECK(f.good()) << "rl: cannot write '" << path << "'";
  }

  SamplingConfig sampling() const {
    return {cfg_.max_tokens, cfg_.temperature, cfg_.top_p, cfg_.top_k, cfg_.seed};
  }

  Rollouts sample(int64_t step, int64_t n_problems, int64_t group, const SamplingConfig& s) {
    Rollouts r;
    for (int64_t i = 0; i < n_problems; ++i) {
      r.problems.push_back(task_.sample(TaskSplit::train, cfg_.seed,
                                        static_cast<uint64_t>(step * n_problems + i)));
      r.prompts.push_back(data::chat_prompt_ids(*tokenizer_, r.problems.back().prompt));
    }
    r.completions = sample_completions(*policy_, r.prompts, group, s, chat_.eos,
                                       static_cast<uint64_t>(step));
    return r;
  }

  // mean_nll: per completion, the policy's own mean negative log-likelihood (NaN: unknown).
  void score(Rollouts& r, int64_t group, const std::vector<double>& mean_nll) {
    const size_t n = r.completions.size();
    r.texts.resize(n);
    r.rewards.resize(n);
    r.parts.resize(n);
    int64_t correct = 0, formed = 0, tokens = 0;
    for (size_t i = 0; i < n; ++i) {
      const Problem& p = r.problems[i / static_cast<size_t>(group)];
      const auto& ids = r.completions[i].tokens;
      r.texts[i] = tokenizer_->decode(std::vector<uint32_t>(ids.begin(), ids.end()));
      RewardContext ctx;
      ctx.problem = &p;
      ctx.task = &task_;
      ctx.prompt = p.prompt;
      ctx.response = r.texts[i];
      ctx.response_tokens = static_cast<int64_t>(ids.size());
      ctx.max_tokens = cfg_.max_tokens;
      ctx.mean_nll = i < mean_nll.size() ? mean_nll[i] : std::nan("");
      r.rewards[i] = rewards_.score(ctx, &r.parts[i]);
      const ParsedResponse pr = parse_response(r.texts[i]);
      correct += pr.answer_count == 1 && task_.is_correct(p, pr.answer);
      formed += pr.well_formed;
      tokens += static_cast<int64_t>(ids.size());
    }
    r.accuracy = static_cast<double>(correct) / static_cast<double>(n);
    r.format_rate = static_cast<double>(formed) / static_cast<double>(n);
    r.mean_tokens = static_cast<double>(tokens) / static_cast<double>(n);
  }

  nlohmann::json reward_metrics(const Rollouts& r) const {
    const Moments m = moments(r.rewards);
    nlohmann::json line = {{"reward_mean", m.mean},       {"reward_std", m.std},
                           {"accuracy", r.accuracy},      {"format_rate", r.format_rate},
                           {"response_len", r.mean_tokens}};
    const std::vector<std::string> names = rewards_.names();
    for (size_t k = 0; k < names.size(); ++k) {
      double sum = 0;
      for (const auto& p : r.parts) sum += p[k];
      line["reward_" + names[k]] = sum / static_cast<double>(std::max<size_t>(r.parts.size(), 1));
    }
    return line;
  }

  // ---- GRPO and PPO -----------------------------------------------------------------------------

  void run_policy_gradient() {
    const bool ppo = cfg_.algo == "ppo";
    std::vector<Tensor> params = policy_->parameters();
    std::vector<optim::ParamGroup> groups{
        {policy_->decay_parameters(), cfg_.lr, cfg_.weight_decay, 1.0, "decay"},
        {policy_->no_decay_parameters(), cfg_.lr, 0.0, 1.0, "no_decay"}};
    if (ppo) {
      Generator gen(cfg_.seed ^ 0x7661u);
      // Zero-initialised head: the first values are 0, so the first advantages are the rewards.
      value_head_ = std::make_unique<nn::Linear>(model_cfg_.model.d_model, 1, 0.0, gen);
      groups.push_back({value_head_->parameters(), cfg_.lr, 0.0, 1.0, "value_head"});
      for (const Tensor& p : value_head_->parameters()) params.push_back(p);
      clip_ = std::make_unique<AdaptiveClip>(AdaptiveClipOptions{
          cfg_.clip_eps, cfg_.ppo.clip_min, cfg_.ppo.clip_max, cfg_.ppo.target_spread,
          cfg_.ppo.clip_rate});
      replay_ = std::make_unique<ReplayBuffer>(cfg_.ppo.replay_capacity, cfg_.ppo.replay_fraction,
                                               cfg_.ppo.replay_max_age);
    }
    optimizer_ = std::make_unique<optim::AdamW>(
        groups, optim::AdamWOptions{cfg_.beta1, cfg_.beta2, 1e-8});
    const optim::LrSchedule schedule{optim::ScheduleKind::cosine, cfg_.lr, cfg_.min_lr,
                                     cfg_.warmup_steps, cfg_.steps};
    while (step_ < cfg_.steps) {
      if (train::stop_requested().load()) {
        summary_.interrupted = true;
        say("\nstopping on a signal at step %lld\n", static_cast<long long>(step_));
        break;
      }
      optimizer_->set_lr(schedule.lr_at(step_));
      nlohmann::json line = ppo ? ppo_step(params) : grpo_step(params);
      ++step_;
      line["step"] = step_;
      line["lr"] = schedule.lr_at(step_ - 1);
      metrics_->write(line);
      if (step_ == 1 || step_ % cfg_.log_every == 0 || step_ == cfg_.steps)
        say("step %lld/%lld  reward %.3f  acc %.1f%%  format %.1f%%  kl %.4f  clip %.3f  len %.1f  "
            "(rollout %.1fs, update %.1fs)\n",
            static_cast<long long>(step_), static_cast<long long>(cfg_.steps),
            line["reward_mean"].get<double>(), 100 * line["accuracy"].get<double>(),
            100 * line["format_rate"].get<double>(), line["kl"].get<double>(),
            line["clip_fraction"].get<double>(), line["response_len"].get<double>(),
            line["rollout_s"].get<double>(), line["update_s"].get<double>());
      if (cfg_.eval_every > 0 && step_ % cfg_.eval_every == 0 && step_ < cfg_.steps) evaluate(step_);
      if (cfg_.checkpoint_every > 0 && step_ % cfg_.checkpoint_every == 0 && step_ < cfg_.steps)
        checkpoint();
    }
  }

  // The rows of a minibatch, packed, with everything the loss compares against computed before
  // any update of this step (the "old" policy is the one that sampled).
  struct Minibatch {
    std::vector<int64_t> rows;
    SequenceBatch seq;
    Tensor old_logp, ref_logp, old_values;
    Tensor advantages;  // [n] (GRPO) or [n, L] (PPO)
    Tensor returns;     // PPO
    Tensor weights;     // importance weights (PPO replay), or undefined
  };

  Minibatch pack_rows(const std::vector<const std::vector<int64_t>*>& prompts,
                      const std::vector<const std::vector<int64_t>*>& completions) {
    Minibatch mb;
    mb.seq = pack_sequences(prompts, completions, chat_.eos);
    autograd::NoGradGuard no_grad;
    Tensor hidden;
    mb.old_logp = completion_logprobs(*policy_, mb.seq, cfg_.temperature, value_head_ ? &hidden : nullptr);
    if (value_head_) mb.old_values = values_of(hidden);
    if (reference_) mb.ref_logp = completion_logprobs(*reference_, mb.seq, cfg_.temperature);
    return mb;
  }

  Tensor values_of(const Tensor& hidden) const {
    Tensor v = value_head_->forward(hidden);  // [N, L, 1]
    return ops::reshape(v, {v.size(0), v.size(1)});
  }

  ops::PolicyLossOptions loss_options() const {
    ops::PolicyLossOptions o;
    o.clip_eps = clip_ ? clip_->eps() : cfg_.clip_eps;
    o.clip_eps_high = clip_ ? -1.0 : cfg_.clip_eps_high;
    o.kl_coef = reference_ ? cfg_.kl_coef : 0.0;
    o.sequence_mean = cfg_.loss_mean == "sequence";
    return o;
  }

  // The optimisation passes over the prepared minibatches. Returns the token-weighted stats.
  nlohmann::json update(std::vector<Minibatch>& mbs, const std::vector<Tensor>& params) {
    double loss_sum = 0, clip_sum = 0, kl_sum = 0, ratio_std_sum = 0, vloss_sum = 0, gnorm = 0;
    double weight_sum = 0;
    int64_t n_steps = 0;
    for (int64_t epoch = 0; epoch < cfg_.epochs; ++epoch) {
      for (Minibatch& mb : mbs) {
        optimizer_->zero_grad();
        Tensor hidden;
        Tensor logp = completion_logprobs(*policy_, mb.seq, cfg_.temperature,
                                          value_head_ ? &hidden : nullptr);
        ops::PolicyLossStats st;
        Tensor loss = ops::policy_loss(logp, mb.old_logp, mb.ref_logp, mb.advantages, mb.seq.mask,
                                       loss_options(), &st, mb.weights);
        if (value_head_) {
          Tensor vl = ops::value_loss(values_of(hidden), mb.old_values, mb.returns, mb.seq.mask,
                                      cfg_.ppo.value_clip);
          vloss_sum += vl.item_double();
          loss = ops::add(loss, ops::mul(vl, cfg_.ppo.vf_coef));
        }
        loss.backward();
        gnorm = optim::clip_grad_norm(params, cfg_.clip_grad_norm);
        if (std::isfinite(gnorm)) optimizer_->step();
        const double w = ops::sum(mb.seq.mask).item_double();
        loss_sum += loss.item_double();
        clip_sum += st.clip_fraction * w;
        kl_sum += st.kl_mean * w;
        ratio_std_sum += st.ratio_std * w;
        weight_sum += w;
        ++n_steps;
      }
    }
    const double W = std::max(weight_sum, 1.0);
    nlohmann::json line = {{"loss", loss_sum / static_cast<double>(std::max<int64_t>(n_steps, 1))},
                           {"clip_fraction", clip_sum / W},
                           {"kl", kl_sum / W},
                           {"ratio_std", ratio_std_sum / W},
                           {"grad_norm", gnorm}};
    if (value_head_)
      line["value_loss"] = vloss_sum / static_cast<double>(std::max<int64_t>(n_steps, 1));
    return line;
  }

  // Row i of every minibatch split: contiguous runs of whole groups where possible.
  std::vector<std::vector<int64_t>> split_rows(int64_t n) const {
    const int64_t k = std::min<int64_t>(cfg_.minibatches, n);
    std::vector<std::vector<int64_t>> out(k);
    for (int64_t i = 0; i < n; ++i) out[i * k / n].push_back(i);
    return out;
  }

  std::vector<double> mean_nll_of(const std::vector<Minibatch>& mbs, size_t n) const {
    std::vector<double> nll(n, std::nan(""));
    for (const Minibatch& mb : mbs) {
      const auto per_row = completion_values(mb.old_logp, mb.seq);
      for (size_t j = 0; j < mb.rows.size(); ++j) {
        double s = 0;
        for (float x : per_row[j]) s -= x;
        if (!per_row[j].empty()) nll[mb.rows[j]] = s / static_cast<double>(per_row[j].size());
      }
    }
    return nll;
  }

  nlohmann::json grpo_step(const std::vector<Tensor>& params) {
    const auto t0 = Clock::now();
    Rollouts r = sample(step_, cfg_.prompts_per_step, cfg_.group_size, sampling());
    const double rollout_s = seconds_since(t0);

    const auto t1 = Clock::now();
    const int64_t n = static_cast<int64_t>(r.completions.size());
    std::vector<Minibatch> mbs;
    for (const auto& rows : split_rows(n)) {
      std::vector<const std::vector<int64_t>*> prompts, completions;
      for (int64_t i : rows) {
        prompts.push_back(&r.prompts[i / cfg_.group_size]);
        completions.push_back(&r.completions[i].tokens);
      }
      mbs.push_back(pack_rows(prompts, completions));
      mbs.back().rows = rows;
    }
    const double logp_s = seconds_since(t1);
    const auto t2 = Clock::now();
    score(r, cfg_.group_size, mean_nll_of(mbs, static_cast<size_t>(n)));
    const std::vector<double> adv =
        group_advantages(r.rewards, cfg_.group_size, cfg_.adv_eps, cfg_.scale_by_std);
    for (Minibatch& mb : mbs) {
      std::vector<float> a;
      for (int64_t i : mb.rows) a.push_back(static_cast<float>(adv[i]));
      mb.advantages = from_vector(a, {static_cast<int64_t>(a.size())});
    }
    const double score_s = seconds_since(t2);
    // Groups whose rewards all agree have zero advantages: they teach nothing this step.
    int64_t informative = 0;
    for (int64_t g = 0; g < cfg_.prompts_per_step; ++g) {
      const auto first = r.rewards.begin() + g * cfg_.group_size;
      informative += std::any_of(first, first + cfg_.group_size,
                                 [&](double x) { return x != *first; });
    }

    const auto t3 = Clock::now();
    nlohmann::json line = update(mbs, params);
    line.update(reward_metrics(r));
    line["informative_groups"] =
        static_cast<double>(informative) / static_cast<double>(cfg_.prompts_per_step);
    line["rollout_s"] = rollout_s;
    line["score_s"] = score_s;
    line["update_s"] = seconds_since(t3) + logp_s;
    return line;
  }

  nlohmann::json ppo_step(const std::vector<Tensor>& params) {
    const auto t0 = Clock::now();
    Rollouts r = sample(step_, cfg_.prompts_per_step, cfg_.group_size, sampling());
    const double rollout_s = seconds_since(t0);

    // The fresh rollouts' log-probabilities and values under the policy that sampled them.
    const auto t1 = Clock::now();
    const int64_t n = static_cast<int64_t>(r.completions.size());
    std::vector<const std::vector<int64_t>*> prompts, completions;
    for (int64_t i = 0; i < n; ++i) {
      prompts.push_back(&r.prompts[i / cfg_.group_size]);
      completions.push_back(&r.completions[i].tokens);
    }
    Minibatch fresh = pack_rows(prompts, completions);
    for (int64_t i = 0; i < n; ++i) fresh.rows.push_back(i);
    const double logp_s = seconds_since(t1);

    const auto t2 = Clock::now();
    score(r, cfg_.group_size, mean_nll_of({fresh}, static_cast<size_t>(n)));
    const auto logp = completion_values(fresh.old_logp, fresh.seq);
    const auto values = completion_values(fresh.old_values, fresh.seq);
    std::vector<std::vector<float>> ref;
    if (fresh.ref_logp.defined()) ref = completion_values(fresh.ref_logp, fresh.seq);
    // The sequence reward arrives at the last token; GAE spreads it back through the values.
    std::vector<Experience> exps(n);
    std::vector<double> all_adv;
    std::vector<GaeResult> gaes(n);
    for (int64_t i = 0; i < n; ++i) {
      const size_t T = r.completions[i].tokens.size();
      std::vector<double> rew(T, 0.0), val(values[i].begin(), values[i].end());
      if (T > 0) rew[T - 1] = r.rewards[i];
      gaes[i] = gae(rew, val, cfg_.ppo.gamma, cfg_.ppo.lambda, 0.0);
      all_adv.insert(all_adv.end(), gaes[i].advantages.begin(), gaes[i].advantages.end());
    }
    whiten(all_adv);
    size_t at = 0;
    for (int64_t i = 0; i < n; ++i) {
      Experience& e = exps[i];
      e.prompt = r.prompts[i / cfg_.group_size];
      e.completion = r.completions[i].tokens;
      e.behaviour_logp = logp[i];
      if (!ref.empty()) e.ref_logp = ref[i];
      e.values = values[i];
      for (size_t t = 0; t < e.completion.size(); ++t) {
        e.advantages.push_back(static_cast<float>(all_adv[at++]));
        e.returns.push_back(static_cast<float>(gaes[i].returns[t]));
      }
      e.reward = r.rewards[i];
      e.step = step_;
    }
    replay_->add(std::move(exps));
    const double score_s = seconds_since(t2);

    // The update batch: this step's experiences plus a share of older ones, whose tokens came
    // from an older policy and are weighted by truncated importance ratios. The loss compares
    // against the current policy's log-probabilities: for this step's rows that is the policy
    // that sampled them, whose figures (and the reference's) the experiences already hold, so
    // only the replayed rows go through the two models again.
    const auto t3 = Clock::now();
    const std::vector<const Experience*> batch = replay_->batch(step_, cfg_.seed);
    std::vector<Minibatch> mbs;
    int64_t replayed = 0;
    for (const auto& rows : split_rows(static_cast<int64_t>(batch.size()))) {
      std::vector<const std::vector<int64_t>*> ps, cs, old_ps, old_cs;
      for (int64_t i : rows) {
        ps.push_back(&batch[i]->prompt);
        cs.push_back(&batch[i]->completion);
        if (batch[i]->step != step_) {
          old_ps.push_back(&batch[i]->prompt);
          old_cs.push_back(&batch[i]->completion);
        }
      }
      Minibatch mb;
      mb.seq = pack_sequences(ps, cs, chat_.eos);
      mb.rows = rows;
      std::vector<std::vector<float>> replay_logp, replay_ref;  // per replayed row, in order
      if (!old_ps.empty()) {
        const Minibatch again = pack_rows(old_ps, old_cs);
        replay_logp = completion_values(again.old_logp, again.seq);
        if (again.ref_logp.defined()) replay_ref = completion_values(again.ref_logp, again.seq);
      }
      const int64_t N = static_cast<int64_t>(rows.size()), L = mb.seq.input_ids.size(1);
      std::vector<float> adv(N * L, 0.0f), ret(N * L, 0.0f), old_v(N * L, 0.0f);
      std::vector<float> logp_now(N * L, 0.0f), ref_now(reference_ ? N * L : 0, 0.0f);
      std::vector<double> now_sum, behaviour_sum;
      size_t k = 0;  // the next replayed row
      for (int64_t j = 0; j < N; ++j) {
        const Experience& e = *batch[rows[j]];
        const bool old = e.step != step_;
        const std::vector<float>& now = old ? replay_logp[k] : e.behaviour_logp;
        const std::vector<float>& ref = old && !replay_ref.empty() ? replay_ref[k] : e.ref_logp;
        k += old;
        for (size_t t = 0; t < e.completion.size(); ++t) {
          const int64_t pos = j * L + mb.seq.first[j] + static_cast<int64_t>(t);
          adv[pos] = e.advantages[t];
          ret[pos] = e.returns[t];
          old_v[pos] = e.values[t];
          logp_now[pos] = now[t];
          if (reference_) ref_now[pos] = ref[t];
        }
        now_sum.push_back(std::accumulate(now.begin(), now.end(), 0.0));
        behaviour_sum.push_back(std::accumulate(e.behaviour_logp.begin(), e.behaviour_logp.end(), 0.0));
      }
      std::vector<double> w = importance_weights(now_sum, behaviour_sum, cfg_.ppo.importance_clip);
      std::vector<float> wf;
      for (int64_t j = 0; j < N; ++j) {
        const bool old = batch[rows[j]]->step != step_;
        replayed += old;
        wf.push_back(old ? static_cast<float>(w[j]) : 1.0f);
      }
      mb.old_logp = from_vector(logp_now, {N, L});
      if (reference_) mb.ref_logp = from_vector(ref_now, {N, L});
      mb.advantages = from_vector(adv, {N, L});
      mb.returns = from_vector(ret, {N, L});
      mb.old_values = from_vector(old_v, {N, L});
      mb.weights = from_vector(wf, {N});
      mbs.push_back(std::move(mb));
    }
    nlohmann::json line = update(mbs, params);
    line["clip_eps"] = clip_->eps();
    if (cfg_.ppo.adaptive_clip) clip_->update(line["ratio_std"].get<double>());
    line.update(reward_metrics(r));
    line["replayed"] = replayed;
    line["rollout_s"] = rollout_s;
    line["score_s"] = score_s;
    line["update_s"] = seconds_since(t3) + logp_s;
    return line;
  }

  // ---- evolution strategies ---------------------------------------------------------------------

  void run_es() {
    std::vector<Tensor> params = policy_->parameters();
    EvolutionOptions eo{cfg_.es.population, cfg_.es.elite,          cfg_.es.sigma,
                        cfg_.es.mutation_rate, cfg_.es.crossover_rate, cfg_.seed};
    EvolutionStrategy es(flatten_parameters(params), eo);
    SamplingConfig greedy = sampling();
    greedy.temperature = 0.0;  // a member's fitness is then a function of its weights alone
    while (step_ < cfg_.steps) {
      if (train::stop_requested().load()) {
        summary_.interrupted = true;
        break;
      }
      const auto t0 = Clock::now();
      std::vector<double> fitness;
      double score_s = 0, acc_sum = 0, format_sum = 0, len_sum = 0;
      for (const std::vector<float>& member : es.members()) {
        load_flat_parameters(member, params);
        // Every member of every generation meets the same problems, so fitnesses compare
        // across generations and the elite carried over keeps its score.
        Rollouts r = sample(0, cfg_.es.problems, 1, greedy);
        const auto t1 = Clock::now();
        score(r, 1, {});
        score_s += seconds_since(t1);
        fitness.push_back(moments(r.rewards).mean);
        acc_sum += r.accuracy;
        format_sum += r.format_rate;
        len_sum += r.mean_tokens;
      }
      const double total_s = seconds_since(t0);
      const Moments fm = moments(fitness);
      const double gen_best = *std::max_element(fitness.begin(), fitness.end());
      es.tell(fitness);
      ++step_;
      const double P = static_cast<double>(fitness.size());
      nlohmann::json line = {{"step", step_},
                             {"reward_mean", fm.mean},
                             {"reward_std", fm.std},
                             {"reward_best", gen_best},
                             {"best_fitness", es.best_fitness()},
                             {"accuracy", acc_sum / P},
                             {"format_rate", format_sum / P},
                             {"response_len", len_sum / P},
                             {"rollout_s", total_s - score_s},
                             {"score_s", score_s},
                             {"update_s", 0.0}};
      metrics_->write(line);
      if (step_ == 1 || step_ % cfg_.log_every == 0 || step_ == cfg_.steps)
        say("generation %lld/%lld  fitness mean %.3f best %.3f (best so far %.3f)  acc %.1f%%\n",
            static_cast<long long>(step_), static_cast<long long>(cfg_.steps), fm.mean, gen_best,
            es.best_fitness(), 100 * acc_sum / P);
      load_flat_parameters(es.best(), params);
      if (cfg_.eval_every > 0 && step_ % cfg_.eval_every == 0 && step_ < cfg_.steps) evaluate(step_);
    }
    load_flat_parameters(es.best(), params);  // the run's result is its best member
  }

  // ---- measuring and saving ---------------------------------------------------------------------

  TaskScore evaluate(int64_t step) {
    const auto t0 = Clock::now();
    TaskScore s = score_task(*policy_, *tokenizer_, task_, test_set_, cfg_.max_tokens);
    metrics_->write({{"step", step},
                     {"test_accuracy", s.accuracy},
                     {"test_format_rate", s.format_rate},
                     {"test_response_len", s.mean_tokens},
                     {"eval_s", seconds_since(t0)}});
    say("eval at step %lld: held-out accuracy %.1f%% (%lld problems), format %.1f%%, length %.1f\n",
        static_cast<long long>(step), 100 * s.accuracy, static_cast<long long>(s.problems),
        100 * s.format_rate, s.mean_tokens);
    return s;
  }

  void checkpoint() {
    train::Checkpoint c;
    c.model = policy_->named_parameters();
    for (auto& b : policy_->named_buffers()) c.model.push_back(b);
    if (optimizer_) c.optimizer = optimizer_->state();
    c.optimizer.emplace_back(
        "step", scalar_tensor(static_cast<double>(optimizer_ ? optimizer_->steps_taken() : 0),
                              DType::i64));
    c.state = {{"step", step_},
               {"config", config_to_toml(model_cfg_)},
               {"rl_config", rl_config_to_toml(cfg_)},
               {"rl_start", opts_.checkpoint}};
    summary_.last_checkpoint = train::save_checkpoint(cfg_.out_dir, c, cfg_.keep_checkpoints);
  }

  RlConfig cfg_;
  RlOptions opts_;
  Task task_;
  RewardMix rewards_;
  Config model_cfg_;
  std::unique_ptr<nn::Transformer> policy_, reference_;
  std::unique_ptr<data::Tokenizer> tokenizer_;
  data::ChatTokens chat_;
  std::vector<Problem> test_set_;
  std::unique_ptr<optim::AdamW> optimizer_;
  std::unique_ptr<nn::Linear> value_head_;
  std::unique_ptr<AdaptiveClip> clip_;
  std::unique_ptr<ReplayBuffer> replay_;
  std::unique_ptr<train::MetricsLog> metrics_;
  int64_t step_ = 0;
  RlSummary summary_;
};

}  // namespace

RlSummary run_rl(const RlConfig& config, const RlOptions& options) {
  validate(config);
  SF_CHECK(!options.checkpoint.empty()) << "rl: give the starting policy (--checkpoint DIR)";
  Run run(config, options);
  return run.run();
}

TaskScore evaluate_checkpoint(const RlConfig& config, const std::string& checkpoint) {
  train::TrainedModel t = train::load_trained_model(checkpoint);
  const data::Tokenizer tok = policy_tokenizer(t.config, checkpoint);
  const Task task(config.task);
  return score_task(*t.model, tok, task, task.test_set(config.eval_problems, kTestSeed),
                    config.max_tokens);
}

}  // namespace seekforge::rl
