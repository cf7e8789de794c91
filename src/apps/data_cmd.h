// The data subcommands: `data clean` (the cleaning pipeline from a TOML file) and `data dedup`
// (exact and near-duplicate removal over one JSONL file).
#pragma once

#include <CLI/CLI.hpp>

namespace seekforge::apps {

CLI::App* add_data_command(CLI::App& app);
int run_data();

}  // namespace seekforge::apps
