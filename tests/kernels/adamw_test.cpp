#include "kernels/adamw.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernel_test_util.h"

namespace seekforge::kernels {
namespace {

using testing::expect_close;
using testing::randn;

// torch.optim.AdamW's single-tensor step written op by op, in T, as PyTorch 1.13 executes it:
// mul_(1 - lr wd); exp_avg.mul_(b1).add_(g, alpha=1-b1) (add_ is an fma); exp_avg_sq.mul_(b2)
// .addcmul_(g, g, value=1-b2); denom = (exp_avg_sq.sqrt() / sqrt(bc2)).add_(eps);
// p.addcdiv_(exp_avg, denom, value=-lr/bc1).
template <typename T>
void reference_adamw(std::vector<T>& p, const std::vector<T>& g, std::vector<T>& m,
                     std::vector<T>& v, double lr, double wd, double b1, double b2, double eps,
                     int64_t step) {
  const double bc1 = 1 - std::pow(b1, double(step)), bc2 = 1 - std::pow(b2, double(step));
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = p[i] * T(1 - lr * wd);
    m[i] = m[i] * T(b1);
    m[i] = std::fma(g[i], T(1 - b1), m[i]);
    v[i] = v[i] * T(b2);
    v[i] = v[i] + T(1 - b2) * g[i] * g[i];
    const T denom = std::sqrt(v[i]) / T(std::sqrt(bc2)) + T(eps);
    p[i] = p[i] + T(-(lr / bc1)) * m[i] / denom;
  }
}

template <typename T>
class AdamWTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(AdamWTest, Types);

TYPED_TEST(AdamWTest, TenStepsMatchReferenceAndNaive) {
  using T = TypeParam;
  // Three parameter tensors of odd sizes with their own lr / weight decay (a no-decay group).
  const int64_t sizes[] = {1, 385, 32771};
  const double lrs[] = {1e-3, 3e-4, 1e-2}, wds[] = {0.1, 0.0, 0.01};
  std::vector<std::vector<T>> p, m, v, rp, rm, rv, np, nm, nv;
  for (int s = 0; s < 3; ++s) {
    p.push_back(randn<T>(sizes[s], 10 + s));
    m.emplace_back(sizes[s], T(0));
    v.emplace_back(sizes[s], T(0));
  }
  rp = np = p, rm = nm = m, rv = nv = v;
  AdamWHyper h;
  h.beta1 = 0.9, h.beta2 = 0.95, h.eps = 1e-8;
  for (int64_t step = 1; step <= 10; ++step) {
    h.step = step;
    std::vector<std::vector<T>> g;
    for (int s = 0; s < 3; ++s) g.push_back(randn<T>(sizes[s], 100 * step + s, 0.1));
    std::vector<AdamWSegment<T>> segs, nsegs;
    for (int s = 0; s < 3; ++s) {
      segs.push_back(
          {p[s].data(), g[s].data(), m[s].data(), v[s].data(), sizes[s], lrs[s], wds[s]});
      nsegs.push_back(
          {np[s].data(), g[s].data(), nm[s].data(), nv[s].data(), sizes[s], lrs[s], wds[s]});
      reference_adamw(rp[s], g[s], rm[s], rv[s], lrs[s], wds[s], h.beta1, h.beta2, h.eps, step);
    }
    adamw_step(segs.data(), 3, h);
    adamw_step_naive(nsegs.data(), 3, h);
  }
  // Float: the only differences are fma contraction choices (the compiler may fuse the scalar
  // reference's v b2 + (1-b2) g g; PyTorch and the vector kernel do not), a few ulp after 10
  // steps. Parameters near 0 are the sum of O(1) and O(lr) terms, hence the absolute 1e-7.
  const double rtol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  const double patol = std::is_same_v<T, float> ? 1e-7 : 1e-15;
  for (int s = 0; s < 3; ++s) {
    expect_close(p[s], rp[s], rtol, patol, "adamw p vs reference seg " + std::to_string(s));
    expect_close(m[s], rm[s], rtol, rtol * 1e-2, "adamw m vs reference");
    expect_close(v[s], rv[s], rtol, rtol * 1e-4, "adamw v vs reference");
    expect_close(p[s], np[s], rtol, patol, "adamw p vs naive");
  }
}

// The same 10 steps run through torch.optim.AdamW / SGD (PyTorch 1.13, float32) with
// p0_i = 0.5 sin(i + 1), g_t,i = 0.1 cos(0.7 i + t); final parameters printed with %.9e.
float p0(int i) { return float(0.5 * std::sin(i + 1)); }
float grad_at(int i, int t) { return float(0.1 * std::cos(0.7 * i + t)); }

TEST(AdamW, MatchesTorchFixture) {
  const float want[16] = {
      4.211356640e-01f,  4.910044968e-01f,  1.085190400e-01f,  -3.479922712e-01f,
      -4.671927691e-01f, -1.541021764e-01f, 2.838239670e-01f,  4.563136101e-01f,
      1.862547696e-01f,  -2.641061246e-01f, -4.540106356e-01f, -2.271505296e-01f,
      2.342567593e-01f,  4.973124564e-01f,  3.057303131e-01f,  -1.838459820e-01f};
  std::vector<float> p(16), m(16, 0.f), v(16, 0.f), g(16);
  for (int i = 0; i < 16; ++i) p[i] = p0(i);
  AdamWHyper h;
  h.beta1 = 0.9, h.beta2 = 0.95, h.eps = 1e-8;
  for (int t = 1; t <= 10; ++t) {
    for (int i = 0; i < 16; ++i) g[i] = grad_at(i, t);
    h.step = t;
    const AdamWSegment<float> seg{p.data(), g.data(), m.data(), v.data(), 16, 1e-2, 0.1};
    adamw_step(&seg, 1, h);
  }
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(p[i], want[i], 1e-6 * std::abs(want[i])) << i;
}

TEST(Sgd, MatchesTorchFixtureNesterov) {
  const float want[16] = {
      4.434453547e-01f,  5.169648528e-01f,  1.527016014e-01f,  -3.135880530e-01f,
      -4.703896046e-01f, -2.006902695e-01f, 2.232090682e-01f,  4.014938176e-01f,
      1.791656464e-01f,  -2.156458944e-01f, -3.925814331e-01f, -1.708199084e-01f,
      2.461408675e-01f,  4.573958814e-01f,  2.414790541e-01f,  -2.272111773e-01f};
  std::vector<float> p(16), buf(16, 0.f), g(16);
  for (int i = 0; i < 16; ++i) p[i] = p0(i);
  SgdHyper h;
  h.momentum = 0.9, h.nesterov = true;
  for (int t = 1; t <= 10; ++t) {
    for (int i = 0; i < 16; ++i) g[i] = grad_at(i, t);
    h.first_step = t == 1;
    const SgdSegment<float> seg{p.data(), g.data(), buf.data(), 16, 1e-1, 0.01};
    sgd_step(&seg, 1, h);
  }
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(p[i], want[i], 1e-6 * std::abs(want[i])) << i;
}

TYPED_TEST(AdamWTest, SgdFastMatchesNaive) {
  using T = TypeParam;
  for (bool nesterov : {false, true}) {
    for (double mom : {0.0, 0.9}) {
      auto p = randn<T>(1001, 1), np = p;
      std::vector<T> buf(1001, T(0)), nbuf = buf;
      SgdHyper h;
      h.momentum = mom, h.nesterov = nesterov;
      for (int t = 1; t <= 3; ++t) {
        auto g = randn<T>(1001, 10 + t);
        h.first_step = t == 1;
        const SgdSegment<T> a{p.data(), g.data(), buf.data(), 1001, 0.05, 0.01};
        const SgdSegment<T> b{np.data(), g.data(), nbuf.data(), 1001, 0.05, 0.01};
        sgd_step(&a, 1, h);
        sgd_step_naive(&b, 1, h);
      }
      EXPECT_TRUE(testing::bitwise_equal(p, np)) << "nesterov " << nesterov << " mom " << mom;
    }
  }
}

TYPED_TEST(AdamWTest, SumSquaresAndScale) {
  using T = TypeParam;
  auto a = randn<T>(7, 1), b = randn<T>(100003, 2), c = randn<T>(1, 3);
  const Span<const T> segs[] = {{a.data(), 7}, {b.data(), 100003}, {c.data(), 1}};
  const double s1 = sum_squares(segs, 3), s2 = sum_squares(segs, 3);
  EXPECT_EQ(s1, s2);  // bitwise repeatable
  EXPECT_NEAR(s1, sum_squares_naive(segs, 3), 1e-6 * s1);
  const Span<T> msegs[] = {{a.data(), 7}, {b.data(), 100003}, {c.data(), 1}};
  const auto b_before = b;
  scale(msegs, 3, 0.25);
  for (size_t i = 0; i < b.size(); ++i) ASSERT_EQ(b[i], b_before[i] * T(0.25));
  EXPECT_NEAR(sum_squares(segs, 3), s1 / 16, 1e-6 * s1);
}

TEST(AdamWDeterminism, RepeatsBitwise) {
  auto p1 = randn<float>(50001, 1), g = randn<float>(50001, 2);
  auto p2 = p1;
  std::vector<float> m1(50001, 0.f), v1(50001, 0.f), m2 = m1, v2 = v1;
  AdamWHyper h;
  for (int64_t t = 1; t <= 3; ++t) {
    h.step = t;
    const AdamWSegment<float> a{p1.data(), g.data(), m1.data(), v1.data(), 50001, 1e-3, 0.1};
    const AdamWSegment<float> b{p2.data(), g.data(), m2.data(), v2.data(), 50001, 1e-3, 0.1};
    adamw_step(&a, 1, h);
    adamw_step(&b, 1, h);
  }
  EXPECT_TRUE(testing::bitwise_equal(p1, p2));
  EXPECT_TRUE(testing::bitwise_equal(v1, v2));
}

}  // namespace
}  // namespace seekforge::kernels
