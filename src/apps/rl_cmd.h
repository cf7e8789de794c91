// `seekforge rl --config RL.toml --checkpoint DIR [--algo grpo|ppo|es] [--set k=v ...]
// [--eval-only]`: RL post-training of a checkpoint on a verifiable task (rl/rl_run.h).
#pragma once

#include <CLI/CLI.hpp>

namespace seekforge::apps {

CLI::App* add_rl_command(CLI::App& app);
int run_rl();

}  // namespace seekforge::apps
