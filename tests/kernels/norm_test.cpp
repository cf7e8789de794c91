#include "kernels/norm.h"

#include <gtest/gtest.h>

#include "kernel_test_util.h"

namespace seekforge::kernels {
namespace {

using testing::expect_close;
using testing::randn;

// Rows: small N keeps C = 32768 cheap; 37 rows cover an odd split over 2 threads.
int64_t rows_for(int64_t C) { return C >= 32768 ? 5 : 37; }

template <typename T>
class NormTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(NormTest, Types);

TYPED_TEST(NormTest, RmsNormFastMatchesNaive) {
  using T = TypeParam;
  for (int64_t C : {1, 7, 33, 385, 32768}) {
    const int64_t N = rows_for(C);
    const std::string tag = "C=" + std::to_string(C);
    auto x = randn<T>(N * C, 1), w = randn<T>(C, 2), dy = randn<T>(N * C, 3);
    std::vector<T> y(N * C), y0(N * C), r(N), r0(N);
    rmsnorm_forward(y.data(), r.data(), x.data(), w.data(), N, C, T(1e-6));
    rmsnorm_forward_naive(y0.data(), r0.data(), x.data(), w.data(), N, C, T(1e-6));
    expect_close(y, y0, "rmsnorm y " + tag);
    expect_close(r, r0, "rmsnorm rstd " + tag);
    // Non-zero starting gradients check that backward accumulates.
    auto dx = randn<T>(N * C, 4), dw = randn<T>(C, 5);
    auto dx0 = dx, dw0 = dw;
    rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), r.data(), N, C);
    rmsnorm_backward_naive(dx0.data(), dw0.data(), dy.data(), x.data(), w.data(), r.data(), N, C);
    expect_close(dx, dx0, "rmsnorm dx " + tag);
    expect_close(dw, dw0, "rmsnorm dw " + tag);
  }
}

TYPED_TEST(NormTest, LayerNormFastMatchesNaive) {
  using T = TypeParam;
  for (int64_t C : {1, 7, 33, 385, 32768}) {
    const int64_t N = rows_for(C);
    const std::string tag = "C=" + std::to_string(C);
    auto x = randn<T>(N * C, 11, 3.0), w = randn<T>(C, 12), b = randn<T>(C, 13);
    auto dy = randn<T>(N * C, 14);
    for (auto& v : x) v += T(2);  // a non-zero mean exercises the centring
    std::vector<T> y(N * C), y0(N * C), mu(N), mu0(N), r(N), r0(N);
    layernorm_forward(y.data(), mu.data(), r.data(), x.data(), w.data(), b.data(), N, C, T(1e-5));
    layernorm_forward_naive(y0.data(), mu0.data(), r0.data(), x.data(), w.data(), b.data(), N, C,
                            T(1e-5));
    expect_close(y, y0, "layernorm y " + tag);
    expect_close(mu, mu0, "layernorm mean " + tag);
    expect_close(r, r0, "layernorm rstd " + tag);
    auto dx = randn<T>(N * C, 15), dw = randn<T>(C, 16), db = randn<T>(C, 17);
    auto dx0 = dx, dw0 = dw, db0 = db;
    layernorm_backward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), mu.data(),
                       r.data(), N, C);
    layernorm_backward_naive(dx0.data(), dw0.data(), db0.data(), dy.data(), x.data(), w.data(),
                             mu.data(), r.data(), N, C);
    // C = 1 makes x - mean exactly 0 and dx pure rounding noise: compare absolutely there.
    expect_close(dx, dx0, testing::kRtol<T>, C == 1 ? 1e-3 : testing::kAtol<T>,
                 "layernorm dx " + tag);
    expect_close(dw, dw0, "layernorm dw " + tag);
    expect_close(db, db0, "layernorm db " + tag);
  }
}

TEST(NormGrad, RmsNormFiniteDifferences) {
  const int64_t N = 3, C = 6;
  auto x = randn<double>(N * C, 21), w = randn<double>(C, 22), up = randn<double>(N * C, 23);
  std::vector<double> y(N * C), r(N);
  auto loss = [&] {
    rmsnorm_forward(y.data(), r.data(), x.data(), w.data(), N, C, 1e-6);
    return testing::dot(y, up);
  };
  loss();
  std::vector<double> dx(N * C, 0.0), dw(C, 0.0);
  rmsnorm_backward(dx.data(), dw.data(), up.data(), x.data(), w.data(), r.data(), N, C);
  testing::expect_grad_fd(x, dx, loss, "rmsnorm dx");
  testing::expect_grad_fd(w, dw, loss, "rmsnorm dw");
}

TEST(NormGrad, LayerNormFiniteDifferences) {
  const int64_t N = 3, C = 6;
  auto x = randn<double>(N * C, 31), w = randn<double>(C, 32), b = randn<double>(C, 33);
  auto up = randn<double>(N * C, 34);
  std::vector<double> y(N * C), mu(N), r(N);
  auto loss = [&] {
    layernorm_forward(y.data(), mu.data(), r.data(), x.data(), w.data(), b.data(), N, C, 1e-5);
    return testing::dot(y, up);
  };
  loss();
  std::vector<double> dx(N * C, 0.0), dw(C, 0.0), db(C, 0.0);
  layernorm_backward(dx.data(), dw.data(), db.data(), up.data(), x.data(), w.data(), mu.data(),
                     r.data(), N, C);
  testing::expect_grad_fd(x, dx, loss, "layernorm dx");
  testing::expect_grad_fd(w, dw, loss, "layernorm dw");
  testing::expect_grad_fd(b, db, loss, "layernorm db");
}

TEST(NormDeterminism, BackwardRepeatsBitwise) {
  for (int64_t C : {385, 32768}) {  // stack-partial path and wide-row fallback
    const int64_t N = 67;
    auto x = randn<float>(N * C, 41), w = randn<float>(C, 42), dy = randn<float>(N * C, 43);
    std::vector<float> y(N * C), r(N);
    rmsnorm_forward(y.data(), r.data(), x.data(), w.data(), N, C, 1e-6f);
    std::vector<float> dx1(N * C, 0.f), dw1(C, 0.f), dx2(N * C, 0.f), dw2(C, 0.f);
    rmsnorm_backward(dx1.data(), dw1.data(), dy.data(), x.data(), w.data(), r.data(), N, C);
    rmsnorm_backward(dx2.data(), dw2.data(), dy.data(), x.data(), w.data(), r.data(), N, C);
    EXPECT_TRUE(testing::bitwise_equal(dx1, dx2)) << C;
    EXPECT_TRUE(testing::bitwise_equal(dw1, dw2)) << C;
    std::vector<float> mu(N), b(C, 0.5f), db1(C, 0.f), db2(C, 0.f);
    layernorm_forward(y.data(), mu.data(), r.data(), x.data(), w.data(), b.data(), N, C, 1e-5f);
    std::fill(dw1.begin(), dw1.end(), 0.f);
    std::fill(dw2.begin(), dw2.end(), 0.f);
    layernorm_backward(dx1.data(), dw1.data(), db1.data(), dy.data(), x.data(), w.data(), mu.data(),
                       r.data(), N, C);
    layernorm_backward(dx2.data(), dw2.data(), db2.data(), dy.data(), x.data(), w.data(), mu.data(),
                       r.data(), N, C);
    EXPECT_TRUE(testing::bitwise_equal(dw1, dw2)) << C;
    EXPECT_TRUE(testing::bitwise_equal(db1, db2)) << C;
  }
}

}  // namespace
}  // namespace seekforge::kernels
