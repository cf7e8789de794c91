// The model subcommands: train, eval, generate (plain or --chat) and fwdbwd.
#pragma once

#include <CLI/CLI.hpp>

#include "train/trainer.h"

namespace seekforge::apps {

CLI::App* add_train_command(CLI::App& app);
int run_train();
// Prints how a training run ended ("done: ...", "interrupted ...") and returns the exit status.
int report_training(const train::TrainSummary& summary);
CLI::App* add_eval_command(CLI::App& app);
int run_eval();
CLI::App* add_generate_command(CLI::App& app);
int run_generate();
CLI::App* add_fwdbwd_command(CLI::App& app);
int run_fwdbwd();

}  // namespace seekforge::apps
