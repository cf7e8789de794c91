// `seekforge engine-demo`: fits a small network with the engine alone (autograd, fused ops,
// AdamW, cosine schedule, clipping) and prints the loss falling. A smoke test a person can read.
#pragma once

#include <CLI/CLI.hpp>

namespace seekforge::apps {

CLI::App* add_engine_demo_command(CLI::App& app);
int run_engine_demo();

}  // namespace seekforge::apps
