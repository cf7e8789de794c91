// `seekforge tasks`: writes generated task problems (rl/tasks.h) as JSON lines, the prompt and
// response pairs that supervised fine-tuning reads, with the answer and target beside them.
#pragma once

#include <CLI/CLI.hpp>

namespace seekforge::apps {

CLI::App* add_tasks_command(CLI::App& app);
int run_tasks();

}  // namespace seekforge::apps
