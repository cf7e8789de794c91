// RoPE kernels (see rope.h). The tables turn the per-element pow/cos/sin into two loads; the
// inner loop over j is unit-stride in x, y, cos and sin, so it vectorises as written.
#include "kernels/rope.h"

#include <cmath>

#include "kernels/vec_math.h"

namespace seekforge::kernels {

template <typename T>
void rope_tables(T* cos, T* sin, int64_t start_pos, int64_t T_len, int64_t rot_dim, double theta) {
  const int64_t half = rot_dim / 2;
  for (int64_t t = 0; t < T_len; ++t) {
    for (int64_t j = 0; j < half; ++j) {
      const double inv_freq = std::pow(theta, -2.0 * double(j) / double(rot_dim));
      const double a = double(start_pos + t) * inv_freq;
      cos[t * half + j] = T(std::cos(a));
      sin[t * half + j] = T(std::sin(a));
    }
  }
}

namespace {

// kBackward = false: forward rotation into out; true: rotation by -angle added into out.
template <typename T, bool kBackward>
void rope_apply(T* out, const T* in, const T* cos, const T* sin, int64_t B, int64_t T_len,
                int64_t H, int64_t head_stride, int64_t offset_in_head, int64_t rot_dim) {
  const int64_t half = rot_dim / 2;
#pragma omp parallel for schedule(dynamic, row_chunk(H* head_stride))
  for (int64_t bt = 0; bt < B * T_len; ++bt) {
    const int64_t t = bt % T_len;
    const T* c = cos + t * half;
    const T* s = sin + t * half;
    for (int64_t h = 0; h < H; ++h) {
      const int64_t base = (bt * H + h) * head_stride + offset_in_head;
      const T* a = in + base;
      const T* b = in + base + half;
      T* oa = out + base;
      T* ob = out + base + half;
#pragma omp simd
      for (int64_t j = 0; j < half; ++j) {
        const T xa = a[j], xb = b[j];
        if constexpr (kBackward) {
          oa[j] += xa * c[j] + xb * s[j];
          ob[j] += xb * c[j] - xa * s[j];
        } else {
          oa[j] = xa * c[j] - xb * s[j];
          ob[j] = xb * c[j] + xa * s[j];
        }
      }
    }
  }
}

}  // namespace

template <typename T>
void rope_forward(T* y, const T* x, const T* cos, const T* sin, int64_t B, int64_t T_len, int64_t H,
                  int64_t head_stride, int64_t offset_in_head, int64_t rot_dim) {
  rope_apply<T, false>(y, x, cos, sin, B, T_len, H, head_stride, offset_in_head, rot_dim);
}

template <typename T>
void rope_backward(T* dx, const T* dy, const T* cos, const T* sin, int64_t B, int64_t T_len,
                   int64_t H, int64_t head_stride, int64_t offset_in_head, int64_t rot_dim) {
  rope_apply<T, true>(dx, dy, cos, sin, B, T_len, H, head_stride, offset_in_head, rot_dim);
}

// ---- naive twins ----

template <typename T>
void rope_forward_naive(T* y, const T* x, int64_t start_pos, double theta, int64_t B, int64_t T_len,
                        int64_t H, int64_t head_stride, int64_t offset_in_head, int64_t rot_dim) {
  const int64_t half = rot_dim / 2;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T_len; ++t)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < half; ++j) {
          const double a = double(start_pos + t) * std::pow(theta, -2.0 * double(j) / rot_dim);
          const T c = T(std::cos(a)), s = T(std::sin(a));
          const int64_t i = ((b * T_len + t) * H + h) * head_stride + offset_in_head + j;
          const T x0 = x[i], x1 = x[i + half];
          y[i] = x0 * c - x1 * s;
          y[i + half] = x1 * c + x0 * s;
        }
}

template <typename T>
void rope_backward_naive(T* dx, const T* dy, int64_t start_pos, double theta, int64_t B,
                         int64_t T_len, int64_t H, int64_t head_stride, int64_t offset_in_head,
                         int64_t rot_dim) {
  const int64_t half = rot_dim / 2;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T_len; ++t)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < half; ++j) {
          const double a = double(start_pos + t) * std::pow(theta, -2.0 * double(j) / rot_dim);
          const T c = T(std::cos(a)), s = T(std::sin(a));
          const int64_t i = ((b * T_len + t) * H + h) * head_stride + offset_in_head + j;
          const T d0 = dy[i], d1 = dy[i + half];
          dx[i] += d0 * c + d1 * s;
          dx[i + half] += d1 * c - d0 * s;
        }
}

#define SF_INSTANTIATE(T)                                                                        \
  template void rope_tables<T>(T*, T*, int64_t, int64_t, int64_t, double);                       \
  template void rope_forward<T>(T*, const T*, const T*, const T*, int64_t, int64_t, int64_t,     \
                                int64_t, int64_t, int64_t);                                      \
  template void rope_backward<T>(T*, const T*, const T*, const T*, int64_t, int64_t, int64_t,    \
                                 int64_t, int64_t, int64_t);                                     \
  template void rope_forward_naive<T>(T*, const T*, int64_t, double, int64_t, int64_t, int64_t,  \
                                      int64_t, int64_t, int64_t);                                \
  template void rope_backward_naive<T>(T*, const T*, int64_t, double, int64_t, int64_t, int64_t, \
                                       int64_t, int64_t, int64_t);
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace seekforge::kernels
