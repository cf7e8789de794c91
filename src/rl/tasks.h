// Verifiable tasks for R1-style reinforcement learning: seeded generators of arithmetic and
// Countdown problems, each with a canonical answer, a worked solution in the response format
// "<think>...</think><answer>...</answer>", and a checker that says whether an answer is right.
//
// Determinism: problem `index` of a split is a pure function of (config, split, seed, index),
// drawn from the counter-based Philox of core/rng.h, so any thread can generate any problem and
// a run repeats bit for bit.
//
// Held-out split: a hash of the prompt's canonical text (commuting operands in order, so 38+47
// and 47+38 are one problem) decides whether a problem belongs to train or test. The seed plays
// no part, so no seed and no index can put a test prompt into training. Raising test_fraction
// only moves prompts from train to test.
//
// What this is not: a reward (rl/rewards.h scores whole responses) or a dataset loader. The
// formats are documented in docs/rl_tasks.md.
//
// Thread safety: a Task is immutable after construction; every method is const and may be
// called from any number of threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seekforge::rl {

struct TaskConfig {
  std::string name = "addition";  // "addition" | "subtraction" | "multiplication" |
                                  // "arithmetic" (a uniform mix of the three) | "countdown"
  int64_t min_digits = 1, max_digits = 2;  // operand digit range for the arithmetic tasks, 1..9
  int64_t countdown_numbers = 3;           // how many numbers Countdown gives (2..6)
  int64_t countdown_max = 30;              // the numbers are drawn from [1, countdown_max]
  double test_fraction = 0.1;              // share of the problem space that is held out, [0, 1)
};

// Throws seekforge::Error naming the field as "task.<key>", its value and the allowed range.
void validate(const TaskConfig& config);

// The known task names, for messages: "addition, subtraction, ...".
std::string task_names();

enum class TaskSplit { train, test };
const char* split_name(TaskSplit split);

struct Problem {
  std::string prompt;            // the user text: "47+38", "3 7 25 -> 46"
  std::string answer;            // canonical answer text: "85", "(25-7)*3-8"
  std::string solution;          // a worked response: "<think>...</think><answer>85</answer>"
  std::vector<int64_t> numbers;  // countdown: the given numbers (ascending); arithmetic: operands
  int64_t target = 0;            // countdown: the target; arithmetic: the true result
};

class Task {
 public:
  explicit Task(TaskConfig config);  // validates
  const TaskConfig& config() const { return config_; }

  // Problem number `index` of `split`. Candidates are drawn one after another from Philox(seed,
  // index, draw); the first one whose prompt falls in `split` is returned. Throws when the split
  // is empty (test_fraction = 0) or no candidate of the split turns up in many draws (a problem
  // space too small for the fraction).
  Problem sample(TaskSplit split, uint64_t seed, uint64_t index) const;

  // Which split a problem belongs to: decided by a hash of its canonical prompt alone.
  TaskSplit split_of(const Problem& p) const;

  // n distinct test problems (distinct prompts), deterministic in seed: sample(test, seed, i) for
  // i = 0, 1, ... with repeats skipped. Fewer than n only when the test space holds fewer: for
  // the arithmetic tasks whose operand space is small enough to enumerate, the remainder is
  // completed by enumeration, so the count is exact; for Countdown the draws stop after 20000 in
  // a row find nothing new (a space that small is exhausted with overwhelming probability).
  std::vector<Problem> test_set(int64_t n, uint64_t seed) const;

  // Is `answer_text` (the text inside <answer>..</answer>) right? Never throws, on any bytes.
  //  arithmetic: one integer, optional leading + or -, optional surrounding whitespace, leading
  //    zeros allowed ("085" is 85), equal to p.target.
  //  countdown: an expression of the given numbers with + - * / (also x X × ÷) and parentheses,
  //    no unary signs, each given number used at most once, equal to p.target in exact rational
  //    arithmetic. Division by zero, overflow, nesting deeper than 64 or text longer than 4096
  //    bytes are false.
  bool is_correct(const Problem& p, std::string_view answer_text) const;

 private:
  // How many candidates sample() draws before giving up on `split` (0: the split is empty).
  uint64_t max_draws(TaskSplit split) const;
  // sample() without the error: nullopt when no candidate of the split turns up.
  std::optional<Problem> try_sample(TaskSplit split, uint64_t seed, uint64_t index) const;

  TaskConfig config_;
  bool countdown_ = false;
};

// The problem "a op b" with its worked solution, as sample() makes it: op is '+', '-' (a >= b)
// or '*', operands in [0, 999999999]. For hand-made evaluation sets and tests.
Problem arithmetic_problem(char op, int64_t a, int64_t b);

// The text that decides a prompt's split: "A+B" and "A*B" with the smaller operand first, any
// other prompt as it is.
std::string canonical_prompt(std::string_view prompt);

}  // namespace seekforge::rl
