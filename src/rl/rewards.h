// Rule-based rewards for R1-style RL: parsing a completion into its think and answer blocks,
// and a weighted mix of scores (accuracy, format, length, language consistency, fluency,
// efficiency, regex, numeric) configured by [[rl.reward]] tables. Every formula is in
// docs/rl_tasks.md.
//
// What this is not: a learned reward model, or the advantage computation of GRPO/PPO (the RL
// loop turns these scores into advantages).
//
// Thread safety: parse_response is a pure function; a RewardMix is immutable after construction
// and score() may be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rl/tasks.h"

namespace seekforge::rl {

// A response text: the decoded completion, special tokens as their text ("<think>", "</think>",
// "<answer>", "</answer>"); it may end at "<|eos|>" (anything after the first one is ignored:
// generation stops there) or be cut off. Never throws, on any bytes.
struct ParsedResponse {
  // Exactly "<think>X</think><answer>Y</answer>": whitespace allowed between the blocks and
  // after the last one, nothing else before, between or after, one of each tag.
  bool well_formed = false;
  int64_t answer_count = 0;   // how many complete <answer>..</answer> blocks
  std::string think, answer;  // contents: think of the single think block, answer of the single
                              // answer block; empty when there is not exactly one
};
ParsedResponse parse_response(std::string_view text);

struct RewardContext {
  const Problem* problem = nullptr;  // accuracy, efficiency, numeric need it
  const Task* task = nullptr;        // accuracy, efficiency need it
  std::string_view prompt;           // the user prompt text
  std::string_view response;         // decoded completion text
  int64_t response_tokens = 0;       // tokens generated
  int64_t max_tokens = 1;            // the generation limit (>= 1)
  double mean_nll = 0;  // the policy's mean negative log-likelihood per response token (nats);
                        // NaN when not computed
};

struct RewardSpec {  // one [[rl.reward]] table of the RL config
  std::string kind;  // "accuracy" | "format" | "length" | "language" | "fluency" | "efficiency" |
                     // "regex" | "numeric"
  double weight = 1.0;
  // regex: a PCRE2 pattern (UTF mode, invalid UTF-8 in the text is matched byte-safely), searched
  // for anywhere in the target text. PCRE2 rather than std::regex: it is already linked, has a
  // match limit (catastrophic backtracking scores 0 instead of hanging) and no recursion that a
  // long response could overflow the stack with.
  std::string pattern;
  // regex/numeric: "answer" (the content of the single <answer> block; no single block scores 0)
  // or "response" (the whole text up to <|eos|>)
  std::string target = "answer";
  double tolerance = 0.0;       // numeric: |answer - problem.target| <= tolerance scores 1
  int64_t target_tokens = 0;    // length: tokens allowed before the penalty (0: max_tokens/2)
  std::string script = "auto";  // language: "auto" | "latin" | "cjk"
};

// The known kinds, for messages: "accuracy, format, ...".
std::string reward_kinds();

class RewardMix {
 public:
  // Validates; errors name "rl.reward[i].<key>": an unknown kind (listing the known ones), a
  // regex PCRE2 refuses (its message and offset), a negative tolerance or target_tokens, an
  // unknown target or script, a weight that is not finite.
  // Copies share the compiled patterns, which are never modified.
  explicit RewardMix(std::vector<RewardSpec> specs);

  // The weighted sum of the terms; parts (if given) receives each term's unweighted score, in
  // spec order. Throws when a term needs ctx.problem/ctx.task and they are missing, or when
  // ctx.max_tokens < 1.
  double score(const RewardContext& ctx, std::vector<double>* parts = nullptr) const;
  const std::vector<RewardSpec>& specs() const { return specs_; }
  // One name per spec: the kind ("accuracy"); regex and numeric terms, and any kind that occurs
  // more than once, get the count of that kind before it ("regex_0", "regex_1").
  std::vector<std::string> names() const;

 private:
  struct Compiled;  // the PCRE2 code of the regex terms
  std::vector<RewardSpec> specs_;
  std::vector<std::shared_ptr<const Compiled>> compiled_;  // one per spec (null unless regex)
};

// Accuracy weight 1 plus format weight 0.1: DeepSeek-R1-Zero's mix. Correctness is the signal;
// the small format term keeps the think/answer structure the checker reads without letting a
// well-formed wrong answer outscore a correct one.
std::vector<RewardSpec> default_reward_specs();

// The single scores, exposed for tests and for callers that want one term alone.
double length_score(int64_t response_tokens, int64_t max_tokens, int64_t target_tokens);
double language_score(std::string_view prompt, std::string_view text, std::string_view script);
double fluency_score(double mean_nll);
// A number that is the whole of `text` after trimming whitespace ([+-]digits[.digits][e[+-]d]);
// with last_in_text, the last such number anywhere in the text instead. False when none.
bool parse_number(std::string_view text, bool last_in_text, double* value);

}  // namespace seekforge::rl
