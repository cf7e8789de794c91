// GEMM: every matrix product in seekforge goes through this file.
//
// Float and 16-bit products go to oneDNN's matmul primitive (AMX / AVX512-BF16 / AVX-512 chosen
// by oneDNN at run time); the wrapper only describes the operands and caches the primitive.
// Double products (used by the float64 gradient checks only, oneDNN has no f64) run a blocked
// OpenMP loop here. gemm_naive is the test oracle. This file is not a hand-written fast GEMM and
// never will be: measure oneDNN first.
//
// Semantics, row-major, for every batch index b in [0, batch):
//   C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b]
//   op(A[b]) is [m, k]: A[b] is stored [m, k] with row stride lda, or [k, m] when trans_a;
//   op(B[b]) is [k, n]: B[b] is stored [k, n] with row stride ldb, or [n, k] when trans_b;
//   C[b] is [m, n] with row stride ldc (never transposed);
//   A[b] starts at a + b * stride_a (elements); stride_a = 0 broadcasts one A to every batch.
//   Same for B; stride_c must be non-zero when batch > 1.
// beta == 0 never reads C, so C may be uninitialised; beta == 1 accumulates (backward passes).
//
// Thread safety: every function may be called from any thread. The primitive cache is guarded
// by a mutex; oneDNN runs its own OpenMP parallel region (omp_set_num_threads applies).
// Results are bitwise identical run to run for a fixed thread count and fixed shapes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace seekforge::kernels {

struct GemmShape {
  int64_t batch = 1;
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  int64_t lda = 0, ldb = 0, ldc = 0;                 // row strides in elements
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // batch strides in elements (0 = broadcast)
};

// Dense row-major shape: leading dimensions and batch strides of contiguous operands.
GemmShape gemm_shape(int64_t batch, int64_t m, int64_t n, int64_t k, bool trans_a = false,
                     bool trans_b = false);

// Throws seekforge::Error naming `op` when the shape is not a valid set of operands: negative
// sizes, leading dimensions shorter than a stored row, a broadcast or overlapping C. For callers
// (ops layer); the gemm functions themselves trust their shape.
void check_gemm_shape(const GemmShape& s, const char* op);

// oneDNN path. a, b hold ab_dtype elements (f32, bf16 or f16); products accumulate in f32.
// c_dtype is f32, or bf16 / f16 when ab_dtype is that type (C rounded once at the end; with
// beta != 0 the old C is read in that dtype). bf16 runs on AMX where the CPU has it. oneDNN 2.6
// has no CPU f16 matmul, and no bf16 one on CPUs without AVX-512: those operands are widened to
// f32 in per-thread scratch first (exact, but an extra pass). The caller checks shapes;
// the kernel throws seekforge::Error only for a dtype combination it cannot run.
void gemm(DType ab_dtype, DType c_dtype, const GemmShape& s, const void* a, const void* b, void* c,
          float alpha, float beta);
inline void gemm(DType ab_dtype, const GemmShape& s, const void* a, const void* b, float* c,
                 float alpha, float beta) {
  gemm(ab_dtype, DType::f32, s, a, b, c, alpha, beta);
}

// Whether products on ab_dtype operands run as such (f32, f64; bf16 on AMX / AVX512-BF16 /
// AVX-512), rather than widened to f32 first.
bool gemm_native(DType ab_dtype);

// Typed overloads so that kernels templated on float / double can call gemm(shape, a, b, c, ...).
inline void gemm(const GemmShape& s, const float* a, const float* b, float* c, float alpha,
                 float beta) {
  gemm(DType::f32, DType::f32, s, a, b, c, alpha, beta);
}
// Blocked OpenMP loop (no oneDNN): for float64 gradient checks, not for training.
void gemm(const GemmShape& s, const double* a, const double* b, double* c, double alpha,
          double beta);

// Reference: a plain triple loop, single thread, accumulating in T in increasing k order.
template <typename T>
void gemm_naive(const GemmShape& s, const T* a, const T* b, T* c, T alpha, T beta);

// Primitive cache counters (process-wide), for tests and benchmarks.
struct GemmCacheStats {
  int64_t hits = 0, misses = 0, size = 0;
};
GemmCacheStats gemm_cache_stats();
void gemm_cache_clear();  // drops cached primitives and zeroes the counters

}  // namespace seekforge::kernels
