#include "apps/engine_demo.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "ops/activation.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/norm.h"
#include "ops/reduce.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"

namespace seekforge::apps {

namespace {
struct DemoOptions {
  int steps = 300;
  int batch = 256;
  int width = 128;
  uint64_t seed = 0;
} g_opts;
}  // namespace

CLI::App* add_engine_demo_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "engine-demo", "fit y = sin(3x) + x^2/2 with a small SwiGLU network (engine smoke test)");
  sub->add_option("--steps", g_opts.steps, "optimiser steps")->check(CLI::Range(1, 1000000));
  sub->add_option("--batch", g_opts.batch, "points per step")->check(CLI::Range(1, 1 << 20));
  sub->add_option("--width", g_opts.width, "hidden width")->check(CLI::Range(1, 1 << 14));
  sub->add_option("--seed", g_opts.seed, "random seed");
  return sub;
}

int run_engine_demo() {
  Generator gen(g_opts.seed);
  const int64_t W = g_opts.width;
  auto param = [&](Shape s, double stddev) {
    Tensor t = randn(s, DType::f32, &gen);
    t = ops::mul(t, stddev);
    t.set_requires_grad(true);
    return t;
  };
  Tensor w_in = param({W, 1}, 1.0), w_gate = param({W, W}, 1.0 / std::sqrt(W)),
         w_up = param({W, W}, 1.0 / std::sqrt(W)), w_out = param({1, W}, 0.02);
  Tensor b_in = param({W}, 1.0);
  Tensor norm_w = ones({W}).set_requires_grad(true);
  optim::AdamW opt({{{w_in, w_gate, w_up, w_out}, 1e-2, 0.01, 1.0, "weights"},
                    {{b_in, norm_w}, 1e-2, 0.0, 1.0, "biases and norms"}});
  optim::LrSchedule sched{optim::ScheduleKind::cosine, 1e-2, 1e-4, g_opts.steps / 10,
                          g_opts.steps};
  const auto start = std::chrono::steady_clock::now();
  double loss_value = 0;
  for (int step = 0; step < g_opts.steps; ++step) {
    Tensor x = uniform({g_opts.batch, 1}, -2, 2, DType::f32, &gen);
    Tensor y = empty({g_opts.batch, 1});
    for (int i = 0; i < g_opts.batch; ++i) {
      const float v = x.data<float>()[i];
      y.data<float>()[i] = std::sin(3 * v) + 0.5f * v * v;
    }
    Tensor h = ops::rms_norm(ops::silu(ops::linear(x, w_in, b_in)), norm_w);
    Tensor pred = ops::linear(ops::swiglu(ops::linear(h, w_gate), ops::linear(h, w_up)), w_out);
    Tensor diff = ops::sub(pred, y);
    Tensor loss = ops::mean(ops::mul(diff, diff));
    opt.zero_grad();
    loss.backward();
    std::vector<Tensor> all = opt.groups()[0].params;
    all.insert(all.end(), opt.groups()[1].params.begin(), opt.groups()[1].params.end());
    const double gnorm = optim::clip_grad_norm(all, 1.0);
    opt.set_lr(sched.lr_at(step));
    opt.step();
    loss_value = loss.item_double();
    if (step % 50 == 0 || step == g_opts.steps - 1)
      std::printf("step %5d  loss %.5f  grad_norm %.3f  lr %.2e\n", step, loss_value, gnorm,
                  sched.lr_at(step));
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d steps in %.2f s; final mean squared error %.5f\n", g_opts.steps, secs,
              loss_value);
  return 0;
}

}  // namespace seekforge::apps
