#include "rl/rl_config.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace seekforge::rl {
namespace {

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    parse_rl_config(text, "rl.toml", sets);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(RlConfig, DefaultsRoundTripThroughTheWrittenToml) {
  const RlConfig c = parse_rl_config("", "rl.toml");
  EXPECT_EQ(c.algo, "grpo");
  EXPECT_FALSE(c.rewards.empty()) << "no [[rl.reward]]: the default mix";
  const std::string text = rl_config_to_toml(c);
  EXPECT_EQ(rl_config_to_toml(parse_rl_config(text, "written.toml")), text);
}

TEST(RlConfig, TablesRewardsAndOverridesAreRead) {
  const RlConfig c = parse_rl_config(R"(
[rl]
algo = "ppo"
group_size = 4
lr = 2e-5
[rl.ppo]
gamma = 0.99
[[rl.reward]]
kind = "accuracy"
[[rl.reward]]
kind = "regex"
pattern = "^[0-9]+$"
weight = 0.5
[task]
name = "countdown"
countdown_numbers = 4
)",
                                     "rl.toml", {"rl.ppo.lambda=0.9", "task.countdown_max=50", "rl.algo=es"});
  EXPECT_EQ(c.algo, "es");
  EXPECT_EQ(c.group_size, 4);
  EXPECT_DOUBLE_EQ(c.lr, 2e-5);
  EXPECT_DOUBLE_EQ(c.ppo.gamma, 0.99);
  EXPECT_DOUBLE_EQ(c.ppo.lambda, 0.9);
  ASSERT_EQ(c.rewards.size(), 2u);
  EXPECT_EQ(c.rewards[1].pattern, "^[0-9]+$");
  EXPECT_DOUBLE_EQ(c.rewards[1].weight, 0.5);
  EXPECT_EQ(c.task.name, "countdown");
  EXPECT_EQ(c.task.countdown_numbers, 4);
  EXPECT_EQ(c.task.countdown_max, 50);
}

TEST(RlConfig, MistakesAreRefusedNamingTheKeyAndWhere) {
  EXPECT_NE(error_of("[rl]\ngroup_sise = 4\n").find("rl.toml:2:1: unknown key 'rl.group_sise' (did you mean 'group_size'?)"),
            std::string::npos)
      << error_of("[rl]\ngroup_sise = 4\n");
  EXPECT_NE(error_of("[rl]\nlr = \"fast\"\n").find("rl.lr: expected a number, got a string"),
            std::string::npos);
  EXPECT_NE(error_of("[rl]\ngroup_size = 1\n").find("rl.group_size = 1: must be in [2, 1024]"),
            std::string::npos);
  EXPECT_NE(error_of("[rl]\nalgo = \"dpo\"\n").find("rl.algo"), std::string::npos);
  EXPECT_NE(error_of("[rl.es]\nelite = 8\n").find("rl.es.elite = 8"), std::string::npos);
  EXPECT_NE(error_of("[[rl.reward]]\nkind = \"accuracy\"\nweigth = 1\n").find("rl.reward[0].weigth"),
            std::string::npos);
  EXPECT_NE(error_of("[[rl.reward]]\nkind = \"vibes\"\n").find("rl.reward[0]"), std::string::npos);
  EXPECT_NE(error_of("[model]\nd_model = 3\n").find("unknown table [model]"), std::string::npos);
  EXPECT_NE(error_of("[rl]\nlr = \n").find("rl.toml:2"), std::string::npos);
  EXPECT_NE(error_of("", {"rl.nope=1"}).find("unknown key 'rl.nope'"), std::string::npos);
  EXPECT_NE(error_of("", {"rl.lr"}).find("expected section.key=value"), std::string::npos);
  EXPECT_NE(error_of("", {"task.max_digits=0"}).find("task."), std::string::npos);
}

}  // namespace
}  // namespace seekforge::rl

namespace seekforge::rl {
namespace {

TEST(RlConfig, ShippedConfigsLoad) {
  const std::string dir = std::string(SEEKFORGE_SOURCE_DIR) + "/configs/";
  const RlConfig add = load_rl_config(dir + "rl-addition.toml");
  EXPECT_EQ(add.algo, "grpo");
  EXPECT_EQ(add.task.name, "addition");
  EXPECT_EQ(add.rewards.size(), 2u);
  const RlConfig cd = load_rl_config(dir + "rl-countdown.toml");
  EXPECT_EQ(cd.task.name, "countdown");
  EXPECT_EQ(cd.rewards.size(), 4u);
}

}  // namespace
}  // namespace seekforge::rl
