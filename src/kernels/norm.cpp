// RMSNorm and LayerNorm kernels (see norm.h). Fast versions: one OpenMP pass over rows, each row
// read from memory once (its second and third sweeps hit L1), simd loops GCC vectorises. Row
// statistics accumulate in double: a float sum over C = 32768 terms can lose 1e-5 relative; the
// RMSNorm ones go through vec_math.h's sum_products, whose float path keeps the widening off
// the critical path.
#include "kernels/norm.h"

#include <cmath>

#include "kernels/row_partials.h"
#include "kernels/vec_math.h"

namespace seekforge::kernels {

template <typename T>
void rmsnorm_forward(T* y, T* rstd, const T* x, const T* w, int64_t N, int64_t C, T eps) {
#pragma omp parallel for schedule(dynamic, row_chunk(C))
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + n * C;
    T* yr = y + n * C;
    const double ss = sum_products(xr, xr, C);
    const T r = T(1.0 / std::sqrt(ss / double(C) + double(eps)));
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * r * w[c];
    rstd[n] = r;
  }
}

template <typename T>
void rmsnorm_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, const T* rstd, int64_t N,
                      int64_t C) {
  // Forward: y = x * r * w with r = (mean(x^2) + eps)^(-1/2), so dr/dx_j = -r^3 x_j / C and
  //   dx_j = r w_j dy_j - (r^3 / C) x_j sum_i(dy_i w_i x_i),   dw_j += dy_j x_j r.
  auto row_fn = [=](int64_t n, T* const* part) {
    const T* dyr = dy + n * C;
    const T* xr = x + n * C;
    T* dxr = dx + n * C;
    const T r = rstd[n];
    // dx is first touched after the dot product: ask for its lines now, so they arrive while the
    // dot streams dy and x (20% of the backward's time from memory).
    for (int64_t c = 0; c < C; c += 64 / int64_t(sizeof(T))) __builtin_prefetch(dxr + c, 1);
    const double dot = sum_products(dyr, w, xr, C);
    const T k = T(dot / double(C)) * r * r * r;
    if (part != nullptr) {
      T* pw = part[0];
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) {
        dxr[c] += r * w[c] * dyr[c] - k * xr[c];
        pw[c] += dyr[c] * xr[c] * r;
      }
    } else {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) dxr[c] += r * w[c] * dyr[c] - k * xr[c];
    }
  };
  auto col_fn = [=](int64_t c0, int64_t c1) {
    for (int64_t n = 0; n < N; ++n) {
      const T r = rstd[n];
#pragma omp simd
      for (int64_t c = c0; c < c1; ++c) dw[c] += dy[n * C + c] * x[n * C + c] * r;
    }
  };
  T* outs[1] = {dw};
  detail::rows_with_column_sums<T, 1>(outs, N, C, row_fn, col_fn);
}

template <typename T>
void layernorm_forward(T* y, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t N,
                       int64_t C, T eps) {
#pragma omp parallel for schedule(dynamic, row_chunk(C))
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + n * C;
    T* yr = y + n * C;
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < C; ++c) s += double(xr[c]);
    const T mu = T(s / double(C));
    // Two-pass variance (the row is in L1): no cancellation from E[x^2] - mu^2.
    double v = 0;
#pragma omp simd reduction(+ : v)
    for (int64_t c = 0; c < C; ++c) v += double(xr[c] - mu) * double(xr[c] - mu);
    const T r = T(1.0 / std::sqrt(v / double(C) + double(eps)));
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mu) * r * w[c] + b[c];
    mean[n] = mu;
    rstd[n] = r;
  }
}

template <typename T>
void layernorm_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, const T* mean,
                        const T* rstd, int64_t N, int64_t C) {
  // Forward: xhat = (x - mean) r, y = xhat w + b. With g = dy w:
  //   dx = r (g - mean(g) - xhat mean(g xhat)),  dw += dy xhat,  db += dy.
  auto row_fn = [=](int64_t n, T* const* part) {
    const T* dyr = dy + n * C;
    const T* xr = x + n * C;
    T* dxr = dx + n * C;
    const T mu = mean[n], r = rstd[n];
    double sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
    for (int64_t c = 0; c < C; ++c) {
      const T g = dyr[c] * w[c];
      sg += double(g);
      sgx += double(g) * double((xr[c] - mu) * r);
    }
    const T mg = T(sg / double(C)), mgx = T(sgx / double(C));
    if (part != nullptr) {
      T* pw = part[0];
      T* pb = part[1];
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) {
        const T xhat = (xr[c] - mu) * r;
        dxr[c] += r * (dyr[c] * w[c] - mg - xhat * mgx);
        pw[c] += dyr[c] * xhat;
        pb[c] += dyr[c];
      }
    } else {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) {
        const T xhat = (xr[c] - mu) * r;
        dxr[c] += r * (dyr[c] * w[c] - mg - xhat * mgx);
      }
    }
  };
  auto col_fn = [=](int64_t c0, int64_t c1) {
    for (int64_t n = 0; n < N; ++n) {
      const T mu = mean[n], r = rstd[n];
#pragma omp simd
      for (int64_t c = c0; c < c1; ++c) {
        dw[c] += dy[n * C + c] * ((x[n * C + c] - mu) * r);
        db[c] += dy[n * C + c];
      }
    }
  };
  T* outs[2] = {dw, db};
  detail::rows_with_column_sums<T, 2>(outs, N, C, row_fn, col_fn);
}

// ---- naive twins ----
// Sums accumulate in double so the oracle is more accurate than the kernels it checks.

template <typename T>
void rmsnorm_forward_naive(T* y, T* rstd, const T* x, const T* w, int64_t N, int64_t C, T eps) {
  for (int64_t n = 0; n < N; ++n) {
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += x[n * C + c] * x[n * C + c];
    rstd[n] = T(1.0 / std::sqrt(ss / double(C) + double(eps)));
    for (int64_t c = 0; c < C; ++c) y[n * C + c] = x[n * C + c] * rstd[n] * w[c];
  }
}

template <typename T>
void rmsnorm_backward_naive(T* dx, T* dw, const T* dy, const T* x, const T* w, const T* rstd,
                            int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    const T r = rstd[n];
    double dot = 0;
    for (int64_t c = 0; c < C; ++c) dot += dy[n * C + c] * w[c] * x[n * C + c];
    for (int64_t c = 0; c < C; ++c) {
      dx[n * C + c] += r * w[c] * dy[n * C + c] - r * r * r * T(dot / double(C)) * x[n * C + c];
      dw[c] += dy[n * C + c] * x[n * C + c] * r;
    }
  }
}

template <typename T>
void layernorm_forward_naive(T* y, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t N,
                             int64_t C, T eps) {
  for (int64_t n = 0; n < N; ++n) {
    double s = 0, v = 0;
    for (int64_t c = 0; c < C; ++c) s += x[n * C + c];
    const T mu = T(s / double(C));
    for (int64_t c = 0; c < C; ++c) v += double(x[n * C + c] - mu) * double(x[n * C + c] - mu);
    const T r = T(1.0 / std::sqrt(v / double(C) + double(eps)));
    for (int64_t c = 0; c < C; ++c) y[n * C + c] = (x[n * C + c] - mu) * r * w[c] + b[c];
    mean[n] = mu;
    rstd[n] = r;
  }
}

template <typename T>
void layernorm_backward_naive(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w,
                              const T* mean, const T* rstd, int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    const T mu = mean[n], r = rstd[n];
    double sg = 0, sgx = 0;
    for (int64_t c = 0; c < C; ++c) {
      const T xhat = (x[n * C + c] - mu) * r;
      sg += dy[n * C + c] * w[c];
      sgx += dy[n * C + c] * w[c] * xhat;
    }
    for (int64_t c = 0; c < C; ++c) {
      const T xhat = (x[n * C + c] - mu) * r;
      dx[n * C + c] += r * (dy[n * C + c] * w[c] - T(sg / double(C)) - xhat * T(sgx / double(C)));
      dw[c] += dy[n * C + c] * xhat;
      db[c] += dy[n * C + c];
    }
  }
}

#define SF_INSTANTIATE(T)                                                                          \
  template void rmsnorm_forward<T>(T*, T*, const T*, const T*, int64_t, int64_t, T);               \
  template void rmsnorm_backward<T>(T*, T*, const T*, const T*, const T*, const T*, int64_t,       \
                                    int64_t);                                                      \
  template void layernorm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t,   \
                                     T);                                                           \
  template void layernorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,          \
                                      const T*, int64_t, int64_t);                                 \
  template void rmsnorm_forward_naive<T>(T*, T*, const T*, const T*, int64_t, int64_t, T);         \
  template void rmsnorm_backward_naive<T>(T*, T*, const T*, const T*, const T*, const T*, int64_t, \
                                          int64_t);                                                \
  template void layernorm_forward_naive<T>(T*, T*, T*, const T*, const T*, const T*, int64_t,      \
                                           int64_t, T);                                            \
  template void layernorm_backward_naive<T>(T*, T*, T*, const T*, const T*, const T*, const T*,    \
                                            const T*, int64_t, int64_t);
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace seekforge::kernels
