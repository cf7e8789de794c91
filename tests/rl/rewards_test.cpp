#include "rl/rewards.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"

namespace seekforge::rl {
namespace {

RewardSpec spec(const std::string& kind, double weight = 1.0) {
  RewardSpec s;
  s.kind = kind;
  s.weight = weight;
  return s;
}

std::string message_of(const std::vector<RewardSpec>& specs) {
  try {
    RewardMix mix(specs);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// One addition problem and its task, for the terms that need them.
struct Fixture {
  Task task{TaskConfig{}};
  Problem problem = arithmetic_problem('+', 47, 38);
  RewardContext context(std::string_view response, int64_t tokens = 10, int64_t max = 100) const {
    RewardContext c;
    c.problem = &problem;
    c.task = &task;
    c.prompt = problem.prompt;
    c.response = response;
    c.response_tokens = tokens;
    c.max_tokens = max;
    return c;
  }
};

TEST(RewardParse, WellFormedResponsesAndTheirBlocks) {
  ParsedResponse r = parse_response("<think>7+8=15</think><answer>85</answer>");
  EXPECT_TRUE(r.well_formed);
  EXPECT_EQ(r.answer_count, 1);
  EXPECT_EQ(r.think, "7+8=15");
  EXPECT_EQ(r.answer, "85");
  EXPECT_TRUE(parse_response("<think>a</think>\n <answer>85</answer>\n<|eos|>").well_formed);
  // Text after the first <|eos|> is not the model's.
  EXPECT_TRUE(parse_response("<think>a</think><answer>85</answer><|eos|>junk").well_formed);
}

TEST(RewardParse, MalformedOutputsNeverThrowAndScoreNoAccuracy) {
  const Fixture f;
  const RewardMix mix(default_reward_specs());
  const std::vector<std::string> bad = {
      "85",                                                     // no tags
      "<think>x</think>85",                                     // no answer block
      "<answer>85</answer><answer>85</answer>",                 // two answers
      "<think>x</think><answer>85</answer><answer>1</answer>",  // two answers
      "</answer>85<answer>",                                    // out of order
      "<think>x</think><answer>8",                              // cut off
      "\xff\xfe\xfd",                                           // only garbage
      "",                                                       // empty
      "<think><think></think></think><answer>86</answer>",      // wrong and nested
      "<answer><answer>85</answer>",                            // nested open
  };
  for (const std::string& text : bad) {
    const ParsedResponse r = parse_response(text);
    EXPECT_FALSE(r.well_formed) << text;
    std::vector<double> parts;
    EXPECT_NO_THROW(mix.score(f.context(text), &parts));
    EXPECT_EQ(parts[0], 0.0) << text;
  }
  // Garbage bytes in a well-formed answer: the form is right, the answer is not.
  std::vector<double> garbage;
  mix.score(f.context("<think>\xff</think><answer>\xff\xfe</answer>"), &garbage);
  EXPECT_EQ(garbage, (std::vector<double>{0.0, 1.0}));
  EXPECT_EQ(parse_response("<answer>1</answer><answer>2</answer>").answer_count, 2);
  EXPECT_EQ(parse_response("<answer>1</answer><answer>2</answer>").answer, "");
  // One answer block without think: accuracy counts it, format does not.
  std::vector<double> parts;
  mix.score(f.context("<answer>85</answer>"), &parts);
  EXPECT_EQ(parts, (std::vector<double>{1.0, 0.0}));
  // Tags in the wrong order or something before <think>: not well formed.
  EXPECT_FALSE(parse_response("<answer>85</answer><think>x</think>").well_formed);
  EXPECT_FALSE(parse_response("so <think>x</think><answer>85</answer>").well_formed);
  EXPECT_FALSE(parse_response("<think>x</think>so<answer>85</answer>").well_formed);
}

TEST(RewardMix, DefaultMixIsAccuracyPlusATenthOfFormat) {
  const Fixture f;
  const RewardMix mix(default_reward_specs());
  EXPECT_EQ(mix.names(), (std::vector<std::string>{"accuracy", "format"}));
  std::vector<double> parts;
  EXPECT_DOUBLE_EQ(mix.score(f.context(f.problem.solution), &parts), 1.1);
  EXPECT_EQ(parts, (std::vector<double>{1.0, 1.0}));
  EXPECT_DOUBLE_EQ(mix.score(f.context("<think>x</think><answer>86</answer>")), 0.1);
  EXPECT_DOUBLE_EQ(mix.score(f.context("<think>x</think><answer> 85 </answer>")), 1.1);
}

TEST(RewardMix, LengthIsAPenaltyPastTheAllowance) {
  EXPECT_DOUBLE_EQ(length_score(50, 100, 0), 0.0);  // allowance max/2 = 50
  EXPECT_DOUBLE_EQ(length_score(75, 100, 0), -0.5);
  EXPECT_DOUBLE_EQ(length_score(100, 100, 0), -1.0);
  EXPECT_DOUBLE_EQ(length_score(130, 100, 0), -1.0);  // clamped
  EXPECT_DOUBLE_EQ(length_score(40, 100, 20), -0.25);
  EXPECT_DOUBLE_EQ(length_score(150, 100, 120), -1.0);  // allowance beyond the limit
  const Fixture f;
  RewardSpec s = spec("length", 2.0);
  s.target_tokens = 20;
  const RewardMix mix({s});
  EXPECT_DOUBLE_EQ(mix.score(f.context("x", 60, 100)), 2.0 * -0.5);
}

TEST(RewardMix, LanguageIsTheShareOfTheTargetScript) {
  EXPECT_DOUBLE_EQ(language_score("", "abc 123", "latin"), 1.0);
  EXPECT_DOUBLE_EQ(language_score("", "123 +-*", "latin"), 1.0);  // nothing script-bearing
  // "ab" + two ideographs: half Latin.
  const std::string mixed = "ab\xe5\x8a\xa0\xe6\xb3\x95 12";
  EXPECT_DOUBLE_EQ(language_score("", mixed, "latin"), 0.5);
  EXPECT_DOUBLE_EQ(language_score("", mixed, "cjk"), 0.5);
  // Kana and hangul are CJK; Cyrillic is neither.
  EXPECT_DOUBLE_EQ(language_score("", "\xe3\x81\x82\xed\x95\x9c", "cjk"), 1.0);
  EXPECT_DOUBLE_EQ(language_score("", "a\xd0\xb4", "latin"), 0.5);
  // auto: the prompt's script; a prompt with none: the response's own dominant script.
  EXPECT_DOUBLE_EQ(language_score("\xe5\x8a\xa0\xe6\xb3\x95 47+38", "abc\xe5\x8a\xa0", "auto"),
                   0.25);
  EXPECT_DOUBLE_EQ(language_score("47+38", "abc\xe5\x8a\xa0", "auto"), 0.75);
  EXPECT_DOUBLE_EQ(language_score("",
                                  "a\xff\xfe"
                                  "b",
                                  "latin"),
                   1.0);  // invalid bytes neutral
  // Through the mix: the tags are not text.
  const Fixture f;
  RewardSpec s = spec("language");
  s.script = "cjk";
  const RewardMix mix({s});
  EXPECT_DOUBLE_EQ(mix.score(f.context("<think>\xe5\x8a\xa0</think><answer>85</answer>")), 1.0);
}

TEST(RewardMix, FluencyAndEfficiency) {
  EXPECT_DOUBLE_EQ(fluency_score(0.0), 1.0);
  EXPECT_DOUBLE_EQ(fluency_score(std::log(4.0)), 0.25);
  EXPECT_EQ(fluency_score(std::numeric_limits<double>::quiet_NaN()), 0.0);
  EXPECT_EQ(fluency_score(std::numeric_limits<double>::infinity()), 0.0);
  const Fixture f;
  const RewardMix mix({spec("efficiency"), spec("fluency")});
  RewardContext c = f.context(f.problem.solution, 25, 100);
  c.mean_nll = std::log(2.0);
  std::vector<double> parts;
  EXPECT_DOUBLE_EQ(mix.score(c, &parts), 0.75 + 0.5);
  c.response = "<think>x</think><answer>84</answer>";  // wrong: no efficiency credit
  EXPECT_DOUBLE_EQ(mix.score(c, &parts), 0.5);
  EXPECT_EQ(parts[0], 0.0);
  c.response = f.problem.solution;
  c.response_tokens = 150;  // past the limit: clamped to 0
  mix.score(c, &parts);
  EXPECT_EQ(parts[0], 0.0);
}

TEST(RewardMix, RegexMatchesTheAnswerOrTheWholeResponse) {
  const Fixture f;
  RewardSpec on_answer = spec("regex");
  on_answer.pattern = "^\\d+$";
  RewardSpec on_response = spec("regex", 0.5);
  on_response.pattern = "\\d\\+\\d";
  on_response.target = "response";
  const RewardMix mix({on_answer, on_response});
  EXPECT_EQ(mix.names(), (std::vector<std::string>{"regex_0", "regex_1"}));
  std::vector<double> parts;
  EXPECT_DOUBLE_EQ(mix.score(f.context(f.problem.solution), &parts), 1.5);
  const RewardMix copy = mix;  // shares the compiled patterns
  EXPECT_DOUBLE_EQ(copy.score(f.context(f.problem.solution)), 1.5);
  mix.score(f.context("<think>none</think><answer>eighty</answer>"), &parts);
  EXPECT_EQ(parts, (std::vector<double>{0.0, 0.0}));
  // No single answer block: an answer pattern that matches "" still scores 0.
  RewardSpec empty_ok = spec("regex");
  empty_ok.pattern = "^\\d*$";
  const RewardMix lenient({empty_ok});
  EXPECT_EQ(lenient.score(f.context("<think>x</think>")), 0.0);
  EXPECT_EQ(lenient.score(f.context("<think>x</think><answer></answer>")), 1.0);
  // Invalid UTF-8 in the text is no error, just text.
  mix.score(f.context("<think>\xff"
                      "1+2</think><answer>\xfe</answer>"),
            &parts);
  EXPECT_EQ(parts, (std::vector<double>{0.0, 1.0}));
}

TEST(RewardMix, NumericParsesOneNumberWithinTolerance) {
  double v = 0;
  EXPECT_TRUE(parse_number(" -1.5e2 ", false, &v));
  EXPECT_DOUBLE_EQ(v, -150.0);
  EXPECT_TRUE(parse_number("+.5", false, &v));
  EXPECT_DOUBLE_EQ(v, 0.5);
  EXPECT_FALSE(parse_number("85 apples", false, &v));
  EXPECT_FALSE(parse_number("inf", false, &v));
  EXPECT_FALSE(parse_number("1e999", false, &v));
  EXPECT_FALSE(parse_number("", false, &v));
  EXPECT_TRUE(parse_number("so 3-5 gives -2, then 85.", true, &v));
  EXPECT_DOUBLE_EQ(v, 85.0);
  EXPECT_TRUE(parse_number("x=-2", true, &v));
  EXPECT_DOUBLE_EQ(v, -2.0);
  const Fixture f;
  RewardSpec s = spec("numeric");
  s.tolerance = 0.5;
  RewardSpec whole = spec("numeric");
  whole.target = "response";
  const RewardMix mix({s, whole});
  EXPECT_EQ(mix.names(), (std::vector<std::string>{"numeric_0", "numeric_1"}));
  std::vector<double> parts;
  mix.score(f.context("<think>x</think><answer>85.4</answer>"), &parts);
  EXPECT_EQ(parts, (std::vector<double>{1.0, 0.0}));  // the last number is 85.4, tolerance 0
  mix.score(f.context("<think>x</think><answer>84.4</answer> 85"), &parts);
  EXPECT_EQ(parts, (std::vector<double>{0.0, 1.0}));
}

TEST(RewardMix, WeightedSumAndPartsInSpecOrder) {
  const Fixture f;
  RewardSpec len = spec("length", 0.5);
  const RewardMix mix({spec("accuracy", 2.0), spec("format", -1.0), len, spec("accuracy", 0.25)});
  EXPECT_EQ(mix.names(),
            (std::vector<std::string>{"accuracy_0", "format", "length", "accuracy_1"}));
  std::vector<double> parts{9.0};  // cleared first
  const double total = mix.score(f.context(f.problem.solution, 75, 100), &parts);
  EXPECT_EQ(parts, (std::vector<double>{1.0, 1.0, -0.5, 1.0}));
  EXPECT_DOUBLE_EQ(total, 2.0 - 1.0 - 0.25 + 0.25);
  EXPECT_EQ(mix.specs().size(), 4u);
}

TEST(RewardMix, BadSpecsAreRefusedNamingTheKey) {
  EXPECT_NE(message_of({spec("accuracy"), spec("acc")}).find("rl.reward[1].kind = 'acc'"),
            std::string::npos);
  EXPECT_NE(message_of({spec("acc")}).find("numeric"), std::string::npos);  // lists the kinds
  RewardSpec re = spec("regex");
  re.pattern = "(ab";
  const std::string m = message_of({re});
  EXPECT_NE(m.find("rl.reward[0].pattern"), std::string::npos) << m;
  EXPECT_NE(m.find("offset 3"), std::string::npos) << m;
  re.pattern = "";
  EXPECT_NE(message_of({re}).find("rl.reward[0].pattern"), std::string::npos);
  RewardSpec num = spec("numeric");
  num.tolerance = -1;
  EXPECT_NE(message_of({spec("format"), num}).find("rl.reward[1].tolerance"), std::string::npos);
  num = spec("numeric");
  num.target = "think";
  EXPECT_NE(message_of({num}).find("rl.reward[0].target"), std::string::npos);
  RewardSpec len = spec("length");
  len.target_tokens = -3;
  EXPECT_NE(message_of({len}).find("rl.reward[0].target_tokens"), std::string::npos);
  RewardSpec lang = spec("language");
  lang.script = "greek";
  EXPECT_NE(message_of({lang}).find("rl.reward[0].script"), std::string::npos);
  EXPECT_NE(message_of({spec("format", std::nan(""))}).find("rl.reward[0].weight"),
            std::string::npos);
  EXPECT_NE(message_of({}).find("rl.reward"), std::string::npos);
  // A term that needs the problem says so instead of crashing.
  const RewardMix mix(default_reward_specs());
  RewardContext c;
  c.response = "<answer>1</answer>";
  EXPECT_THROW(mix.score(c), Error);
}

TEST(RewardMix, CountdownAccuracyThroughTheMix) {
  TaskConfig tc;
  tc.name = "countdown";
  const Task task(tc);
  const Problem p = task.sample(TaskSplit::train, 0, 0);
  const RewardMix mix(default_reward_specs());
  RewardContext c;
  c.problem = &p;
  c.task = &task;
  c.response = p.solution;
  EXPECT_DOUBLE_EQ(mix.score(c), 1.1);
  const std::string twice = "<think>x</think><answer>" + p.answer + "+" + p.answer + "</answer>";
  c.response = twice;
  EXPECT_DOUBLE_EQ(mix.score(c), 0.1);
}

}  // namespace
}  // namespace seekforge::rl
