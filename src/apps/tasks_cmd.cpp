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
struct TasksArgs {
  rl::TaskConfig config;
  std::string split = "train", out;
  int64_t count = 0;
  uint64_t seed = 0;
} tasks_args;
}  // namespace

CLI::App* add_tasks_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "tasks", "write generated arithmetic or Countdown problems with worked solutions (JSONL)");
  sub->add_option("--task", tasks_args.config.name, "task: " + rl::task_names())->required();
  sub->add_option("--min-digits", tasks_args.config.min_digits,
                  "fewest operand digits (arithmetic)")
      ->capture_default_str();
  sub->add_option("--max-digits", tasks_args.config.max_digits, "most operand digits (arithmetic)")
      ->capture_default_str();
  sub->add_option("--countdown-numbers", tasks_args.config.countdown_numbers,
                  "how many numbers a Countdown problem gives (2..6)")
      ->capture_default_str();
  sub->add_option("--countdown-max", tasks_args.config.countdown_max,
                  "Countdown numbers are drawn from [1, this]")
      ->capture_default_str();
  sub->add_option("--test-fraction", tasks_args.config.test_fraction,
                  "share of the problem space held out as the test split")
      ->capture_default_str();
  sub->add_option("--split", tasks_args.split, "train or test")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "test"}));
  sub->add_option("--count", tasks_args.count, "how many problems")
      ->required()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", tasks_args.seed, "seed of the problem stream")->capture_default_str();
  sub->add_option("--out", tasks_args.out, "output file (.jsonl)")->required();
  return sub;
}

int run_tasks() {
  const rl::Task task(tasks_args.config);
  std::vector<rl::Problem> problems;
  if (tasks_args.split == "test") {
    problems = task.test_set(tasks_args.count, tasks_args.seed);
  } else {
    problems.reserve(static_cast<size_t>(tasks_args.count));
    for (int64_t i = 0; i < tasks_args.count; ++i)
      problems.push_back(
          task.sample(rl::TaskSplit::train, tasks_args.seed, static_cast<uint64_t>(i)));
  }
  std::string text;
  for (const rl::Problem& p : problems) {
    const nlohmann::json line = {
        {"prompt", p.prompt}, {"response", p.solution}, {"answer", p.answer}, {"target", p.target}};
    text += line.dump() + "\n";
  }
  data::write_file_atomic(tasks_args.out, text);
  std::printf("wrote %zu %s problems of task '%s' (seed %llu) to %s\n", problems.size(),
              tasks_args.split.c_str(), tasks_args.config.name.c_str(),
              static_cast<unsigned long long>(tasks_args.seed), tasks_args.out.c_str());
  if (static_cast<int64_t>(problems.size()) < tasks_args.count)
    std::printf("the test space of this config holds only %zu problems (asked for %lld)\n",
                problems.size(), static_cast<long long>(tasks_args.count));
  return 0;
}

}  // namespace seekforge::apps
