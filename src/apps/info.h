// `seekforge info`: what this build runs on (threads, CPU features, oneDNN), and what it can do.
#pragma once

#include <CLI/CLI.hpp>

namespace seekforge::apps {

CLI::App* add_info_command(CLI::App& app);
int run_info();

}  // namespace seekforge::apps
