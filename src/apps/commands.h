// Registration of the subcommands; each lives in its own file under apps/.
#pragma once

#include <CLI/CLI.hpp>

namespace seekforge::apps {

void register_commands(CLI::App& app);
// Runs the subcommand the user chose; returns the process exit status.
int run_selected(CLI::App& app);

}  // namespace seekforge::apps
