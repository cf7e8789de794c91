#include "core/rng.h"

#include <cmath>

namespace seekforge {

std::array<uint32_t, 4> philox4x32(uint64_t counter_lo, uint64_t counter_hi, uint64_t key) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t{kM0} * c0, p1 = uint64_t{kM1} * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  return {c0, c1, c2, c3};
}

Generator& default_generator() {
  static thread_local Generator g(0);
  return g;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

namespace {

// 24 (float) or 53 (double) random bits to [0, 1).
inline double unit_double(uint32_t a, uint32_t b) {
  const uint64_t bits = (uint64_t{a} << 21) ^ (uint64_t{b} >> 11);
  return static_cast<double>(bits & ((uint64_t{1} << 53) - 1)) * 0x1.0p-53;
}
inline float unit_float(uint32_t a) { return static_cast<float>(a >> 8) * 0x1.0p-24f; }

template <typename T>
void uniform_impl(T* out, int64_t n, uint64_t seed, uint64_t first, T lo, T hi) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const auto r = philox4x32(first + static_cast<uint64_t>(i), 0, seed);
    T u;
    if constexpr (sizeof(T) == 4) {
      u = unit_float(r[0]);
    } else {
      u = static_cast<T>(unit_double(r[0], r[1]));
    }
    out[i] = lo + (hi - lo) * u;
  }
}

template <typename T>
void normal_impl(T* out, int64_t n, uint64_t seed, uint64_t first, T mean, T stddev) {
  // Box-Muller on two independent uniforms of the element's own counter.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const auto r = philox4x32(first + static_cast<uint64_t>(i), 0, seed);
    const double u1 = 1.0 - unit_double(r[0], r[1]);  // (0, 1]: log is finite
    const double u2 = unit_double(r[2], r[3]);
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    out[i] = static_cast<T>(mean + stddev * z);
  }
}

}  // namespace

void fill_uniform(float* out, int64_t n, uint64_t seed, uint64_t first, float lo, float hi) {
  uniform_impl(out, n, seed, first, lo, hi);
}
void fill_uniform(double* out, int64_t n, uint64_t seed, uint64_t first, double lo, double hi) {
  uniform_impl(out, n, seed, first, lo, hi);
}
void fill_normal(float* out, int64_t n, uint64_t seed, uint64_t first, float mean, float sd) {
  normal_impl(out, n, seed, first, mean, sd);
}
void fill_normal(double* out, int64_t n, uint64_t seed, uint64_t first, double mean, double sd) {
  normal_impl(out, n, seed, first, mean, sd);
}

}  // namespace seekforge
