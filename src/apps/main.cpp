// The seekforge command-line program: one subcommand per job, each a thin call into the library.
// Errors from the library (seekforge::Error) are printed as one line and exit with status 1.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "apps/commands.h"
#include "core/error.h"
#include "core/threads.h"

int main(int argc, char** argv) {
  CLI::App app{"seekforge: DeepSeek-style mixture-of-experts language models from scratch"};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "worker threads (default: SEEKFORGE_THREADS or all cores)")
      ->check(CLI::Range(1, 4096));
  seekforge::apps::register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (threads > 0) seekforge::set_num_threads(threads);
    (void)seekforge::num_threads();
    return seekforge::apps::run_selected(app);
  } catch (const seekforge::Error& e) {
    std::fprintf(stderr, "seekforge: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seekforge: error: %s\n", e.what());
    return 1;
  }
}
