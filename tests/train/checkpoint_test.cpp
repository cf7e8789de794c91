#include "train/checkpoint.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace seekforge {
namespace {

namespace fs = std::filesystem;

std::string fresh_ckpt_dir(const std::string& name) {
  const std::string d = fs::temp_directory_path() / ("sf-ckpt-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

train::Checkpoint make(int64_t step, float fill, int64_t n = 1000) {
  train::Checkpoint c;
  c.model = {{"w", full({n}, fill)}, {"b", full({3}, -fill)}};
  c.optimizer = {{"exp_avg.0.0", full({n}, fill * 2)}};
  c.state = {{"step", step}, {"note", "x"}};
  return c;
}

TEST(Checkpoint, RoundTripAndKeepLast) {
  const std::string d = fresh_ckpt_dir("roundtrip");
  for (int64_t s = 1; s <= 4; ++s) train::save_checkpoint(d, make(s * 10, static_cast<float>(s)), 2);
  EXPECT_FALSE(fs::exists(d + "/step-000010"));
  EXPECT_FALSE(fs::exists(d + "/step-000020"));
  EXPECT_EQ(train::latest_checkpoint(d), d + "/step-000040");
  train::Checkpoint c = train::load_checkpoint(d + "/step-000030");
  EXPECT_EQ(c.state["step"], 30);
  EXPECT_EQ(c.state["note"], "x");
  EXPECT_EQ(c.model[0].first, "w");
  EXPECT_EQ(c.model[0].second.to_vector_f32()[999], 3.0f);
  EXPECT_EQ(c.optimizer[0].second.to_vector_f32()[0], 6.0f);
  fs::remove_all(d);
}

void expect_refused(const std::string& dir, const std::string& needle) {
  try {
    train::load_checkpoint(dir);
    FAIL() << "loaded a damaged checkpoint; expected an error naming " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, DamageIsRefusedNamingTheFile) {
  const std::string d = fresh_ckpt_dir("damage");
  const std::string c = train::save_checkpoint(d, make(5, 1.0f), 3);
  // A flipped byte inside the tensor data (the header stays valid).
  {
    std::fstream f(c + "/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-10, std::ios::end);
    f.put('\x7f');
  }
  expect_refused(c, "model.safetensors");
  // A truncated optimizer file.
  const std::string c2 = train::save_checkpoint(d, make(6, 1.0f), 3);
  fs::resize_file(c2 + "/optimizer.safetensors", fs::file_size(c2 + "/optimizer.safetensors") - 7);
  expect_refused(c2, "optimizer.safetensors");
  // A torn state.json.
  const std::string c3 = train::save_checkpoint(d, make(7, 1.0f), 3);
  fs::resize_file(c3 + "/state.json", 20);
  expect_refused(c3, "state.json");
  // A missing file.
  const std::string c4 = train::save_checkpoint(d, make(8, 1.0f), 4);
  fs::remove(c4 + "/model.safetensors");
  expect_refused(c4, "missing model.safetensors");
  fs::remove_all(d);
}

// A writer killed with SIGKILL at arbitrary moments never leaves a checkpoint that looks whole
// but is not: the newest checkpoint always loads.
TEST(Checkpoint, KillNineDuringWritesLeavesALoadableCheckpoint) {
  const std::string d = fresh_ckpt_dir("kill9");
  train::save_checkpoint(d, make(1, 1.0f, 1 << 18), 2);
  for (int round = 0; round < 6; ++round) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int64_t s = 2 + round * 1000;; ++s) train::save_checkpoint(d, make(s, 2.0f, 1 << 18), 2);
    }
    ::usleep(20000 + 7919 * round % 30000);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const std::string latest = train::latest_checkpoint(d);
    ASSERT_FALSE(latest.empty());
    EXPECT_NO_THROW(train::load_checkpoint(latest)) << latest;
  }
  fs::remove_all(d);
}

}  // namespace
}  // namespace seekforge
