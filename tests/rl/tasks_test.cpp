#include "rl/tasks.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include "core/error.h"
#include "rl/rewards.h"

namespace seekforge::rl {
namespace {

TaskConfig config(const std::string& name) {
  TaskConfig c;
  c.name = name;
  return c;
}

std::string message_of(const TaskConfig& c) {
  try {
    Task task(c);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

int64_t digit_count(int64_t v) { return static_cast<int64_t>(std::to_string(v).size()); }

TEST(Task, SameSeedAndIndexGiveTheSameProblemOnAnyThread) {
  for (const char* name : {"arithmetic", "countdown"}) {
    const Task task(config(name));
    const Problem a = task.sample(TaskSplit::train, 7, 123);
    Problem b;
    std::thread([&] { b = task.sample(TaskSplit::train, 7, 123); }).join();
    EXPECT_EQ(a.prompt, b.prompt) << name;
    EXPECT_EQ(a.solution, b.solution) << name;
    EXPECT_EQ(a.numbers, b.numbers) << name;
    // Another index or seed moves to another problem (not guaranteed for one pair, so over many).
    std::set<std::string> prompts;
    for (uint64_t i = 0; i < 50; ++i) prompts.insert(task.sample(TaskSplit::train, 7, i).prompt);
    for (uint64_t s = 0; s < 50; ++s) prompts.insert(task.sample(TaskSplit::train, s, 0).prompt);
    EXPECT_GT(prompts.size(), 80u) << name;
  }
}

TEST(Task, TrainAndTestPromptsNeverOverlapWhateverTheSeeds) {
  for (const char* name : {"addition", "multiplication", "arithmetic", "countdown"}) {
    const Task task(config(name));
    std::set<std::string> train, test;
    for (uint64_t i = 0; i < 3000; ++i) {
      const Problem p = task.sample(TaskSplit::train, i % 3, i);
      EXPECT_EQ(task.split_of(p), TaskSplit::train);
      train.insert(canonical_prompt(p.prompt));
    }
    for (uint64_t i = 0; i < 2000; ++i) {
      const Problem p = task.sample(TaskSplit::test, 100 + i % 5, i);
      EXPECT_EQ(task.split_of(p), TaskSplit::test);
      test.insert(canonical_prompt(p.prompt));
    }
    for (const std::string& t : test) EXPECT_EQ(train.count(t), 0u) << name << ": " << t;
    EXPECT_GT(test.size(), 100u) << name;
  }
}

TEST(Task, CommutedOperandsShareASplit) {
  const Task task(config("addition"));
  Problem a, b;
  a.prompt = "47+38";
  b.prompt = "38+47";
  EXPECT_EQ(canonical_prompt(a.prompt), "38+47");
  EXPECT_EQ(task.split_of(a), task.split_of(b));
  EXPECT_EQ(canonical_prompt("100*9"), "9*100");
  EXPECT_EQ(canonical_prompt("9-100"), "9-100");  // subtraction does not commute
}

TEST(Task, EverySolutionIsWellFormedAndItsAnswerIsCorrect) {
  for (const char* name :
       {"addition", "subtraction", "multiplication", "arithmetic", "countdown"}) {
    TaskConfig c = config(name);
    c.max_digits = 4;
    c.countdown_numbers = 4;
    const Task task(c);
    for (uint64_t i = 0; i < 300; ++i) {
      const Problem p = task.sample(i % 2 ? TaskSplit::train : TaskSplit::test, 3, i);
      const ParsedResponse r = parse_response(p.solution);
      ASSERT_TRUE(r.well_formed) << p.solution;
      EXPECT_EQ(r.answer, p.answer);
      EXPECT_TRUE(task.is_correct(p, r.answer)) << p.prompt << " " << p.solution;
    }
  }
}

TEST(Task, WorkedSolutionsShowColumnsBorrowsAndPartialProducts) {
  EXPECT_EQ(arithmetic_problem('+', 47, 38).solution,
            "<think>7+8+0=15 4+3+1=8</think><answer>85</answer>");
  EXPECT_EQ(arithmetic_problem('+', 5, 98).solution,
            "<think>5+8+0=13 0+9+1=10</think><answer>103</answer>");
  EXPECT_EQ(arithmetic_problem('-', 42, 38).solution,
            "<think>12-8-0=4 4-3-1=0</think><answer>4</answer>");
  EXPECT_EQ(arithmetic_problem('-', 100, 1).solution,
            "<think>10-1-0=9 10-0-1=9 1-0-1=0</think><answer>99</answer>");
  EXPECT_EQ(arithmetic_problem('*', 47, 38).solution,
            "<think>47*8=376 47*30=1410 376+1410=1786</think><answer>1786</answer>");
  EXPECT_EQ(arithmetic_problem('*', 47, 0).solution, "<think>47*0=0</think><answer>0</answer>");
  EXPECT_EQ(arithmetic_problem('*', 6, 207).solution,
            "<think>6*7=42 6*200=1200 42+1200=1242</think><answer>1242</answer>");
  EXPECT_THROW(arithmetic_problem('-', 3, 4), Error);
  EXPECT_THROW(arithmetic_problem('/', 3, 4), Error);
  // What sample() makes: subtraction never negative, the prompt is "a op b".
  const Task sub(config("subtraction")), mul(config("multiplication"));
  for (uint64_t i = 0; i < 200; ++i) {
    const Problem p = sub.sample(TaskSplit::train, 1, i);
    EXPECT_GE(p.numbers[0], p.numbers[1]) << p.prompt;
    EXPECT_EQ(p.target, p.numbers[0] - p.numbers[1]);
    EXPECT_EQ(p.solution, arithmetic_problem('-', p.numbers[0], p.numbers[1]).solution);
    const Problem m = mul.sample(TaskSplit::train, 1, i);
    EXPECT_EQ(m.target, m.numbers[0] * m.numbers[1]);
    EXPECT_EQ(m.prompt, std::to_string(m.numbers[0]) + "*" + std::to_string(m.numbers[1]));
  }
}

TEST(Task, OperandDigitsRespectTheRange) {
  TaskConfig c = config("arithmetic");
  c.min_digits = 2;
  c.max_digits = 3;
  const Task task(c);
  std::set<int64_t> lengths;
  for (uint64_t i = 0; i < 2000; ++i) {
    const Problem p = task.sample(TaskSplit::train, 5, i);
    ASSERT_EQ(p.numbers.size(), 2u);
    for (int64_t v : p.numbers) {
      EXPECT_GE(digit_count(v), 2) << p.prompt;
      EXPECT_LE(digit_count(v), 3) << p.prompt;
      lengths.insert(digit_count(v));
    }
  }
  EXPECT_EQ(lengths.size(), 2u);
}

TEST(Task, TestSetIsDistinctDeterministicAndExactForASmallSpace) {
  const Task task(config("addition"));
  const auto a = task.test_set(300, 9), b = task.test_set(300, 9);
  ASSERT_EQ(a.size(), 300u);
  std::set<std::string> prompts;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt, b[i].prompt);
    prompts.insert(a[i].prompt);
  }
  EXPECT_EQ(prompts.size(), 300u);
  // One-digit addition: 100 prompts; the test set is exactly those of them that hash to test,
  // none at all included (then without an error).
  for (double fraction : {0.3, 0.001}) {
    TaskConfig c = config("addition");
    c.max_digits = 1;
    c.test_fraction = fraction;
    const Task small(c);
    int64_t expected = 0;
    for (int a1 = 0; a1 < 10; ++a1) {
      for (int b1 = 0; b1 < 10; ++b1) {
        Problem p;
        p.prompt = std::to_string(a1) + "+" + std::to_string(b1);
        expected += small.split_of(p) == TaskSplit::test;
      }
    }
    EXPECT_EQ(static_cast<int64_t>(small.test_set(1000, 1).size()), expected) << fraction;
  }
  // A tiny Countdown space: fewer problems than asked, each distinct and of the test split.
  TaskConfig c = config("countdown");
  c.countdown_numbers = 2;
  c.countdown_max = 3;
  c.test_fraction = 0.3;
  const Task tiny(c);
  const auto few = tiny.test_set(1000, 0);
  EXPECT_LT(few.size(), 30u);
  for (const Problem& p : few) EXPECT_EQ(tiny.split_of(p), TaskSplit::test);
}

TEST(Task, ArithmeticAnswersAreIntegersWithOptionalSignsAndSpaces) {
  const Task task(config("addition"));
  Problem p;
  p.target = 85;
  EXPECT_TRUE(task.is_correct(p, "85"));
  EXPECT_TRUE(task.is_correct(p, " +85\n"));
  EXPECT_TRUE(task.is_correct(p, "085"));
  EXPECT_FALSE(task.is_correct(p, "8 5"));
  EXPECT_FALSE(task.is_correct(p, "86"));
  EXPECT_FALSE(task.is_correct(p, "85.0"));
  EXPECT_FALSE(task.is_correct(p, ""));
  EXPECT_FALSE(task.is_correct(p, "-"));
  EXPECT_FALSE(task.is_correct(p, "\xff\xfe"));
  EXPECT_FALSE(task.is_correct(p, "99999999999999999999999"));
  p.target = -3;
  EXPECT_TRUE(task.is_correct(p, "-3"));
}

TEST(Task, CountdownExpressionsUseGivenNumbersAtMostOnce) {
  const Task task(config("countdown"));
  Problem p;
  p.numbers = {3, 7, 8, 25};
  p.target = 46;
  EXPECT_TRUE(task.is_correct(p, "(25-7)*3-8"));
  EXPECT_TRUE(task.is_correct(p, " ( 25 - 7 ) x 3 - 8 "));
  EXPECT_TRUE(task.is_correct(p,
                              "(25-7)\xc3\x97"
                              "3-8"));  // ×
  EXPECT_TRUE(task.is_correct(p, "((((25-7))))*3-8"));
  p.target = 6;
  EXPECT_TRUE(task.is_correct(p,
                              "(25-7)\xc3\xb7"
                              "3"));  // ÷, and a subset of the numbers
  EXPECT_TRUE(task.is_correct(p, "(25-7)/3"));
  p.target = 46;
  EXPECT_FALSE(task.is_correct(p, "(25-7)*3-8-3+3"));  // 3 used twice
  EXPECT_FALSE(task.is_correct(p, "46"));              // not a given number
  EXPECT_FALSE(task.is_correct(p, "(25-7)*3-8="));
  EXPECT_FALSE(task.is_correct(p, "-8+(25-7)*3"));  // no unary signs
  EXPECT_FALSE(task.is_correct(p, "(25-7*3-8"));
  EXPECT_FALSE(task.is_correct(p, "(25-7)*3-7"));  // 7 twice
  p.target = 1;
  EXPECT_FALSE(task.is_correct(p, "1/0"));
  EXPECT_FALSE(task.is_correct(p, "3/(8-8)"));
  EXPECT_FALSE(task.is_correct(p, "25/(7-7)"));
  // Exact rationals: 7/3*3 is 7, not 6.999...; a number given twice may be used twice.
  p.numbers = {3, 3, 7};
  p.target = 7;
  EXPECT_TRUE(task.is_correct(p, "7/3*3"));
  EXPECT_FALSE(task.is_correct(p, "7/3*3*3/3"));
  p.target = 2;
  EXPECT_FALSE(task.is_correct(p, "7/3"));  // 7/3 is not 2
}

TEST(Task, CountdownCheckerSurvivesHostileText) {
  const Task task(config("countdown"));
  Problem p;
  p.numbers = {3, 7, 25};
  p.target = 3;
  EXPECT_FALSE(task.is_correct(p, "\xff\xfe"));
  EXPECT_FALSE(task.is_correct(p, std::string(10000, '(') + "3" + std::string(10000, ')')));
  EXPECT_FALSE(task.is_correct(p, std::string(10000, '(')));
  EXPECT_FALSE(task.is_correct(p, "99999999999999999999999"));
  EXPECT_FALSE(task.is_correct(p, "3*99999999999999999999999999999999999999999"));
  EXPECT_FALSE(task.is_correct(p, std::string("3\0", 2)));
  EXPECT_FALSE(task.is_correct(p, ""));
  EXPECT_FALSE(task.is_correct(p, "()"));
  EXPECT_TRUE(task.is_correct(p, "(((3)))"));
  // Overflow of the exact arithmetic is a wrong answer, not undefined behaviour.
  Problem big;
  big.numbers = std::vector<int64_t>(30, 999999999);
  big.target = 1;
  std::string product = "999999999";
  for (int i = 1; i < 30; ++i) product += "*999999999";
  EXPECT_FALSE(task.is_correct(big, product));
}

TEST(Task, CountdownGeneratorUsesEachNumberOnceAndReachesTheTarget) {
  for (int64_t n : {2, 4, 6}) {
    TaskConfig c = config("countdown");
    c.countdown_numbers = n;
    c.countdown_max = 50;
    const Task task(c);
    for (uint64_t i = 0; i < 200; ++i) {
      const Problem p = task.sample(TaskSplit::train, 11, i);
      ASSERT_EQ(static_cast<int64_t>(p.numbers.size()), n);
      EXPECT_TRUE(std::is_sorted(p.numbers.begin(), p.numbers.end()));
      for (int64_t v : p.numbers) {
        EXPECT_GE(v, 1);
        EXPECT_LE(v, 50);
      }
      EXPECT_GT(p.target, 0);
      EXPECT_TRUE(task.is_correct(p, p.answer)) << p.prompt << " " << p.answer;
      // The answer uses every given number exactly once: one number more makes it wrong.
      EXPECT_FALSE(task.is_correct(p, p.answer + "+" + std::to_string(p.numbers[0])));
      std::string want;
      for (int64_t v : p.numbers) want += std::to_string(v) + " ";
      EXPECT_EQ(p.prompt, want + "-> " + std::to_string(p.target));
    }
  }
}

TEST(Task, BadConfigsAreRefusedNamingTheField) {
  TaskConfig c = config("division");
  EXPECT_NE(message_of(c).find("task.name"), std::string::npos);
  EXPECT_NE(message_of(c).find("countdown"), std::string::npos);  // lists the known ones
  c = config("addition");
  c.max_digits = 12;
  EXPECT_NE(message_of(c).find("task.max_digits = 12"), std::string::npos);
  c = config("addition");
  c.min_digits = 3;
  EXPECT_NE(message_of(c).find("task.max_digits"), std::string::npos);  // max below min
  c = config("countdown");
  c.countdown_numbers = 7;
  EXPECT_NE(message_of(c).find("task.countdown_numbers"), std::string::npos);
  c = config("countdown");
  c.countdown_max = 0;
  EXPECT_NE(message_of(c).find("task.countdown_max"), std::string::npos);
  c = config("addition");
  c.test_fraction = 1.0;
  EXPECT_NE(message_of(c).find("task.test_fraction"), std::string::npos);
  c.test_fraction = 0.0;
  const Task no_test(c);
  EXPECT_THROW(no_test.sample(TaskSplit::test, 0, 0), Error);
  EXPECT_TRUE(no_test.test_set(10, 0).empty());
  EXPECT_EQ(no_test.split_of(no_test.sample(TaskSplit::train, 0, 0)), TaskSplit::train);
}

}  // namespace
}  // namespace seekforge::rl
