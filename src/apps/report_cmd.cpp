// `seekforge report`: a thin wrapper over viz::write_rl_report for an RL run (rl.toml in the run
// directory) and viz::write_report for a training run.
//
//   report RUN_DIR [--out DIR]
#include "apps/report_cmd.h"

#include <cstdio>
#include <string>

#include "viz/report.h"
#include "viz/rl_report.h"

namespace seekforge::apps {

namespace {
struct ReportArgs {
  std::string run_dir, out;
} report_args;
}  // namespace

CLI::App* add_report_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "report", "charts (PNG and SVG) and a self-contained report.html of a training or RL run");
  sub->add_option("RUN_DIR", report_args.run_dir,
                  "the run directory (train.out_dir, or an RL run's)")
      ->required();
  sub->add_option("--out", report_args.out, "write the report here instead of into RUN_DIR");
  return sub;
}

int run_report() {
  const viz::ReportResult r = viz::is_rl_run(report_args.run_dir)
                                  ? viz::write_rl_report(report_args.run_dir, report_args.out)
                                  : viz::write_report(report_args.run_dir, report_args.out);
  std::printf("wrote %s (%zu chart files beside it)\n", r.html.c_str(), r.files.size() - 1);
  return 0;
}

}  // namespace seekforge::apps
