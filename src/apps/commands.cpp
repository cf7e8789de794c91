#include "apps/commands.h"

#include <functional>
#include <map>
#include <string>

#include "apps/data_cmd.h"
#include "apps/dataset_cmd.h"
#include "apps/engine_demo.h"
#include "apps/info.h"
#include "apps/report_cmd.h"
#include "apps/rl_cmd.h"
#include "apps/sft_cmd.h"
#include "apps/tasks_cmd.h"
#include "apps/tokenizer_cmd.h"
#include "apps/train_cmd.h"
#include "apps/viz_cmd.h"

namespace seekforge::apps {

namespace {
std::map<const CLI::App*, std::function<int()>>& runners() {
  static std::map<const CLI::App*, std::function<int()>> r;
  return r;
}
}  // namespace

void register_commands(CLI::App& app) {
  runners()[add_info_command(app)] = run_info;
  runners()[add_engine_demo_command(app)] = run_engine_demo;
  runners()[add_train_command(app)] = run_train;
  runners()[add_sft_command(app)] = run_sft;
  runners()[add_eval_command(app)] = run_eval;
  runners()[add_generate_command(app)] = run_generate;
  runners()[add_fwdbwd_command(app)] = run_fwdbwd;
  runners()[add_tokenizer_command(app)] = run_tokenizer;
  runners()[add_report_command(app)] = run_report;
  runners()[add_tasks_command(app)] = run_tasks;
  runners()[add_viz_command(app)] = run_viz;
  runners()[add_rl_command(app)] = run_rl;
  // `data`: cleaning (clean, dedup) and datasets (tokenize, stats) share one App.
  CLI::App* data = add_data_command(app);
  add_dataset_commands(*data);
  runners()[data] = [] { return dataset_command_selected() ? run_dataset_command() : run_data(); };
}

int run_selected(CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands())
    if (auto it = runners().find(sub); it != runners().end()) return it->second();
  return 2;
}

}  // namespace seekforge::apps
