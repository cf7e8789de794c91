// The tokenizer subcommand: train, import, export, encode and decode (src/data does the work).
#pragma once

#include <CLI/CLI.hpp>

namespace seekforge::apps {

CLI::App* add_tokenizer_command(CLI::App& app);
int run_tokenizer();

}  // namespace seekforge::apps
