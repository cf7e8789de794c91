// Softmax / log-softmax kernels (see softmax.h). A row is read from memory once: the max sweep
// brings it into L1 and the exp sweep re-reads it there. The backward row sums accumulate in
// double, so their accuracy does not depend on how (or whether) the compiler vectorises them.
#include "kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/vec_math.h"

namespace seekforge::kernels {

template <typename T>
void softmax_forward(T* y, const T* x, int64_t N, int64_t C) {
#pragma omp parallel for schedule(dynamic, row_chunk(C))
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + n * C;
    T* yr = y + n * C;
    const T m = row_max(xr, C);
    const T inv = T(1) / exp_shift_sum(yr, xr, m, C);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) yr[c] *= inv;
  }
}

template <typename T>
void softmax_backward(T* dx, const T* y, const T* dy, int64_t N, int64_t C) {
  // y = softmax(x): dx_j = y_j (dy_j - sum_i y_i dy_i).
#pragma omp parallel for schedule(dynamic, row_chunk(C))
  for (int64_t n = 0; n < N; ++n) {
    const T* yr = y + n * C;
    const T* dyr = dy + n * C;
    T* dxr = dx + n * C;
    // dx is first touched after the dot product: its lines are requested now, to arrive while
    // the dot streams y and dy (as in the RMSNorm backward).
    for (int64_t c = 0; c < C; c += 64 / int64_t(sizeof(T))) __builtin_prefetch(dxr + c, 1);
    const T dot = T(sum_products(yr, dyr, C));  // double: see the file comment
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) dxr[c] += yr[c] * (dyr[c] - dot);
  }
}

template <typename T>
void log_softmax_forward(T* y, const T* x, int64_t N, int64_t C) {
#pragma omp parallel for schedule(dynamic, row_chunk(C))
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + n * C;
    T* yr = y + n * C;
    const T m = row_max(xr, C);
    const T lse = m + std::log(exp_shift_sum(static_cast<T*>(nullptr), xr, m, C));
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] - lse;
  }
}

template <typename T>
void log_softmax_backward(T* dx, const T* y, const T* dy, int64_t N, int64_t C) {
  // y = x - lse(x): dx_j = dy_j - exp(y_j) sum_i dy_i. exp(y_j) is softmax_j; it is recomputed
  // rather than stored because the exp is cheaper than another [N, C] buffer.
#pragma omp parallel for schedule(dynamic, row_chunk(C))
  for (int64_t n = 0; n < N; ++n) {
    const T* yr = y + n * C;
    const T* dyr = dy + n * C;
    T* dxr = dx + n * C;
    double acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t c = 0; c < C; ++c) acc += double(dyr[c]);
    const T s = T(acc);
    if constexpr (std::is_same_v<T, float>) {
#if defined(SEEKFORGE_SIMD)
      const simd::vf sv = simd::set1(s);
      for (int64_t c = 0; c < C; c += 16) {
        const simd::mask k = c + 16 <= C ? simd::kAll : simd::tail_mask(C - c);
        const simd::vf e = simd::exp_no_overflow(simd::loadu(k, yr + c));  // y <= 0
        const simd::vf d = simd::loadu(k, dyr + c);
        const simd::vf o = simd::loadu(k, dxr + c);
        simd::storeu(dxr + c, k, simd::add(o, simd::fnmadd(e, sv, d)));
      }
      continue;
#endif
    }
    for (int64_t c = 0; c < C; ++c) dxr[c] += dyr[c] - std::exp(yr[c]) * s;
  }
}

// ---- naive twins ----
// exp and sums in double: the oracle is more accurate than the kernels it checks.

template <typename T>
void softmax_forward_naive(T* y, const T* x, int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    T m = x[n * C];
    for (int64_t c = 1; c < C; ++c) m = std::max(m, x[n * C + c]);
    double s = 0;
    for (int64_t c = 0; c < C; ++c) s += std::exp(double(x[n * C + c]) - m);
    for (int64_t c = 0; c < C; ++c) y[n * C + c] = T(std::exp(double(x[n * C + c]) - m) / s);
  }
}

template <typename T>
void softmax_backward_naive(T* dx, const T* y, const T* dy, int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    double dot = 0;
    for (int64_t c = 0; c < C; ++c) dot += double(y[n * C + c]) * dy[n * C + c];
    for (int64_t c = 0; c < C; ++c) dx[n * C + c] += y[n * C + c] * (dy[n * C + c] - T(dot));
  }
}

template <typename T>
void log_softmax_forward_naive(T* y, const T* x, int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    T m = x[n * C];
    for (int64_t c = 1; c < C; ++c) m = std::max(m, x[n * C + c]);
    double s = 0;
    for (int64_t c = 0; c < C; ++c) s += std::exp(double(x[n * C + c]) - m);
    const T lse = T(double(m) + std::log(s));
    for (int64_t c = 0; c < C; ++c) y[n * C + c] = x[n * C + c] - lse;
  }
}

template <typename T>
void log_softmax_backward_naive(T* dx, const T* y, const T* dy, int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    double s = 0;
    for (int64_t c = 0; c < C; ++c) s += dy[n * C + c];
    for (int64_t c = 0; c < C; ++c) {
      dx[n * C + c] += dy[n * C + c] - T(std::exp(double(y[n * C + c])) * s);
    }
  }
}

#define SF_INSTANTIATE(T)                                                            \
  template void softmax_forward<T>(T*, const T*, int64_t, int64_t);                  \
  template void softmax_backward<T>(T*, const T*, const T*, int64_t, int64_t);       \
  template void log_softmax_forward<T>(T*, const T*, int64_t, int64_t);              \
  template void log_softmax_backward<T>(T*, const T*, const T*, int64_t, int64_t);   \
  template void softmax_forward_naive<T>(T*, const T*, int64_t, int64_t);            \
  template void softmax_backward_naive<T>(T*, const T*, const T*, int64_t, int64_t); \
  template void log_softmax_forward_naive<T>(T*, const T*, int64_t, int64_t);        \
  template void log_softmax_backward_naive<T>(T*, const T*, const T*, int64_t, int64_t);
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace seekforge::kernels
