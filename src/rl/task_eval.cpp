#include "rl/task_eval.h"

#include "data/chat.h"
#include "rl/rewards.h"
#include "rl/rollout.h"

namespace seekforge::rl {

TaskScore score_task(nn::Transformer& model, const data::Tokenizer& tokenizer, const Task& task,
                     const std::vector<Problem>& problems, int64_t max_tokens) {
  TaskScore s;
  s.problems = static_cast<int64_t>(problems.size());
  if (problems.empty()) return s;
  const data::ChatTokens chat = data::chat_tokens(tokenizer);
  std::vector<std::vector<int64_t>> prompts;
  for (const Problem& p : problems) prompts.push_back(data::chat_prompt_ids(tokenizer, p.prompt));
  SamplingConfig greedy;
  greedy.max_tokens = max_tokens;
  greedy.temperature = 0.0;
  const std::vector<Completion> out = sample_completions(model, prompts, 1, greedy, chat.eos, 0);
  int64_t correct = 0, formed = 0, tokens = 0;
  for (size_t i = 0; i < problems.size(); ++i) {
    std::vector<uint32_t> ids(out[i].tokens.begin(), out[i].tokens.end());
    s.responses.push_back(tokenizer.decode(ids));
    const ParsedResponse r = parse_response(s.responses.back());
    correct += r.answer_count == 1 && task.is_correct(problems[i], r.answer);
    formed += r.well_formed;
    tokens += static_cast<int64_t>(out[i].tokens.size());
  }
  const double n = static_cast<double>(problems.size());
  s.accuracy = static_cast<double>(correct) / n;
  s.format_rate = static_cast<double>(formed) / n;
  s.mean_tokens = static_cast<double>(tokens) / n;
  return s;
}

}  // namespace seekforge::rl
