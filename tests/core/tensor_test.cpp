#include "core/tensor.h"

#include <gtest/gtest.h>

#include <sstream>

#include "core/allocator.h"
#include "core/threads.h"

namespace seekforge {
namespace {

TEST(Tensor, CreationAndLayout) {
  Tensor t = zeros({2, 3, 4});
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % kAlignment, 0u);
  Tensor a = arange(0, 10, 3);
  EXPECT_EQ(a.numel(), 4);
  EXPECT_EQ(a.data<int64_t>()[3], 9);
  EXPECT_EQ(full({}, 2.5).item_double(), 2.5);
  EXPECT_THROW(full({2}, 2.5).item_double(), Error);
  EXPECT_THROW(zeros({2, -1}), Error);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = arange(0, 24, 1, DType::f32).view({2, 3, 4});
  Tensor p = t.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.storage(), t.storage());
  EXPECT_FALSE(p.is_contiguous());
  Tensor pc = p.contiguous();
  EXPECT_TRUE(pc.is_contiguous());
  // p[1][1][2] = t[1][2][1] = 1*12 + 2*4 + 1 = 21
  EXPECT_EQ(pc.data<float>()[1 * 6 + 1 * 3 + 2], 21.0f);
  Tensor n = t.narrow(2, 1, 2);
  EXPECT_EQ(n.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(n.contiguous().data<float>()[0], 1.0f);
  Tensor e = arange(0, 3, 1, DType::f32).view({3, 1}).expand({3, 4});
  EXPECT_EQ(e.stride(1), 0);
  EXPECT_EQ(e.contiguous().data<float>()[7], 1.0f);
  Tensor u = t.unsqueeze(0).squeeze(0);
  EXPECT_EQ(u.shape(), t.shape());
  EXPECT_EQ(t.select(1, 2).shape(), (Shape{2, 4}));
  EXPECT_EQ(t.view({-1, 4}).shape(), (Shape{6, 4}));
  EXPECT_THROW(p.view({24}), Error);  // not contiguous
  EXPECT_THROW(t.view({5, 5}), Error);
  EXPECT_THROW(t.narrow(0, 1, 2), Error);
  EXPECT_THROW(t.expand({3, 3, 4}), Error);
}

TEST(Tensor, DtypeConversionRoundTrips) {
  Tensor f = from_vector({1.0f, -2.5f, 3.25f, 1e-3f}, {4});
  Tensor b = f.to(DType::bf16);
  EXPECT_EQ(b.dtype(), DType::bf16);
  auto back = b.to(DType::f32).to_vector_f32();
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[2], 3.25f);
  EXPECT_NEAR(back[3], 1e-3f, 1e-5f);
  auto h = f.to(DType::f16).to(DType::f32).to_vector_f32();
  EXPECT_EQ(h[1], -2.5f);
  Tensor i = from_vector_i64({(int64_t{1} << 60) + 1, -7}, {2});
  Tensor i2 = i.permute({0}).to(DType::i64);
  EXPECT_EQ(i2.data<int64_t>()[0], (int64_t{1} << 60) + 1);
  EXPECT_EQ(f.to(DType::i32).data<int32_t>()[1], -2);
  EXPECT_THROW(f.data<double>(), Error);
}

TEST(Tensor, RandomIsSeededAndThreadIndependent) {
  Generator g1(42), g2(42);
  Tensor a = randn({1000}, DType::f32, &g1);
  set_num_threads(1);
  Tensor b = randn({1000}, DType::f32, &g2);
  set_num_threads(2);
  EXPECT_EQ(a.to_vector_f32(), b.to_vector_f32());
  Tensor c = randn({1000}, DType::f32, &g1);  // the generator moved on
  EXPECT_NE(a.to_vector_f32(), c.to_vector_f32());
  // Moments of a large draw.
  Generator g3(7);
  auto v = randn({200000}, DType::f32, &g3).to_vector_f32();
  double m = 0, s = 0;
  for (float x : v) m += x;
  m /= v.size();
  for (float x : v) s += (x - m) * (x - m);
  s /= v.size();
  EXPECT_NEAR(m, 0.0, 0.01);
  EXPECT_NEAR(s, 1.0, 0.01);
  auto u = uniform({10000}, 2, 3, DType::f32, &g3).to_vector_f32();
  for (float x : u) ASSERT_TRUE(x >= 2 && x < 3);
}

TEST(Tensor, AllocatorReusesBlocks) {
  empty_cache();
  { Tensor a = empty({1000}); }
  const auto before = allocator_stats();
  { Tensor b = empty({1000}); }
  const auto after = allocator_stats();
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1);
}

TEST(Tensor, PrintsShapeAndValues) {
  std::ostringstream os;
  os << from_vector({1, 2, 3, 4}, {2, 2});
  EXPECT_NE(os.str().find("Tensor[2, 2] f32"), std::string::npos);
  EXPECT_NE(os.str().find("[3, 4]"), std::string::npos);
}

TEST(Tensor, CopyAndFillOnViews) {
  Tensor t = zeros({3, 4});
  t.narrow(1, 1, 2).fill_(5);
  auto v = t.to_vector_f32();
  EXPECT_EQ(v[0], 0);
  EXPECT_EQ(v[1], 5);
  EXPECT_EQ(v[6], 5);
  Tensor s = from_vector({1, 2, 3}, {3, 1});
  t.narrow(1, 0, 1).copy_(s);
  EXPECT_EQ(t.to_vector_f32()[8], 3);
}

}  // namespace
}  // namespace seekforge
