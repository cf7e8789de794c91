// `seekforge rl`: a thin wrapper over rl::run_rl and rl::evaluate_checkpoint.
#include "apps/rl_cmd.h"

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "rl/rl_run.h"
#include "train/trainer.h"

namespace seekforge::apps {

namespace {
struct RlArgs {
  std::string config, checkpoint, algo, out_dir;
  std::vector<std::string> sets;
  bool eval_only = false, quiet = false;
} rl_args;

extern "C" void on_rl_stop_signal(int) { train::stop_requested().store(true); }
}  // namespace

CLI::App* add_rl_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "rl", "RL post-training (GRPO, PPO, evolution strategies) on a verifiable task");
  sub->add_option("--config", rl_args.config, "RL config (TOML: [rl], [task], [[rl.reward]])")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--checkpoint", rl_args.checkpoint,
                  "the starting policy (e.rl_args. an SFT checkpoint)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--algo", rl_args.algo, "grpo | ppo | es (overrides rl.algo)");
  sub->add_option("--out-dir", rl_args.out_dir, "run directory (overrides rl.out_dir)");
  sub->add_option("--set", rl_args.sets,
                  "override a key: rl.lr=1e-5, task.max_digits=3 (repeatable)");
  sub->add_flag("--eval-only", rl_args.eval_only,
                "only measure the checkpoint's held-out accuracy");
  sub->add_flag("--quiet", rl_args.quiet, "no progress lines");
  return sub;
}

int run_rl() {
  std::vector<std::string> sets = rl_args.sets;
  if (!rl_args.algo.empty()) sets.push_back("rl.algo=\"" + rl_args.algo + "\"");
  if (!rl_args.out_dir.empty()) sets.push_back("rl.out_dir=\"" + rl_args.out_dir + "\"");
  const rl::RlConfig config = rl::load_rl_config(rl_args.config, sets);
  if (rl_args.eval_only) {
    const rl::TaskScore s = rl::evaluate_checkpoint(config, rl_args.checkpoint);
    std::printf(
        "%s on %s: held-out accuracy %.1f%% over %lld problems, format %.1f%%, "
        "mean length %.1f tokens\n",
        rl_args.checkpoint.c_str(), config.task.name.c_str(), 100 * s.accuracy,
        static_cast<long long>(s.problems), 100 * s.format_rate, s.mean_tokens);
    return 0;
  }
  struct sigaction sa {};
  sa.sa_handler = on_rl_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  const rl::RlSummary s = rl::run_rl(config, {rl_args.checkpoint, rl_args.quiet});
  std::printf("done: %lld steps; held-out accuracy %.1f%% -> %.1f%%; checkpoint %s\n",
              static_cast<long long>(s.steps), 100 * s.initial_accuracy, 100 * s.final_accuracy,
              s.last_checkpoint.c_str());
  return s.interrupted ? 130 : 0;
}

}  // namespace seekforge::apps
