#include "kernels/rope.h"

#include <gtest/gtest.h>

#include "kernel_test_util.h"

namespace seekforge::kernels {
namespace {

using testing::expect_close;
using testing::randn;

struct Layout {
  int64_t B, T, H, head_stride, offset, rot_dim, start_pos;
};
// Full-head RoPE, MLA-style suffix of a wider head, and an odd half width with a late start.
const Layout kLayouts[] = {
    {2, 5, 3, 64, 0, 64, 0}, {2, 7, 4, 48, 32, 16, 3}, {1, 3, 2, 13, 1, 10, 1000}};

template <typename T>
class RopeTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(RopeTest, Types);

TYPED_TEST(RopeTest, FastMatchesNaive) {
  using T = TypeParam;
  for (const Layout& L : kLayouts) {
    const int64_t n = L.B * L.T * L.H * L.head_stride, half = L.rot_dim / 2;
    const std::string tag =
        "hs=" + std::to_string(L.head_stride) + " rot=" + std::to_string(L.rot_dim);
    std::vector<T> cos(L.T * half), sin(L.T * half);
    rope_tables(cos.data(), sin.data(), L.start_pos, L.T, L.rot_dim, 10000.0);
    auto x = randn<T>(n, 1);
    // y starts as a copy of a sentinel buffer: elements outside the rotated range must survive.
    auto y = randn<T>(n, 2), y0 = y;
    rope_forward(y.data(), x.data(), cos.data(), sin.data(), L.B, L.T, L.H, L.head_stride, L.offset,
                 L.rot_dim);
    rope_forward_naive(y0.data(), x.data(), L.start_pos, 10000.0, L.B, L.T, L.H, L.head_stride,
                       L.offset, L.rot_dim);
    expect_close(y, y0, "rope y " + tag);
    auto dy = randn<T>(n, 3), dx = randn<T>(n, 4), dx0 = dx;
    rope_backward(dx.data(), dy.data(), cos.data(), sin.data(), L.B, L.T, L.H, L.head_stride,
                  L.offset, L.rot_dim);
    rope_backward_naive(dx0.data(), dy.data(), L.start_pos, 10000.0, L.B, L.T, L.H, L.head_stride,
                        L.offset, L.rot_dim);
    expect_close(dx, dx0, "rope dx " + tag);
    // In place (y == x) gives the same result as out of place.
    auto xi = x;
    rope_forward(xi.data(), xi.data(), cos.data(), sin.data(), L.B, L.T, L.H, L.head_stride,
                 L.offset, L.rot_dim);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t j = i % L.head_stride;
      const bool rotated = j >= L.offset && j < L.offset + L.rot_dim;
      EXPECT_EQ(xi[i], rotated ? y[i] : x[i]) << tag << " element " << i;
    }
  }
}

TEST(RopeGrad, FiniteDifferences) {
  const Layout L = {1, 2, 2, 10, 3, 6, 5};  // tiny: one parallel call per perturbation
  const int64_t n = L.B * L.T * L.H * L.head_stride, half = L.rot_dim / 2;
  std::vector<double> cos(L.T * half), sin(L.T * half);
  rope_tables(cos.data(), sin.data(), L.start_pos, L.T, L.rot_dim, 500.0);
  auto x = randn<double>(n, 5), up = randn<double>(n, 6);
  std::vector<double> y(n, 0.0);
  auto loss = [&] {
    rope_forward(y.data(), x.data(), cos.data(), sin.data(), L.B, L.T, L.H, L.head_stride, L.offset,
                 L.rot_dim);
    return testing::dot(y, up);
  };
  std::vector<double> dx(n, 0.0);
  rope_backward(dx.data(), up.data(), cos.data(), sin.data(), L.B, L.T, L.H, L.head_stride,
                L.offset, L.rot_dim);
  testing::expect_grad_fd(x, dx, loss, "rope dx");
}

TEST(Rope, KnownAngles) {
  // rot_dim 4, theta 100: frequencies 1 and 1/10; position 2 rotates pair 0 by 2 rad.
  std::vector<double> cos(2), sin(2);
  rope_tables(cos.data(), sin.data(), 2, 1, 4, 100.0);
  EXPECT_DOUBLE_EQ(cos[0], std::cos(2.0));
  EXPECT_DOUBLE_EQ(sin[1], std::sin(0.2));
  const std::vector<double> x = {1, 0, 0, 0};
  std::vector<double> y(4);
  rope_forward(y.data(), x.data(), cos.data(), sin.data(), 1, 1, 1, 4, 0, 4);
  EXPECT_DOUBLE_EQ(y[0], std::cos(2.0));
  EXPECT_DOUBLE_EQ(y[2], std::sin(2.0));  // x_j rotates into slot j + rot_dim/2
}

}  // namespace
}  // namespace seekforge::kernels
