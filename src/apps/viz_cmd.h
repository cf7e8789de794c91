// The viz subcommand's views inside a trained model: attention heatmaps, expert routing and
// saliency for one prompt (src/viz does the work).
#pragma once

#include <CLI/CLI.hpp>

namespace seekforge::apps {

CLI::App* add_viz_command(CLI::App& app);
int run_viz();

}  // namespace seekforge::apps
