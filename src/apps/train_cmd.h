// The model subcommands: train, eval, generate and fwdbwd.
#pragma once

#include <CLI/CLI.hpp>

namespace seekforge::apps {

CLI::App* add_train_command(CLI::App& app);
int run_train();
CLI::App* add_eval_command(CLI::App& app);
int run_eval();
CLI::App* add_generate_command(CLI::App& app);
int run_generate();
CLI::App* add_fwdbwd_command(CLI::App& app);
int run_fwdbwd();

}  // namespace seekforge::apps
