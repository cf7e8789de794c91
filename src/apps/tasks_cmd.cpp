// `seekforge tasks`: a thin wrapper over rl::Task.
//
//   tasks --task NAME [--min-digits 1 --max-digits 2 --countdown-numbers 3 --countdown-max 30
//         --test-fraction 0.1] --split train|test --count N [--seed S] --out FILE.jsonl
//
// One JSON object per line: {"prompt", "response" (the worked solution), "answer", "target"}.
// The train split is problems 0..N-1 of the split's stream (repeats possible in a small space);
// the test split is Task::test_set, distinct problems. The file is written to FILE.tmp and
// renamed, so a half-written file never has the final name.
#include "apps/tasks_cmd.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "data/file_io.h"
#include "rl/tasks.h"

namespace seekforge::apps {

namespace {
struct Args {
  rl::TaskConfig config;
  std::string split = "train", out;
  int64_t count = 0;
  uint64_t seed = 0;
} g;
}  // namespace

CLI::App* add_tasks_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "tasks", "write generated arithmetic or Countdown problems with worked solutions (JSONL)");
  sub->add_option("--task", g.config.name, "task: " + rl::task_names())->required();
  sub->add_option("--min-digits", g.config.min_digits, "fewest operand digits (arithmetic)")
      ->capture_default_str();
  sub->add_option("--max-digits", g.config.max_digits, "most operand digits (arithmetic)")
      ->capture_default_str();
  sub->add_option("--countdown-numbers", g.config.countdown_numbers,
                  "how many numbers a Countdown problem gives (2..6)")
      ->capture_default_str();
  sub->add_option("--countdown-max", g.config.countdown_max,
                  "Countdown numbers are drawn from [1, this]")
      ->capture_default_str();
  sub->add_option("--test-fraction", g.config.test_fraction,
                  "share of the problem space held out as the test split")
      ->capture_default_str();
  sub->add_option("--split", g.split, "train or test")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "test"}));
  sub->add_option("--count", g.count, "how many problems")
      ->required()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", g.seed, "seed of the problem stream")->capture_default_str();
  sub->add_option("--out", g.out, "output file (.jsonl)")->required();
  return sub;
}

int run_tasks() {
  const rl::Task task(g.config);
  std::vector<rl::Problem> problems;
  if (g.split == "test") {
    problems = task.test_set(g.count, g.seed);
  } else {
    problems.reserve(static_cast<size_t>(g.count));
    for (int64_t i = 0; i < g.count; ++i)
      problems.push_back(task.sample(rl::TaskSplit::train, g.seed, static_cast<uint64_t>(i)));
  }
  std::string text;
  for (const rl::Problem& p : problems) {
    const nlohmann::json line = {
        {"prompt", p.prompt}, {"response", p.solution}, {"answer", p.answer}, {"target", p.target}};
    text += line.dump() + "\n";
  }
  data::write_file_atomic(g.out, text);
  std::printf("wrote %zu %s problems of task '%s' (seed %llu) to %s\n", problems.size(),
              g.split.c_str(), g.config.name.c_str(), static_cast<unsigned long long>(g.seed),
              g.out.c_str());
  if (static_cast<int64_t>(problems.size()) < g.count)
    std::printf("the test space of this config holds only %zu problems (asked for %lld)\n",
                problems.size(), static_cast<long long>(g.count));
  return 0;
}

}  // namespace seekforge::apps
