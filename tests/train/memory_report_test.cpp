// Tests for the memory report's static figures (they match the model and the optimiser) and
// its formatting; the measured figures are tested through the trainer (trainer_test.cpp).
#include "train/memory_report.h"

#include <gtest/gtest.h>

#include "nn/transformer.h"
#include "optim/optimizer.h"

namespace seekforge {
namespace {

TEST(MemoryReport, StaticFiguresAreTheModelsAndTheOptimisers) {
  const Config c = load_config(std::string(SEEKFORGE_SOURCE_DIR) + "/configs/tiny.toml");
  Generator gen(0);
  nn::Transformer model(c.model, gen);
  optim::AdamW adamw({optim::ParamGroup{model.parameters(), 1e-3, 0.0, 1.0, "all"}});
  const train::MemoryReport r = train::static_memory(model.parameters(), adamw);
  EXPECT_EQ(r.params, model.num_parameters() * 4);  // f32
  EXPECT_EQ(r.grads, r.params);
  EXPECT_EQ(r.optimizer, 2 * r.params);  // exp_avg and exp_avg_sq
  EXPECT_EQ(r.activations, -1);
  EXPECT_GT(r.peak_rss, 0);
  EXPECT_NE(train::format_memory(r).find("activations measured at step 1"), std::string::npos);
}

}  // namespace
}  // namespace seekforge
