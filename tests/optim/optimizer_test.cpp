#include "optim/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "optim/schedule.h"

namespace seekforge {
namespace {

TEST(Sgd, MomentumAndNesterovFollowTorchFormulas) {
  for (bool nesterov : {false, true}) {
    Tensor p = from_vector_f64({1.0, -2.0}, {2});
    optim::Sgd opt({{{p}, 0.1, 0.01, 1.0, ""}}, {0.9, nesterov});
    double ref[2] = {1.0, -2.0}, buf[2] = {0, 0};
    for (int s = 0; s < 5; ++s) {
      const double g[2] = {0.5 * (s + 1), -0.25};
      p.set_grad(from_vector_f64({g[0], g[1]}, {2}));
      opt.step();
      for (int i = 0; i < 2; ++i) {
        double d = g[i] + 0.01 * ref[i];
        buf[i] = s == 0 ? d : 0.9 * buf[i] + d;
        d = nesterov ? d + 0.9 * buf[i] : buf[i];
        ref[i] -= 0.1 * d;
        EXPECT_NEAR(p.data<double>()[i], ref[i], 1e-12) << "step " << s << " nesterov " << nesterov;
      }
    }
  }
}

TEST(AdamW, SkipsParametersWithoutGradientAndRoundTripsState) {
  Tensor a = ones({3}), b = ones({2});
  optim::AdamW opt({{{a, b}, 0.1, 0.0, 1.0, ""}});
  a.set_grad(full({3}, 0.5));
  opt.step();
  EXPECT_EQ(b.to_vector_f32(), (std::vector<float>{1, 1}));
  EXPECT_LT(a.to_vector_f32()[0], 1.0f);
  auto state = opt.state();
  ASSERT_EQ(state.size(), 4u);
  EXPECT_EQ(state[0].first, "exp_avg.0.0");
  Tensor a2 = ones({3}), b2 = ones({2});
  optim::AdamW opt2({{{a2, b2}, 0.1, 0.0, 1.0, ""}});
  std::vector<std::pair<std::string, Tensor>> copy;
  for (auto& [n, t] : state) copy.emplace_back(n, t.clone());
  opt2.load_state(copy, opt.steps_taken());
  a.set_grad(full({3}, -0.3));
  a2.copy_(a);
  a2.set_grad(full({3}, -0.3));
  opt.step();
  opt2.step();
  EXPECT_EQ(a.to_vector_f32(), a2.to_vector_f32());
  copy[0].second = zeros({4});
  EXPECT_THROW(opt2.load_state(copy, 1), Error);
}

TEST(Clip, GlobalNormScalesAllGradients) {
  Tensor a = zeros({2}), b = zeros({1});
  a.set_grad(from_vector({3, 0}, {2}));
  b.set_grad(from_vector({4}, {1}));
  const double norm = optim::clip_grad_norm({a, b}, 1.0);
  EXPECT_NEAR(norm, 5.0, 1e-6);
  EXPECT_NEAR(a.grad().to_vector_f32()[0], 3.0 / 5.0, 1e-6);
  EXPECT_NEAR(b.grad().to_vector_f32()[0], 4.0 / 5.0, 1e-6);
  EXPECT_NEAR(optim::grad_norm({a, b}), 1.0, 1e-5);
  // Below the threshold nothing changes; a NaN norm is reported, not applied.
  EXPECT_NEAR(optim::clip_grad_norm({a, b}, 10.0), 1.0, 1e-5);
  b.set_grad(from_vector({NAN}, {1}));
  EXPECT_TRUE(std::isnan(optim::clip_grad_norm({a, b}, 1.0)));
  EXPECT_NEAR(a.grad().to_vector_f32()[0], 0.6, 1e-5);
}

TEST(Schedule, CosineWithWarmupAndFloor) {
  optim::LrSchedule s{optim::ScheduleKind::cosine, 1.0, 0.1, 10, 110};
  EXPECT_NEAR(s.lr_at(0), 0.1, 1e-12);
  EXPECT_NEAR(s.lr_at(9), 1.0, 1e-12);
  EXPECT_NEAR(s.lr_at(10), 1.0, 1e-12);
  EXPECT_NEAR(s.lr_at(60), 0.55, 1e-12);  // halfway: floor + (peak - floor) / 2
  EXPECT_NEAR(s.lr_at(110), 0.1, 1e-12);
  EXPECT_NEAR(s.lr_at(1000), 0.1, 1e-12);
  optim::LrSchedule lin{optim::ScheduleKind::linear, 1.0, 0.0, 0, 100};
  EXPECT_NEAR(lin.lr_at(25), 0.75, 1e-12);
  optim::LrSchedule c{optim::ScheduleKind::constant, 0.5, 0.0, 4, 100};
  EXPECT_NEAR(c.lr_at(1), 0.25, 1e-12);
  EXPECT_NEAR(c.lr_at(50), 0.5, 1e-12);
  EXPECT_THROW(optim::parse_schedule_kind("cosin"), Error);
}

TEST(Optimizer, RefusesNonFloatParameters) {
  EXPECT_THROW(optim::AdamW({{{zeros({2}, DType::i64)}, 0.1, 0.0, 1.0, ""}}), Error);
}

}  // namespace
}  // namespace seekforge
