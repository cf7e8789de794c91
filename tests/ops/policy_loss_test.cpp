// The RL losses: hand-computed values of every branch of the clipped surrogate and the clipped
// value loss, the k3 KL estimator, the reductions, float64 gradient checks, and the errors.
#include "ops/policy_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ops/gradcheck.h"
#include "ops/shape.h"

namespace seekforge {
namespace {

using testing::expect_gradcheck;

// old_logp = -1 everywhere and logp = -1 + log(r): the ratios are exactly `ratios`.
Tensor logp_for_ratios(const std::vector<double>& ratios, const Shape& shape) {
  std::vector<double> v;
  for (double r : ratios) v.push_back(-1.0 + std::log(r));
  Tensor t = from_vector_f64(v, shape);
  t.set_requires_grad(true);
  return t;
}

std::vector<double> grad_values(const Tensor& t) {
  Tensor g = t.grad().to(DType::f64).contiguous();
  return std::vector<double>(g.data<double>(), g.data<double>() + g.numel());
}

void expect_all_near(const std::vector<double>& got, const std::vector<double>& want,
                     double tol = 1e-12) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

// Runs f, expects a seekforge::Error whose text contains `needle`.
template <typename F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// The 2x3 case of every branch (clip_eps 0.2, so the range is [0.8, 1.2]):
//   row 0, A = +1: r = 1.1 inside (s = 1.1, ds = r*A), 1.5 above (clipped: s = 1.2, ds = 0),
//                  0.5 below (min picks r*A = 0.5, ds = 0.5);
//   row 1, A = -2: r = 0.9 inside (s = -1.8), 0.5 below (clipped: s = 0.8*-2 = -1.6, ds = 0),
//                  1.5 above (min picks r*A = -3.0, ds = -3.0).
const std::vector<double> kRatios = {1.1, 1.5, 0.5, 0.9, 0.5, 1.5};

struct Case {
  Tensor logp = logp_for_ratios(kRatios, {2, 3});
  Tensor old_logp = full({2, 3}, -1.0, DType::f64);
  Tensor advantages = from_vector_f64({1.0, -2.0}, {2});
  Tensor mask = ones({2, 3}, DType::f64);
};

TEST(PolicyLoss, EveryClipBranchByHand) {
  Case c;
  ops::PolicyLossStats stats;
  Tensor loss = ops::policy_loss(c.logp, c.old_logp, Tensor(), c.advantages, c.mask, {}, &stats);
  EXPECT_EQ(loss.dim(), 0);
  // Surrogates 1.1 + 1.2 + 0.5 - 1.8 - 1.6 - 3.0 = -3.6 over 6 tokens.
  EXPECT_NEAR(loss.item_double(), 0.6, 1e-12);
  EXPECT_NEAR(stats.surrogate, -0.6, 1e-12);
  EXPECT_NEAR(stats.clip_fraction, 2.0 / 6.0, 1e-12);
  EXPECT_NEAR(stats.ratio_mean, 1.0, 1e-12);
  EXPECT_NEAR(stats.ratio_std, std::sqrt(1.02 / 6.0), 1e-12);
  EXPECT_NEAR(stats.ratio_max, 1.5, 1e-12);
  EXPECT_EQ(stats.kl_mean, 0.0);
  loss.backward();
  // d loss / d logp = -(r*A) / 6 on the unclipped branch, 0 on the clipped one.
  expect_all_near(grad_values(c.logp), {-1.1 / 6, 0.0, -0.5 / 6, 1.8 / 6, 0.0, 3.0 / 6});
}

TEST(PolicyLoss, ClipHigherWidensOnlyTheUpperSide) {
  Case c;
  ops::PolicyLossOptions opt;
  opt.clip_eps_high = 0.6;  // range [0.8, 1.6]: row 0's r = 1.5 is now inside
  ops::PolicyLossStats stats;
  Tensor loss = ops::policy_loss(c.logp, c.old_logp, Tensor(), c.advantages, c.mask, opt, &stats);
  EXPECT_NEAR(loss.item_double(), -(1.1 + 1.5 + 0.5 - 1.8 - 1.6 - 3.0) / 6, 1e-12);
  EXPECT_NEAR(stats.clip_fraction, 1.0 / 6.0, 1e-12);  // row 1's r = 0.5 is still clipped
  loss.backward();
  expect_all_near(grad_values(c.logp), {-1.1 / 6, -1.5 / 6, -0.5 / 6, 1.8 / 6, 0.0, 3.0 / 6});
}

TEST(PolicyLoss, TokenMeanAndSequenceMeanWithMask) {
  Case c;
  c.mask = from_vector_f64({1, 1, 0, 1, 1, 1}, {2, 3});
  // Token mean: (1.1 + 1.2 - 1.8 - 1.6 - 3.0) / 5.
  Tensor token = ops::policy_loss(c.logp, c.old_logp, Tensor(), c.advantages, c.mask, {});
  EXPECT_NEAR(token.item_double(), -(2.3 - 6.4) / 5, 1e-12);
  token.backward();
  expect_all_near(grad_values(c.logp), {-1.1 / 5, 0.0, 0.0, 1.8 / 5, 0.0, 3.0 / 5});

  // Sequence mean: ((1.1 + 1.2) / 2 + (-6.4) / 3) / 2; the masked position keeps a zero gradient.
  c.logp.set_grad(Tensor());
  ops::PolicyLossOptions opt;
  opt.sequence_mean = true;
  Tensor seq = ops::policy_loss(c.logp, c.old_logp, Tensor(), c.advantages, c.mask, opt);
  EXPECT_NEAR(seq.item_double(), -(2.3 / 2 - 6.4 / 3) / 2, 1e-12);
  seq.backward();
  expect_all_near(grad_values(c.logp), {-1.1 / 4, 0.0, 0.0, 1.8 / 6, 0.0, 3.0 / 6});

  // A sequence with no counted token does not count in the sequence mean.
  c.logp.set_grad(Tensor());
  Tensor only_row1 = from_vector_f64({0, 0, 0, 1, 1, 1}, {2, 3});
  Tensor one = ops::policy_loss(c.logp, c.old_logp, Tensor(), c.advantages, only_row1, opt);
  EXPECT_NEAR(one.item_double(), 6.4 / 3, 1e-12);

  // Nothing counts: 0 with a zero gradient.
  Tensor none =
      ops::policy_loss(c.logp, c.old_logp, Tensor(), c.advantages, zeros({2, 3}, DType::f64), opt);
  EXPECT_EQ(none.item_double(), 0.0);
  none.backward();
  expect_all_near(grad_values(c.logp), std::vector<double>(6, 0.0));
}

TEST(PolicyLoss, SampleWeightsScaleEachSequence) {
  Case c;
  Tensor weights = from_vector_f64({2.0, 0.5}, {2});
  Tensor loss =
      ops::policy_loss(c.logp, c.old_logp, Tensor(), c.advantages, c.mask, {}, nullptr, weights);
  EXPECT_NEAR(loss.item_double(), -(2.0 * 2.8 + 0.5 * -6.4) / 6, 1e-12);
  loss.backward();
  expect_all_near(grad_values(c.logp),
                  {-2.0 * 1.1 / 6, 0.0, -2.0 * 0.5 / 6, 0.5 * 1.8 / 6, 0.0, 0.5 * 3.0 / 6});
}

TEST(PolicyLoss, PerTokenAdvantages) {
  Case c;
  // The same advantages given per token reproduce the per-sequence result.
  Tensor per_token = from_vector_f64({1, 1, 1, -2, -2, -2}, {2, 3});
  Tensor a = ops::policy_loss(c.logp, c.old_logp, Tensor(), c.advantages, c.mask, {});
  Tensor b = ops::policy_loss(c.logp, c.old_logp, Tensor(), per_token, c.mask, {});
  EXPECT_NEAR(a.item_double(), b.item_double(), 1e-15);
}

TEST(PolicyLoss, KlIsTheK3Estimator) {
  Case c;
  const std::vector<double> ref = {-0.5, -2.0, -1.0, -3.0, -0.1, -1.7};
  Tensor ref_logp = from_vector_f64(ref, {2, 3});
  const Tensor lp = c.logp.detach().contiguous();
  double k3_sum = 0;
  std::vector<double> dk3;
  for (int i = 0; i < 6; ++i) {
    const double d = ref[i] - lp.data<double>()[i];
    const double k3 = std::exp(d) - d - 1;
    EXPECT_GE(k3, 0.0);
    k3_sum += k3;
    dk3.push_back(1 - std::exp(d));
  }
  ops::PolicyLossOptions opt;
  opt.kl_coef = 0.1;
  ops::PolicyLossStats stats;
  Tensor loss = ops::policy_loss(c.logp, c.old_logp, ref_logp, c.advantages, c.mask, opt, &stats);
  EXPECT_NEAR(stats.kl_mean, k3_sum / 6, 1e-12);
  EXPECT_NEAR(loss.item_double(), 0.6 + 0.1 * k3_sum / 6, 1e-12);
  loss.backward();
  const std::vector<double> surrogate_grad = {-1.1 / 6, 0.0, -0.5 / 6, 1.8 / 6, 0.0, 3.0 / 6};
  std::vector<double> want;
  for (int i = 0; i < 6; ++i) want.push_back(surrogate_grad[i] + 0.1 * dk3[i] / 6);
  expect_all_near(grad_values(c.logp), want);

  // kl_coef 0 with a reference still reports kl_mean (monitoring) but leaves the loss alone.
  ops::PolicyLossStats plain;
  Tensor no_kl = ops::policy_loss(c.logp, c.old_logp, ref_logp, c.advantages, c.mask, {}, &plain);
  EXPECT_NEAR(no_kl.item_double(), 0.6, 1e-12);
  EXPECT_NEAR(plain.kl_mean, k3_sum / 6, 1e-12);
}

TEST(PolicyLoss, K3IsUnbiasedForTheKl) {
  // Tokens sampled from pi: the mean of k3 = exp(log ref - log pi) - (log ref - log pi) - 1
  // estimates KL(pi || ref) = sum pi log(pi / ref).
  const std::vector<double> pi = {0.5, 0.3, 0.15, 0.05}, ref = {0.25, 0.25, 0.25, 0.25};
  double kl = 0;
  for (size_t k = 0; k < pi.size(); ++k) kl += pi[k] * std::log(pi[k] / ref[k]);
  const int64_t n = 200000;
  std::vector<double> u(n);
  fill_uniform(u.data(), n, 7, 0, 0.0, 1.0);
  std::vector<double> logp(n), ref_logp(n);
  for (int64_t i = 0; i < n; ++i) {
    size_t k = 0;  // the first category whose cumulative probability exceeds u
    double cumulative = pi[0];
    while (u[i] >= cumulative && k + 1 < pi.size()) cumulative += pi[++k];
    logp[i] = std::log(pi[k]);
    ref_logp[i] = std::log(ref[k]);
  }
  Tensor lp = from_vector_f64(logp, {1, n});
  ops::PolicyLossStats stats;
  ops::policy_loss(lp, lp, from_vector_f64(ref_logp, {1, n}), zeros({1}, DType::f64),
                   ones({1, n}, DType::f64), {}, &stats);
  EXPECT_NEAR(stats.kl_mean, kl, 0.01) << "KL " << kl;
  EXPECT_NEAR(stats.ratio_mean, 1.0, 1e-15);
}

TEST(PolicyLoss, Float32MatchesFloat64) {
  Case c;
  Tensor lp32 = c.logp.detach().to(DType::f32);
  lp32.set_requires_grad(true);
  Tensor loss = ops::policy_loss(lp32, c.old_logp.to(DType::f32), Tensor(),
                                 c.advantages.to(DType::f32), c.mask.to(DType::f32), {});
  EXPECT_EQ(loss.dtype(), DType::f32);
  EXPECT_NEAR(loss.item_double(), 0.6, 1e-6);
  loss.backward();
  EXPECT_EQ(lp32.grad().dtype(), DType::f32);
  expect_all_near(grad_values(lp32), {-1.1 / 6, 0.0, -0.5 / 6, 1.8 / 6, 0.0, 3.0 / 6}, 1e-6);
}

// The loss is piecewise smooth: it has kinks where r crosses 1 - eps or 1 + eps_high (and where
// r*A and clip(r)*A swap). Central differences straddling a kink are meaningless, so the ratios
// are placed at least 0.02 from the boundaries (eps = 1e-6 moves r by ~1e-6), on both branches.
TEST(PolicyLossGrad, MatchesCentralDifferences) {
  const std::vector<double> ratios = {0.5, 0.9,  1.05, 1.3, 0.7,  1.1,
                                      1.0, 1.25, 0.6,  1.4, 0.95, 1.6};
  Generator gen(3);
  Tensor noise = uniform({3, 4}, -1.5, -0.2, DType::f64, &gen).contiguous();
  std::vector<double> lp, old;
  for (int i = 0; i < 12; ++i) {
    lp.push_back(noise.data<double>()[i]);
    old.push_back(lp.back() - std::log(ratios[i]));
  }
  Tensor old_logp = from_vector_f64(old, {3, 4});
  Tensor ref_logp = uniform({3, 4}, -2, -0.1, DType::f64, &gen);
  Tensor seq_adv = from_vector_f64({1.3, -0.7, 0.4}, {3});
  Tensor tok_adv = uniform({3, 4}, -2, 2, DType::f64, &gen);
  Tensor mask = from_vector_f64({1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1}, {3, 4});
  Tensor weights = from_vector_f64({0.3, 1.0, 0.8}, {3});
  for (bool sequence_mean : {false, true}) {
    for (const Tensor& adv : {seq_adv, tok_adv}) {
      ops::PolicyLossOptions opt;
      opt.clip_eps = 0.15;
      opt.clip_eps_high = 0.28;  // range [0.85, 1.28]
      opt.kl_coef = 0.05;
      opt.sequence_mean = sequence_mean;
      Tensor logp = from_vector_f64(lp, {3, 4});
      logp.set_requires_grad(true);
      expect_gradcheck(
          [&](const auto& in) {
            return ops::policy_loss(in[0], old_logp, ref_logp, adv, mask, opt, nullptr, weights);
          },
          {logp});
    }
  }
}

TEST(PolicyLossGrad, ThroughAnOpOnANonContiguousView) {
  // logp = the transpose of a [4, 3] leaf, made by an op: the gradient reaches the leaf through
  // PolicyLossBackward and PermuteBackward.
  const std::vector<double> ratios = {0.5, 0.9,  1.05, 1.3, 0.7,  1.1,
                                      1.0, 1.25, 0.6,  1.4, 0.95, 1.6};
  Tensor leaf = testing::rand_leaf({4, 3}, 8, -1.5, -0.2);
  const double* pl = leaf.data<double>();
  std::vector<double> old;
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < 4; ++t) old.push_back(pl[t * 3 + b] - std::log(ratios[b * 4 + t]));
  Tensor old_logp = from_vector_f64(old, {3, 4});
  Tensor adv = from_vector_f64({-0.4, 1.2, 0.9}, {3});
  Tensor mask = from_vector_f64({1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0}, {3, 4});
  expect_gradcheck(
      [&](const auto& in) {
        return ops::policy_loss(ops::permute(in[0], {1, 0}), old_logp, Tensor(), adv, mask, {});
      },
      {leaf});
}

TEST(ValueLoss, ClippedBranchesByHand) {
  // clip 0.2. Per token (v, old_v, R): v - old_v inside the range gives (v - R)^2 with gradient
  // 2(v - R); outside, the larger of the plain and clipped errors, the clipped one with zero
  // gradient.
  //   (1.0, 0.9, 1.5): inside: 0.25, d = -1
  //   (1.5, 1.0, 2.0): v_c = 1.2: max(0.25, 0.64) = 0.64 clipped, d = 0
  //   (1.5, 1.0, 0.0): v_c = 1.2: max(2.25, 1.44) = 2.25 plain, d = 3
  //   (0.0, 0.5, 1.0): v_c = 0.3: max(1, 0.49) = 1 plain, d = -2
  //   (0.1, 0.0, 0.1): inside: 0, d = 0
  //   (-1.0, 0.0, -2.0): v_c = -0.2: max(1, 3.24) = 3.24 clipped, d = 0
  Tensor v = from_vector_f64({1.0, 1.5, 1.5, 0.0, 0.1, -1.0}, {2, 3});
  v.set_requires_grad(true);
  Tensor old_v = from_vector_f64({0.9, 1.0, 1.0, 0.5, 0.0, 0.0}, {2, 3});
  Tensor ret = from_vector_f64({1.5, 2.0, 0.0, 1.0, 0.1, -2.0}, {2, 3});
  Tensor mask = ones({2, 3}, DType::f64);
  Tensor loss = ops::value_loss(v, old_v, ret, mask, 0.2);
  EXPECT_NEAR(loss.item_double(), 0.5 * (0.25 + 0.64 + 2.25 + 1 + 0 + 3.24) / 6, 1e-12);
  loss.backward();
  expect_all_near(grad_values(v), {0.5 * -1 / 6, 0.0, 0.5 * 3 / 6, 0.5 * -2 / 6, 0.0, 0.0});

  v.set_grad(Tensor());
  Tensor plain = ops::value_loss(v, old_v, ret, mask, 0.0);
  EXPECT_NEAR(plain.item_double(), 0.5 * (0.25 + 0.25 + 2.25 + 1 + 0 + 1) / 6, 1e-12);

  // Masked tokens neither count nor get a gradient.
  v.set_grad(Tensor());
  Tensor partial = from_vector_f64({1, 0, 1, 1, 0, 0}, {2, 3});
  Tensor masked = ops::value_loss(v, old_v, ret, partial, 0.2);
  EXPECT_NEAR(masked.item_double(), 0.5 * (0.25 + 2.25 + 1) / 3, 1e-12);
  masked.backward();
  expect_all_near(grad_values(v), {0.5 * -1 / 3, 0.0, 0.5 * 3 / 3, 0.5 * -2 / 3, 0.0, 0.0});
}

// Kinks at |v - old_v| = clip and where the two squared errors are equal: the offsets v - old_v
// are kept 0.05 or more from +-clip and the returns far from the crossing.
TEST(ValueLossGrad, MatchesCentralDifferences) {
  const std::vector<double> offsets = {0.05, -0.1, 0.4, -0.5, 0.25, -0.35, 0.0, 0.6};
  const std::vector<double> values = {0.3, -0.2, 1.1, 0.7, -0.9, 0.5, 0.1, -0.4};
  const std::vector<double> returns = {1.0, -1.0, 0.2, 1.5, 0.3, -0.6, 0.8, 1.2};
  std::vector<double> old;
  for (size_t i = 0; i < values.size(); ++i) old.push_back(values[i] - offsets[i]);
  Tensor old_v = from_vector_f64(old, {2, 4}), ret = from_vector_f64(returns, {2, 4});
  Tensor mask = from_vector_f64({1, 1, 0, 1, 1, 1, 1, 1}, {2, 4});
  for (double clip : {0.0, 0.2}) {
    Tensor v = from_vector_f64(values, {2, 4});
    v.set_requires_grad(true);
    expect_gradcheck([&](const auto& in) { return ops::value_loss(in[0], old_v, ret, mask, clip); },
                     {v});
  }
}

TEST(PolicyLoss, ErrorsNameTheOpAndShapes) {
  Tensor lp = zeros({2, 3}), adv = zeros({2}), m = ones({2, 3});
  expect_error(
      [&] {
        ops::policy_loss(lp, zeros({2, 4}), Tensor(), adv, m, {});
      },
      "policy_loss: old_logp Tensor[2, 4] f32 does not match logp Tensor[2, 3] f32");
  expect_error([&] { ops::policy_loss(zeros({6}), zeros({6}), Tensor(), adv, m, {}); },
               "policy_loss: logp must be [B, T], got Tensor[6] f32");
  expect_error([&] { ops::policy_loss(lp, lp, Tensor(), zeros({3}), m, {}); },
               "policy_loss: advantages Tensor[3] f32 must be [B] or [B, T] for logp Tensor[2, 3]");
  expect_error(
      [&] {
        ops::policy_loss(lp, lp, Tensor(), adv, zeros({2, 3}, DType::i64), {});
      },
      "policy_loss: mask must be f32 or f64, got Tensor[2, 3] i64");
  expect_error(
      [&] {
        ops::policy_loss(lp, lp, Tensor(), adv, full({2, 3}, 0.5), {});
      },
      "policy_loss: mask Tensor[2, 3] f32 has 0.5 at element 0");
  ops::PolicyLossOptions kl;
  kl.kl_coef = 0.1;
  expect_error([&] { ops::policy_loss(lp, lp, Tensor(), adv, m, kl); },
               "policy_loss: kl_coef 0.1 needs ref_logp");
  expect_error(
      [&] {
        ops::policy_loss(lp, lp, zeros({3, 2}), adv, m, kl);
      },
      "policy_loss: ref_logp Tensor[3, 2] f32 does not match logp Tensor[2, 3] f32");
  expect_error(
      [&] {
        ops::policy_loss(lp, lp, Tensor(), adv, m, {}, nullptr, zeros({2, 1}));
      },
      "policy_loss: sample_weights Tensor[2, 1] f32 must be [B] for logp Tensor[2, 3] f32");
  expect_error(
      [&] {
        ops::policy_loss(lp, lp, Tensor(), adv, m, {}, nullptr, from_vector({1, -1}, {2}));
      },
      "policy_loss: sample_weights Tensor[2] f32 has -1 at sequence 1");
  ops::PolicyLossOptions bad;
  bad.clip_eps = 1.5;
  expect_error([&] { ops::policy_loss(lp, lp, Tensor(), adv, m, bad); },
               "policy_loss: clip_eps 1.5 outside [0, 1)");
}

TEST(ValueLoss, ErrorsNameTheOpAndShapes) {
  Tensor v = zeros({2, 3});
  expect_error(
      [&] {
        ops::value_loss(v, v, zeros({3, 2}), ones({2, 3}), 0.2);
      },
      "value_loss: returns Tensor[3, 2] f32 does not match values Tensor[2, 3] f32");
  expect_error([&] { ops::value_loss(zeros({6}), zeros({6}), zeros({6}), ones({6}), 0.2); },
               "value_loss: values must be [B, T], got Tensor[6] f32");
  expect_error(
      [&] {
        ops::value_loss(v, zeros({2, 3}, DType::i32), v, ones({2, 3}), 0.2);
      },
      "value_loss: old_values must be f32 or f64, got Tensor[2, 3] i32");
}

}  // namespace
}  // namespace seekforge
