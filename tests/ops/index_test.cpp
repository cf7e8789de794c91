// Tests for the indexing ops: float64 gradient checks (contiguous, transposed, odd sizes),
// values against hand-worked examples, the grouped backward kernel against its naive twin,
// determinism across thread counts, dropout's mask contract, and errors that name the op.
#include "ops/index.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <tuple>

#include "core/threads.h"
#include "kernels/index.h"
#include "ops/gradcheck.h"

namespace seekforge {
namespace {

using testing::expect_gradcheck;
using testing::rand_leaf;
using testing::rand_leaf_transposed;

Tensor ids(const std::vector<int64_t>& v, const Shape& shape) { return from_vector_i64(v, shape); }
Tensor ids(const std::vector<int64_t>& v) { return ids(v, {static_cast<int64_t>(v.size())}); }

std::vector<int64_t> to_i64(const Tensor& t) {
  Tensor c = t.contiguous();
  const int64_t* p = c.data<int64_t>();
  return std::vector<int64_t>(p, p + c.numel());
}

// Runs f, expects a seekforge::Error whose text contains every one of `parts`.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown; expected one containing '" << parts[0] << "'";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const auto& p : parts) EXPECT_NE(what.find(p), std::string::npos) << what;
  }
}

// ---- gradient checks (float64 against central differences: 1e-6 abs + 1e-5 rel) ----

TEST(IndexGrad, Gather) {
  Tensor i1 = ids({0, 4, 4, 1, 2, 2, 3, 0, 0, 4, 1, 3}, {4, 3});  // repeats: grads must add
  expect_gradcheck([&](const auto& in) { return ops::gather(in[0], 1, i1); },
                   {rand_leaf({4, 5}, 1)});
  expect_gradcheck([&](const auto& in) { return ops::gather(in[0], -1, i1); },
                   {rand_leaf_transposed({4, 5}, 2)});
  // index smaller than x outside dim: x [5, 6], index [3, 4] along dim 0.
  Tensor i2 = ids({4, 0, 1, 1, 2, 2, 3, 0, 0, 4, 4, 3}, {3, 4});
  expect_gradcheck([&](const auto& in) { return ops::gather(in[0], 0, i2); },
                   {rand_leaf({5, 6}, 3)});
  Tensor i3 = ids({0, 2, 1, 1, 0, 0, 2, 2, 1, 0, 1, 2, 0, 0, 1, 2, 1, 0}, {3, 2, 3});
  expect_gradcheck([&](const auto& in) { return ops::gather(in[0], 1, i3); },
                   {rand_leaf({3, 3, 3}, 4)});
}

TEST(IndexGrad, ScatterAdd) {
  Tensor i1 = ids({0, 4, 4, 1, 2, 2, 3, 0, 0, 4, 1, 3}, {4, 3});
  expect_gradcheck([&](const auto& in) { return ops::scatter_add(in[0], 1, i1, in[1]); },
                   {rand_leaf({4, 5}, 5), rand_leaf({4, 3}, 6)});
  // src larger than index (only its corner is used), x transposed, dim 0.
  Tensor i2 = ids({2, 0, 1, 1, 2, 2}, {2, 3});
  expect_gradcheck([&](const auto& in) { return ops::scatter_add(in[0], 0, i2, in[1]); },
                   {rand_leaf_transposed({3, 4}, 7), rand_leaf({3, 5}, 8)});
}

TEST(IndexGrad, IndexSelectAndIndexAdd) {
  Tensor i = ids({3, 0, 3, 4});
  expect_gradcheck([&](const auto& in) { return ops::index_select(in[0], 0, i); },
                   {rand_leaf({5, 3}, 9)});
  expect_gradcheck([&](const auto& in) { return ops::index_select(in[0], 1, i); },
                   {rand_leaf_transposed({3, 5}, 10)});
  expect_gradcheck([&](const auto& in) { return ops::index_select(in[0], 1, i); },
                   {rand_leaf({2, 5, 3}, 11)});
  expect_gradcheck([&](const auto& in) { return ops::index_add(in[0], 0, i, in[1]); },
                   {rand_leaf({5, 3}, 12), rand_leaf({4, 3}, 13)});
  expect_gradcheck([&](const auto& in) { return ops::index_add(in[0], 1, i, in[1]); },
                   {rand_leaf({2, 5, 3}, 14), rand_leaf({2, 4, 3}, 15)});
}

TEST(IndexGrad, Embedding) {
  Tensor t = ids({6, 1, 1, 0, 6, 3}, {2, 3});
  expect_gradcheck([&](const auto& in) { return ops::embedding(in[0], t); },
                   {rand_leaf({7, 3}, 16)});
  expect_gradcheck([&](const auto& in) { return ops::embedding(in[0], t); },
                   {rand_leaf_transposed({7, 3}, 17)});
}

TEST(IndexGrad, Topk) {
  // Random values are distinct, so the choice is stable under the finite-difference steps.
  expect_gradcheck([](const auto& in) { return ops::topk(in[0], 3, 1).values; },
                   {rand_leaf({3, 7}, 18)});
  expect_gradcheck([](const auto& in) { return ops::topk(in[0], 2, 0, false).values; },
                   {rand_leaf_transposed({5, 3}, 19)});
  expect_gradcheck([](const auto& in) { return ops::topk(in[0], 2, 1).values; },
                   {rand_leaf({2, 5, 3}, 20)});
}

TEST(IndexGrad, WhereAndMaskedFill) {
  Tensor c = from_vector({1, 0, 1}, {3, 1}, DType::boolean);
  expect_gradcheck([&](const auto& in) { return ops::where(c, in[0], in[1]); },
                   {rand_leaf({3, 4}, 21), rand_leaf({4}, 22)});
  Tensor c2 = from_vector({1, 0, 0, 1, 1}, {5}, DType::u8);
  expect_gradcheck([&](const auto& in) { return ops::where(c2, in[0], in[1]); },
                   {rand_leaf_transposed({3, 5}, 23), rand_leaf({3, 1}, 24)});
  Tensor m = from_vector({0, 1, 1, 0}, {4}, DType::boolean);
  expect_gradcheck([&](const auto& in) { return ops::masked_fill(in[0], m, -7.5); },
                   {rand_leaf_transposed({3, 4}, 25)});
}

TEST(IndexGrad, Cumsum) {
  expect_gradcheck([](const auto& in) { return ops::cumsum(in[0], 1); }, {rand_leaf({3, 5}, 26)});
  expect_gradcheck([](const auto& in) { return ops::cumsum(in[0], 0); },
                   {rand_leaf_transposed({3, 5}, 27)});
  expect_gradcheck([](const auto& in) { return ops::cumsum(in[0], -2); },
                   {rand_leaf({2, 3, 5}, 28)});
}

TEST(IndexGrad, Dropout) {
  // A fresh generator per call: the same mask at every finite-difference evaluation.
  expect_gradcheck(
      [](const auto& in) {
        Generator g(99);
        return ops::dropout(in[0], 0.4, true, &g);
      },
      {rand_leaf_transposed({5, 7}, 29)});
}

TEST(IndexGrad, ConcatSplitStack) {
  expect_gradcheck(
      [](const auto& in) {
        return ops::concat({in[0], in[1], in[2]}, 1);
      },
      {rand_leaf({2, 3}, 30), rand_leaf({2, 1}, 31), rand_leaf_transposed({2, 4}, 32)});
  expect_gradcheck(
      [](const auto& in) {
        return ops::concat({in[0], in[1]}, 0);
      },
      {rand_leaf({1, 3}, 33), rand_leaf({2, 3}, 34)});
  // The middle piece is unused: its gradient never flows and must come back as zeros.
  expect_gradcheck(
      [](const auto& in) {
        auto p = ops::split(in[0], {2, 1, 2}, 0);
        return ops::concat({ops::mul(p[0], 2.0), p[2]}, 0);
      },
      {rand_leaf_transposed({5, 3}, 35)});
  expect_gradcheck(
      [](const auto& in) {
        return ops::stack({in[0], in[1], in[2]}, 1);
      },
      {rand_leaf({2, 3}, 36), rand_leaf_transposed({2, 3}, 37), rand_leaf({2, 3}, 38)});
  expect_gradcheck(
      [](const auto& in) {
        return ops::stack({in[0], in[1]}, -1);
      },
      {rand_leaf({3}, 39), rand_leaf({3}, 40)});
}

// ---- values ----

TEST(Index, GatherAndScatterAddValues) {
  Tensor x = from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor g = ops::gather(x, 1, from_vector_i64({2, 0, 1, 1}, {2, 2}, DType::i32));
  EXPECT_EQ(g.to_vector_f32(), (std::vector<float>{3, 1, 5, 5}));
  Tensor s = ops::scatter_add(zeros({2, 3}), 1, ids({2, 0, 1, 1}, {2, 2}),
                              from_vector({1, 2, 3, 4}, {2, 2}));
  EXPECT_EQ(s.to_vector_f32(), (std::vector<float>{2, 0, 1, 0, 7, 0}));
  // x itself is not modified (out-of-place).
  EXPECT_EQ(x.to_vector_f32(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Index, IndexSelectAddEmbeddingValues) {
  Tensor x = from_vector({1, 2, 3, 4, 5, 6}, {3, 2});
  EXPECT_EQ(ops::index_select(x, 0, ids({2, 0, 2})).to_vector_f32(),
            (std::vector<float>{5, 6, 1, 2, 5, 6}));
  EXPECT_EQ(ops::index_select(x, 1, ids({1})).to_vector_f32(), (std::vector<float>{2, 4, 6}));
  EXPECT_EQ(ops::index_add(x, 0, ids({2, 2}), from_vector({1, 1, 10, 10}, {2, 2})).to_vector_f32(),
            (std::vector<float>{1, 2, 3, 4, 16, 17}));
  Tensor e = ops::embedding(x, ids({1, 1, 0, 2}, {2, 2}));
  EXPECT_EQ(e.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(e.to_vector_f32(), (std::vector<float>{3, 4, 3, 4, 1, 2, 5, 6}));
  // Backward: repeated ids accumulate, unused rows are zero.
  Tensor w = x.clone();
  w.set_requires_grad(true);
  ops::sum(ops::embedding(w, ids({1, 1, 2}))).backward();
  EXPECT_EQ(w.grad().to_vector_f32(), (std::vector<float>{0, 0, 2, 2, 1, 1}));
}

TEST(Index, TopkTiesNanAndDims) {
  Tensor x = from_vector({1, 3, 3, 2, 3}, {5});
  auto r = ops::topk(x, 2);
  EXPECT_EQ(r.values.to_vector_f32(), (std::vector<float>{3, 3}));
  EXPECT_EQ(to_i64(r.indices), (std::vector<int64_t>{1, 2}));
  auto s = ops::topk(x, 3, 0, false);
  EXPECT_EQ(s.values.to_vector_f32(), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(to_i64(s.indices), (std::vector<int64_t>{0, 3, 1}));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto n = ops::topk(from_vector({1, nan, 5}, {3}), 2);
  EXPECT_EQ(to_i64(n.indices), (std::vector<int64_t>{1, 2}));
  // Along dim 0 of [3, 2].
  auto c = ops::topk(from_vector({1, 9, 7, 2, 4, 8}, {3, 2}), 2, 0);
  EXPECT_EQ(c.values.shape(), (Shape{2, 2}));
  EXPECT_EQ(c.values.to_vector_f32(), (std::vector<float>{7, 9, 4, 8}));
  EXPECT_EQ(to_i64(c.indices), (std::vector<int64_t>{1, 0, 2, 2}));
  EXPECT_EQ(ops::topk(x, 0).values.numel(), 0);
}

TEST(Index, WhereMaskedFillCumsumValues) {
  Tensor c = from_vector({1, 0}, {2, 1}, DType::boolean);
  Tensor w = ops::where(c, from_vector({1, 2, 3}, {3}), scalar_tensor(-1));
  EXPECT_EQ(w.shape(), (Shape{2, 3}));
  EXPECT_EQ(w.to_vector_f32(), (std::vector<float>{1, 2, 3, -1, -1, -1}));
  Tensor m = ops::masked_fill(from_vector({1, 2, 3, 4}, {2, 2}),
                              from_vector({0, 1}, {2}, DType::u8), -INFINITY);
  EXPECT_EQ(m.to_vector_f32(), (std::vector<float>{1, -INFINITY, 3, -INFINITY}));
  Tensor x = from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(ops::cumsum(x, 1).to_vector_f32(), (std::vector<float>{1, 3, 6, 4, 9, 15}));
  EXPECT_EQ(ops::cumsum(x, 0).to_vector_f32(), (std::vector<float>{1, 2, 3, 5, 7, 9}));
  EXPECT_EQ(ops::cumsum(x.transpose(0, 1), 1).to_vector_f32(),
            (std::vector<float>{1, 5, 2, 7, 3, 9}));
}

TEST(Index, ConcatSplitStackValues) {
  Tensor a = from_vector({1, 2, 3, 4}, {2, 2}), b = from_vector({5, 6}, {2, 1});
  Tensor c = ops::concat({a, b}, 1);
  EXPECT_EQ(c.to_vector_f32(), (std::vector<float>{1, 2, 5, 3, 4, 6}));
  auto parts = ops::split(c, {1, 0, 2}, 1);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].to_vector_f32(), (std::vector<float>{1, 3}));
  EXPECT_EQ(parts[1].numel(), 0);
  EXPECT_EQ(parts[2].to_vector_f32(), (std::vector<float>{2, 5, 4, 6}));
  EXPECT_EQ(parts[2].storage(), c.storage());  // views, no copy
  Tensor s = ops::stack({a, a}, 2);
  EXPECT_EQ(s.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(s.to_vector_f32(), (std::vector<float>{1, 1, 2, 2, 3, 3, 4, 4}));
  // Integer tensors join too.
  EXPECT_EQ(to_i64(ops::concat({ids({1, 2}), ids({3})}, 0)), (std::vector<int64_t>{1, 2, 3}));
}

// ---- the grouped backward kernel and determinism ----

TEST(Index, GroupedBackwardMatchesNaiveBitwise) {
  Generator gen(5);
  for (int64_t outer : {1, 3}) {
    const int64_t nx = 37, n = 301, inner = 19;
    Tensor src = randn({outer, n, inner}, DType::f32, &gen);
    std::vector<int64_t> v(n);
    for (int64_t j = 0; j < n; ++j) v[j] = (j * j * 7 + 3) % (j % 5 == 0 ? 3 : nx);  // skewed
    Tensor idx = ids(v);
    Tensor fast = ops::index_add(zeros({outer, nx, inner}), 1, idx, src);
    Tensor naive = zeros({outer, nx, inner});
    kernels::index_select_backward_naive(naive.data<float>(), src.data<float>(),
                                         idx.data<int64_t>(), outer, nx, n, inner);
    EXPECT_EQ(fast.to_vector_f32(), naive.to_vector_f32()) << "outer " << outer;
  }
}

// The embedding gradient (grouped kernel writing rows, streaming stores when the table is
// large) against the naive kernel, bitwise: small odd D, and a table above the streaming size.
TEST(Index, EmbeddingGradMatchesNaiveBitwise) {
  for (auto [V, D, n] : {std::tuple<int64_t, int64_t, int64_t>{53, 19, 700}, {4096, 640, 3000}}) {
    Generator gen(21);
    Tensor w = zeros({V, D});
    w.set_requires_grad(true);
    std::vector<int64_t> v(n);
    for (int64_t j = 0; j < n; ++j) v[j] = (j * 7919 + j / 3) % (j % 4 == 0 ? 5 : V);
    Tensor out = ops::embedding(w, ids(v));
    Tensor g = randn(out.shape(), DType::f32, &gen);
    out.backward(g);
    Tensor naive = zeros({V, D});
    kernels::index_select_backward_naive(naive.data<float>(), g.data<float>(),
                                         ids(v).data<int64_t>(), 1, V, n, D);
    EXPECT_EQ(w.grad().to_vector_f32(), naive.to_vector_f32()) << "V " << V << " D " << D;
  }
}

// Embedding backward at a size that runs in parallel, with Zipf-like repeated ids.
std::vector<float> embedding_grad(int threads) {
  const int prev = num_threads();
  set_num_threads(threads);
  Generator gen(11);
  Tensor w = randn({1000, 96}, DType::f32, &gen);
  w.set_requires_grad(true);
  std::vector<int64_t> v(4096);
  for (size_t j = 0; j < v.size(); ++j)
    v[j] = static_cast<int64_t>((j * 2654435761u) % 997) % (1 + j % 50);
  Tensor out = ops::embedding(w, ids(v, {64, 64}));
  out.backward(randn(out.shape(), DType::f32, &gen));
  set_num_threads(prev);
  return w.grad().to_vector_f32();
}

TEST(Index, EmbeddingBackwardSameAtOneAndTwoThreads) {
  EXPECT_EQ(embedding_grad(1), embedding_grad(2));
}

TEST(Index, GatherBackwardSameAtOneAndTwoThreads) {
  auto run = [](int threads) {
    const int prev = num_threads();
    set_num_threads(threads);
    Generator gen(3);
    Tensor x = randn({64, 300}, DType::f32, &gen);
    x.set_requires_grad(true);
    std::vector<int64_t> v(64 * 600);
    for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<int64_t>(j * 31 % 300) % (1 + j % 7);
    Tensor out = ops::gather(x, 1, ids(v, {64, 600}));
    out.backward(randn(out.shape(), DType::f32, &gen));
    set_num_threads(prev);
    return x.grad().to_vector_f32();
  };
  EXPECT_EQ(run(1), run(2));
}

// ---- dropout ----

TEST(Dropout, MaskContract) {
  Tensor x = ones({200, 500});
  Generator g1(42), g2(42), g3(43);
  const auto a = ops::dropout(x, 0.3, true, &g1).to_vector_f32();
  const auto b = ops::dropout(x, 0.3, true, &g2).to_vector_f32();
  const auto c = ops::dropout(x, 0.3, true, &g3).to_vector_f32();
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(g1.state().offset, 100000u);
  int64_t kept = 0;
  for (float v : a) {
    if (v != 0) {
      ++kept;
      EXPECT_FLOAT_EQ(v, 1.0f / 0.7f);
    }
  }
  EXPECT_NEAR(static_cast<double>(kept) / a.size(), 0.7, 0.01);
  // Element i's mask is the uniform draw of counter offset + i: the same numbers uniform() gives.
  Generator gu(42);
  const auto u = uniform({200, 500}, 0, 1, DType::f32, &gu).to_vector_f32();
  for (size_t i = 0; i < u.size(); ++i) ASSERT_EQ(a[i] != 0, u[i] >= 0.3f) << i;
}

TEST(Dropout, RestoringTheGeneratorRepeatsTheMaskAtAnyThreadCount) {
  Generator g(7);
  g.reserve(123);
  const GeneratorState saved = g.state();
  Tensor x = randn({3001}, DType::f64, &g);
  g.set_state(saved);
  const int prev = num_threads();
  set_num_threads(1);
  const auto one = ops::dropout(x, 0.5, true, &g).to_vector_f32();
  g.set_state(saved);
  set_num_threads(2);
  const auto two = ops::dropout(x, 0.5, true, &g).to_vector_f32();
  set_num_threads(prev);
  EXPECT_EQ(one, two);
}

TEST(Dropout, IdentityCasesAndBackwardMask) {
  Tensor x = randn({4, 5});
  Generator g(1);
  EXPECT_EQ(ops::dropout(x, 0.0, true, &g).impl(), x.impl());
  EXPECT_EQ(ops::dropout(x, 0.9, false, &g).impl(), x.impl());
  EXPECT_EQ(g.state().offset, 0u);  // nothing drawn
  for (float v : ops::dropout(x, 1.0, true, &g).to_vector_f32()) EXPECT_EQ(v, 0.0f);
  // Backward multiplies by the same mask and scale.
  Tensor leaf = ones({4, 5});
  leaf.set_requires_grad(true);
  Tensor y = ops::dropout(leaf, 0.5, true, &g);
  ops::sum(y).backward();
  EXPECT_EQ(leaf.grad().to_vector_f32(), y.to_vector_f32());
}

// ---- bad inputs: every error names the op ----

TEST(Index, BadInputsNameTheOp) {
  Tensor x = zeros({2, 5});
  expect_error(
      [&] {
        ops::gather(x, 1, ids({0, 5}, {1, 2}));
      },
      {"gather: index 5 is out of bounds for dim 1", "[2, 5]"});
  expect_error([&] { ops::gather(x, 1, ids({-1}, {1, 1})); }, {"gather: index -1", "[2, 5]"});
  expect_error([&] { ops::gather(x, 2, ids({0}, {1, 1})); }, {"gather: dim 2"});
  expect_error([&] { ops::gather(x, 1, zeros({1, 1})); }, {"gather: index must be i64"});
  expect_error([&] { ops::gather(x, 1, ids({0})); }, {"gather: index", "rank"});
  expect_error([&] { ops::gather(zeros({2}, DType::i64), 0, ids({0})); }, {"gather: input"});
  expect_error(
      [&] {
        ops::scatter_add(x, 0, ids({2}, {1, 1}), zeros({1, 1}));
      },
      {"scatter_add: index 2", "[2, 5]"});
  expect_error(
      [&] {
        ops::scatter_add(x, 0, ids({0, 0}, {1, 2}), zeros({1, 1}));
      },
      {"scatter_add:", "larger than src"});
  expect_error(
      [&] {
        ops::scatter_add(x, 0, ids({0}, {1, 1}), zeros({1, 1}, DType::f64));
      },
      {"scatter_add: dtypes differ"});
  expect_error([&] { ops::index_select(x, 0, ids({0, 2})); }, {"index_select: index 2", "[2, 5]"});
  expect_error([&] { ops::index_select(x, -3, ids({0})); }, {"index_select: dim -3"});
  expect_error([&] { ops::index_select(x, 0, ids({0}, {1, 1})); }, {"index_select: index must be"});
  expect_error(
      [&] {
        ops::index_add(x, 1, ids({0, 1}), zeros({2, 3}));
      },
      {"index_add: src", "[2, 2]"});
  expect_error([&] { ops::index_add(x, 1, ids({7}), zeros({2, 1})); }, {"index_add: index 7"});
  expect_error(
      [&] {
        ops::embedding(zeros({10, 4}), ids({3, 10, 2}));
      },
      {"embedding: index 10", "[10, 4]"});
  expect_error([&] { ops::embedding(zeros({10}), ids({3})); },
               {"embedding: weight must be [V, D]"});
  expect_error([&] { ops::embedding(zeros({10, 4}), zeros({3})); }, {"embedding: index must be"});
  expect_error([&] { ops::topk(x, 6, 1); }, {"topk: k = 6", "[2, 5]"});
  expect_error([&] { ops::topk(x, 1, 2); }, {"topk: dim 2"});
  expect_error([&] { ops::where(zeros({3}), x, x); }, {"where: condition must be boolean"});
  expect_error([&] { ops::where(zeros({3}, DType::boolean), x, x); },
               {"where: shapes [3], [2, 5] and [2, 5]"});
  expect_error([&] { ops::where(zeros({5}, DType::boolean), x, zeros({5}, DType::f64)); },
               {"where: dtypes differ"});
  expect_error(
      [&] {
        ops::masked_fill(zeros({5}), zeros({2, 5}, DType::boolean), 1);
      },
      {"masked_fill: mask", "cannot be broadcast"});
  expect_error([&] { ops::cumsum(x, 2); }, {"cumsum: dim 2"});
  expect_error([&] { ops::dropout(x, 1.5, true); }, {"dropout: p must be in [0, 1]"});
  expect_error([&] { ops::concat({x, zeros({3, 4})}, 0); }, {"concat: tensor 1", "[3, 4]"});
  expect_error([&] { ops::concat({x, zeros({2, 5}, DType::f64)}, 0); }, {"concat: tensor 1"});
  expect_error([&] { ops::concat({}, 0); }, {"concat: expects at least one"});
  expect_error([&] { ops::split(x, {2, 2}, 1); }, {"split: sizes [2, 2] sum to 4"});
  expect_error([&] { ops::stack({x, zeros({5, 2})}, 0); }, {"stack: tensor 1"});
  expect_error([&] { ops::stack({x}, 3); }, {"stack: dim 3"});
}

}  // namespace
}  // namespace seekforge
