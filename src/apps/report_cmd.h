// `seekforge report RUN_DIR [--out DIR]`: the charts and report.html of a training run
// (viz/report.h).
#pragma once

#include <CLI/CLI.hpp>

namespace seekforge::apps {

CLI::App* add_report_command(CLI::App& app);
int run_report();

}  // namespace seekforge::apps
