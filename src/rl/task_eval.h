// How well a policy solves a task: greedy completions of held-out problems, parsed and
// verified by the task's rules. The number RL post-training is judged by.
#pragma once

#include <cstdint>
#include <vector>

#include "data/bpe.h"
#include "nn/transformer.h"
#include "rl/tasks.h"

namespace seekforge::rl {

struct TaskScore {
  int64_t problems = 0;
  double accuracy = 0;      // share with a correct answer
  double format_rate = 0;   // share of well-formed responses
  double mean_tokens = 0;   // response length
  std::vector<std::string> responses;  // decoded, in problem order
};

// Greedy (temperature 0) completions of `problems` with at most max_tokens each.
TaskScore score_task(nn::Transformer& model, const data::Tokenizer& tokenizer, const Task& task,
                     const std::vector<Problem>& problems, int64_t max_tokens);

}  // namespace seekforge::rl
