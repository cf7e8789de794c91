// GEMM wrapper around oneDNN matmul, its primitive cache, the double path and the naive oracle.
// See gemm.h for the contract. Nothing here computes a float product itself except the double
// path and gemm_naive: the fast path is oneDNN's.
#include "kernels/gemm.h"

#include <algorithm>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace seekforge::kernels {

GemmShape gemm_shape(int64_t batch, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b) {
  GemmShape s;
  s.batch = batch;
  s.m = m;
  s.n = n;
  s.k = k;
  s.trans_a = trans_a;
  s.trans_b = trans_b;
  // A row stride of at least 1 keeps empty operands (a zero size) valid for check_gemm_shape.
  s.lda = std::max<int64_t>(trans_a ? m : k, 1);
  s.ldb = std::max<int64_t>(trans_b ? k : n, 1);
  s.ldc = std::max<int64_t>(n, 1);
  s.stride_a = m * k;
  s.stride_b = k * n;
  s.stride_c = m * n;
  return s;
}

void check_gemm_shape(const GemmShape& s, const char* op) {
  SF_CHECK(s.batch >= 0 && s.m >= 0 && s.n >= 0 && s.k >= 0)
      << op << ": negative GEMM size batch " << s.batch << " m " << s.m << " n " << s.n << " k "
      << s.k;
  const int64_t a_cols = s.trans_a ? s.m : s.k, b_cols = s.trans_b ? s.k : s.n;
  SF_CHECK(s.lda >= std::max<int64_t>(a_cols, 1) && s.ldb >= std::max<int64_t>(b_cols, 1) &&
           s.ldc >= std::max<int64_t>(s.n, 1))
      << op << ": leading dimensions lda " << s.lda << " ldb " << s.ldb << " ldc " << s.ldc
      << " shorter than the stored rows (" << a_cols << ", " << b_cols << ", " << s.n << ")";
  SF_CHECK(s.stride_a >= 0 && s.stride_b >= 0)
      << op << ": negative batch strides " << s.stride_a << ", " << s.stride_b;
  SF_CHECK(s.batch <= 1 || s.m == 0 || s.n == 0 || s.stride_c >= (s.m - 1) * s.ldc + s.n)
      << op << ": batch stride of C " << s.stride_c << " makes the " << s.batch << " outputs of ["
      << s.m << ", " << s.n << "] (ldc " << s.ldc << ") overlap";
}

namespace {

// ---- primitive cache ------------------------------------------------------------------------

// Everything that changes the primitive oneDNN builds. Batch strides are zeroed when batch == 1
// so that a single matrix hits one entry whatever strides the caller left in the shape.
struct Key {
  DType ab, c;
  int64_t batch, m, n, k;
  bool ta, tb;
  int64_t lda, ldb, ldc, sa, sb, sc;
  uint32_t alpha_bits, beta_bits;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  size_t operator()(const Key& key) const {
    const int64_t words[] = {static_cast<int64_t>(key.ab) | (static_cast<int64_t>(key.c) << 8) |
                                 (int64_t{key.ta} << 16) | (int64_t{key.tb} << 17),
                             key.batch,
                             key.m,
                             key.n,
                             key.k,
                             key.lda,
                             key.ldb,
                             key.ldc,
                             key.sa,
                             key.sb,
                             key.sc,
                             static_cast<int64_t>(key.alpha_bits) << 32 | key.beta_bits};
    uint64_t h = 0xcbf29ce484222325ull;
    for (int64_t w : words) {
      h ^= static_cast<uint64_t>(w) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    }
    return static_cast<size_t>(h);
  }
};

// A ready matmul and the memory descriptors its arguments are wrapped in. Immutable once built,
// shared by pointer so that eviction never pulls it from under a running call.
struct Entry {
  dnnl::matmul prim;
  dnnl::memory::desc src, wei, dst;
  bool per_batch = false;  // a 2-D primitive run once per batch index
};

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// A CPU stream is cheap but not safe to share between threads that execute at the same time;
// one per thread keeps concurrent callers apart.
dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

class PrimitiveCache {
 public:
  static constexpr size_t kCapacity = 1024;

  std::shared_ptr<const Entry> find(const Key& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    ++hits_;
    lru_.splice(lru_.begin(), lru_, it->second.second);
    return it->second.first;
  }

  // Inserts a freshly built entry; if another thread won the race, returns its entry instead.
  std::shared_ptr<const Entry> insert(const Key& key, std::shared_ptr<const Entry> entry) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++misses_;
    auto it = map_.find(key);
    if (it != map_.end()) return it->second.first;
    lru_.push_front(key);
    map_.emplace(key, std::make_pair(std::move(entry), lru_.begin()));
    if (map_.size() > kCapacity) {
      map_.erase(lru_.back());
      lru_.pop_back();
    }
    return map_.find(key)->second.first;
  }

  GemmCacheStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {hits_, misses_, static_cast<int64_t>(map_.size())};
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    map_.clear();
    lru_.clear();
    hits_ = misses_ = 0;
  }

 private:
  std::mutex mutex_;
  std::list<Key> lru_;  // most recently used first
  std::unordered_map<Key, std::pair<std::shared_ptr<const Entry>, std::list<Key>::iterator>,
                     KeyHash>
      map_;
  int64_t hits_ = 0, misses_ = 0;
};

PrimitiveCache& cache() {
  static PrimitiveCache instance;
  return instance;
}

dnnl::memory::data_type to_dnnl(DType t) {
  switch (t) {
    case DType::f32:
      return dnnl::memory::data_type::f32;
    case DType::bf16:
      return dnnl::memory::data_type::bf16;
    case DType::f16:
      return dnnl::memory::data_type::f16;
    default:
      break;
  }
  SF_FAIL() << "gemm: unsupported dtype " << dtype_name(t);
}

// Descriptor of one operand: logical [rows, cols] (batched when batch > 1), stored transposed
// when `trans`. A broadcast operand (batch stride 0) gets batch dimension 1, which oneDNN's
// matmul broadcasts.
dnnl::memory::desc operand_desc(DType t, int64_t batch, int64_t batch_stride, int64_t rows,
                                int64_t cols, bool trans, int64_t ld) {
  using dims = dnnl::memory::dims;
  const int64_t rs = trans ? 1 : ld, cs = trans ? ld : 1;
  if (batch == 1) return dnnl::memory::desc(dims{rows, cols}, to_dnnl(t), dims{rs, cs});
  const int64_t b = batch_stride == 0 ? 1 : batch;
  const int64_t bs = batch_stride == 0 ? std::max<int64_t>(rows * cols, 1) : batch_stride;
  return dnnl::memory::desc(dims{b, rows, cols}, to_dnnl(t), dims{bs, rs, cs});
}

std::shared_ptr<const Entry> build(const Key& key) {
  auto entry = std::make_shared<Entry>();
  dnnl::primitive_attr attr;
  float alpha, beta;
  std::memcpy(&alpha, &key.alpha_bits, sizeof alpha);
  std::memcpy(&beta, &key.beta_bits, sizeof beta);
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(beta);
    attr.set_post_ops(ops);
  }
  auto make = [&](int64_t batch) {
    entry->src = operand_desc(key.ab, batch, key.sa, key.m, key.k, key.ta, key.lda);
    entry->wei = operand_desc(key.ab, batch, key.sb, key.k, key.n, key.tb, key.ldb);
    entry->dst = operand_desc(key.c, batch, key.sc, key.m, key.n, false, key.ldc);
    dnnl::matmul::desc desc(entry->src, entry->wei, entry->dst);
    dnnl::matmul::primitive_desc pd(desc, attr, cpu_engine());
    entry->prim = dnnl::matmul(pd);
  };
  try {
    make(key.batch);
  } catch (const dnnl::error&) {
    // oneDNN wants each batch stride to cover a whole padded matrix (ld * rows); tighter (valid)
    // layouts run as one 2-D primitive per batch instead.
    try {
      if (key.batch == 1) throw;
      make(1);
      entry->per_batch = true;
    } catch (const dnnl::error& e) {
      SF_FAIL() << "gemm: oneDNN cannot run " << dtype_name(key.ab) << " x " << dtype_name(key.ab)
                << " -> " << dtype_name(key.c) << " batch " << key.batch << " m " << key.m << " n "
                << key.n << " k " << key.k << " trans " << key.ta << key.tb << " ld " << key.lda
                << "," << key.ldb << "," << key.ldc << " batch strides " << key.sa << "," << key.sb
                << "," << key.sc << ": " << e.what();
    }
  }
  return entry;
}

// k == 0: the product is empty, C = beta * C (beta == 0 writes zeros without reading C).
template <typename Load, typename Store>
void scale_c(const GemmShape& s, float beta, Load load, Store store) {
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t i = 0; i < s.m; ++i) {
      const int64_t row = b * s.stride_c + i * s.ldc;
      for (int64_t j = 0; j < s.n; ++j) {
        store(row + j, beta == 0.0f ? 0.0f : beta * load(row + j));
      }
    }
  }
}

// Element (i, p) of op(X) for a row-major X stored with row stride ld, transposed when `trans`.
template <typename T>
inline T op_at(const T* x, bool trans, int64_t ld, int64_t r, int64_t c) {
  return trans ? x[c * ld + r] : x[r * ld + c];
}

// Copies the stored matrices of one 16-bit operand (rows x cols as stored, row stride ld, one per
// distinct batch) into a dense f32 buffer; returns the new batch stride (0 stays broadcast).
int64_t widen_16(std::vector<float>& out, DType t, const uint16_t* x, int64_t batch,
                 int64_t batch_stride, int64_t rows, int64_t cols, int64_t ld) {
  const int64_t nb = batch_stride == 0 ? 1 : batch;
  out.resize(static_cast<size_t>(nb * rows * cols));
  const bool bf = t == DType::bf16;
  float* base = out.data();
  // Memory-bound: split the rows over the threads once the operand is worth it.
#pragma omp parallel for collapse(2) schedule(static) if (nb * rows * cols > (1 << 15))
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t r = 0; r < rows; ++r) {
      const uint16_t* src = x + b * batch_stride + r * ld;
      float* dst = base + (b * rows + r) * cols;
      if (bf) {
#pragma omp simd
        for (int64_t j = 0; j < cols; ++j) dst[j] = bf16_to_float(src[j]);
      } else {
#pragma omp simd
        for (int64_t j = 0; j < cols; ++j) dst[j] = f16_to_float(src[j]);
      }
    }
  }
  return batch_stride == 0 ? 0 : rows * cols;
}

// Whether oneDNN has a bf16 matmul for this CPU (AVX512-BF16, AMX, or AVX-512 emulation). CPUs
// with AVX2 only get none from oneDNN 2.6: there bf16 products are widened like f16 ones.
bool bf16_native() {
  static const bool native = [] {
    try {
      using dims = dnnl::memory::dims;
      const auto bf16 = dnnl::memory::data_type::bf16;
      dnnl::memory::desc a(dims{16, 16}, bf16, dims{16, 1}),
          c(dims{16, 16}, dnnl::memory::data_type::f32, dims{16, 1});
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, a, c), cpu_engine());
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return native;
}

// A 16-bit product on f32 primitives: both operands widened to f32 (exact), C computed in f32
// and rounded once when it is 16-bit. The per-thread scratch makes this an extra pass over the
// operands: it serves f16 (an option for users) and bf16 on CPUs without bf16 instructions.
void gemm_widened(DType ab_dtype, DType c_dtype, const GemmShape& s, const void* a, const void* b,
                  void* c, float alpha, float beta) {
  thread_local std::vector<float> wa, wb, wc;
  GemmShape w = s;
  w.stride_a = widen_16(wa, ab_dtype, static_cast<const uint16_t*>(a), s.batch, s.stride_a,
                        s.trans_a ? s.k : s.m, s.trans_a ? s.m : s.k, s.lda);
  w.lda = s.trans_a ? s.m : s.k;
  w.stride_b = widen_16(wb, ab_dtype, static_cast<const uint16_t*>(b), s.batch, s.stride_b,
                        s.trans_b ? s.n : s.k, s.trans_b ? s.k : s.n, s.ldb);
  w.ldb = s.trans_b ? s.k : s.n;
  if (c_dtype == DType::f32) {
    gemm(DType::f32, DType::f32, w, wa.data(), wb.data(), c, alpha, beta);
    return;
  }
  SF_CHECK(c_dtype == ab_dtype) << "gemm: " << dtype_name(ab_dtype) << " inputs need an f32 or "
                                << dtype_name(ab_dtype) << " output, got " << dtype_name(c_dtype);
  uint16_t* ch = static_cast<uint16_t*>(c);
  if (beta != 0.0f) {
    w.stride_c = widen_16(wc, c_dtype, ch, s.batch, s.stride_c, s.m, s.n, s.ldc);
  } else {
    wc.resize(static_cast<size_t>(s.batch * s.m * s.n));
    w.stride_c = s.m * s.n;
  }
  w.ldc = s.n;
  gemm(DType::f32, DType::f32, w, wa.data(), wb.data(), wc.data(), alpha, beta);
  const bool bf = c_dtype == DType::bf16;
  for (int64_t bi = 0; bi < s.batch; ++bi) {
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.n; ++j) {
        const float v = wc[(bi * s.m + i) * s.n + j];
        ch[bi * s.stride_c + i * s.ldc + j] = bf ? float_to_bf16(v) : float_to_f16(v);
      }
    }
  }
}

}  // namespace

void gemm(DType ab_dtype, DType c_dtype, const GemmShape& s, const void* a, const void* b, void* c,
          float alpha, float beta) {
  if (s.batch <= 0 || s.m <= 0 || s.n <= 0) return;
  // oneDNN 2.6 has no f16 matmul on CPU, and no bf16 one without AVX-512.
  if (s.k > 0 && (ab_dtype == DType::f16 || (ab_dtype == DType::bf16 && !bf16_native()))) {
    gemm_widened(ab_dtype, c_dtype, s, a, b, c, alpha, beta);
    return;
  }
  if (s.k <= 0) {
    if (c_dtype == DType::f32) {
      float* cf = static_cast<float*>(c);
      scale_c(
          s, beta, [cf](int64_t i) { return cf[i]; }, [cf](int64_t i, float v) { cf[i] = v; });
    } else {
      uint16_t* ch = static_cast<uint16_t*>(c);
      const bool bf = c_dtype == DType::bf16;
      scale_c(
          s, beta, [ch, bf](int64_t i) { return bf ? bf16_to_float(ch[i]) : f16_to_float(ch[i]); },
          [ch, bf](int64_t i, float v) { ch[i] = bf ? float_to_bf16(v) : float_to_f16(v); });
    }
    return;
  }
  // Sizes that change every call (the rows an expert receives, and in its weight gradient the
  // reduction length) would build a new primitive each time (~ms each). Split them into a
  // multiple of kSizeQuantum plus a remainder below it, so that a few dozen primitives per
  // layer shape serve every step. The split depends only on the sizes: results stay
  // deterministic.
  constexpr int64_t kSizeQuantum = 64;
  if (s.batch == 1 && s.k > 0) {
    const size_t ab_size = dtype_size(ab_dtype), c_size = dtype_size(c_dtype);
    const int64_t m_tail = s.m % kSizeQuantum, k_tail = s.k % kSizeQuantum;
    if (m_tail != 0 && s.m > kSizeQuantum) {
      GemmShape head = s, tail = s;
      head.m = s.m - m_tail;
      tail.m = m_tail;
      const int64_t a_skip = head.m * (s.trans_a ? 1 : s.lda);
      gemm(ab_dtype, c_dtype, head, a, b, c, alpha, beta);
      gemm(ab_dtype, c_dtype, tail, static_cast<const char*>(a) + a_skip * ab_size, b,
           static_cast<char*>(c) + head.m * s.ldc * c_size, alpha, beta);
      return;
    }
    if (k_tail != 0 && s.k > kSizeQuantum) {
      GemmShape head = s, tail = s;
      head.k = s.k - k_tail;
      tail.k = k_tail;
      const int64_t a_skip = head.k * (s.trans_a ? s.lda : 1);
      const int64_t b_skip = head.k * (s.trans_b ? 1 : s.ldb);
      gemm(ab_dtype, c_dtype, head, a, b, c, alpha, beta);
      gemm(ab_dtype, c_dtype, tail, static_cast<const char*>(a) + a_skip * ab_size,
           static_cast<const char*>(b) + b_skip * ab_size, c, alpha, 1.0f);
      return;
    }
  }
  const bool batched = s.batch > 1;
  Key key{ab_dtype,
          c_dtype,
          s.batch,
          s.m,
          s.n,
          s.k,
          s.trans_a,
          s.trans_b,
          s.lda,
          s.ldb,
          s.ldc,
          batched ? s.stride_a : 0,
          batched ? s.stride_b : 0,
          batched ? s.stride_c : 0,
          0,
          0};
  std::memcpy(&key.alpha_bits, &alpha, sizeof alpha);
  if (beta == 0.0f) beta = 0.0f;  // -0 and +0 share an entry
  std::memcpy(&key.beta_bits, &beta, sizeof beta);

  std::shared_ptr<const Entry> entry = cache().find(key);
  if (!entry) entry = cache().insert(key, build(key));

  dnnl::engine& engine = cpu_engine();
  dnnl::memory src(entry->src, engine, const_cast<void*>(a));
  dnnl::memory wei(entry->wei, engine, const_cast<void*>(b));
  dnnl::memory dst(entry->dst, engine, c);
  dnnl::stream& stream = thread_stream();
  const int64_t runs = entry->per_batch ? s.batch : 1;
  const size_t ab_size = dtype_size(ab_dtype), c_size = dtype_size(c_dtype);
  for (int64_t bi = 0; bi < runs; ++bi) {
    if (bi > 0) {
      src.set_data_handle(const_cast<char*>(static_cast<const char*>(a)) +
                          bi * s.stride_a * ab_size);
      wei.set_data_handle(const_cast<char*>(static_cast<const char*>(b)) +
                          bi * s.stride_b * ab_size);
      dst.set_data_handle(static_cast<char*>(c) + bi * s.stride_c * c_size);
    }
    entry->prim.execute(stream,
                        {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
  }
  stream.wait();
}

GemmCacheStats gemm_cache_stats() { return cache().stats(); }
void gemm_cache_clear() { cache().clear(); }

// ---- double: blocked OpenMP loop --------------------------------------------------------------

void gemm(const GemmShape& s, const double* a, const double* b, double* c, double alpha,
          double beta) {
  if (s.batch <= 0 || s.m <= 0 || s.n <= 0) return;
  constexpr int64_t kBlockN = 256;  // one row block of C in a stack tile (2 KiB)
  const int64_t rows = s.batch * s.m;
  const bool parallel = s.batch * s.m * s.n * std::max<int64_t>(s.k, 1) > (int64_t{1} << 15);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t bi = r / s.m, i = r % s.m;
    const double* ab = a + bi * s.stride_a;
    const double* bb = b + bi * s.stride_b;
    double* crow = c + bi * s.stride_c + i * s.ldc;
    for (int64_t j0 = 0; j0 < s.n; j0 += kBlockN) {
      const int64_t nj = std::min(kBlockN, s.n - j0);
      double acc[kBlockN];
      if (s.trans_b) {
        // B[b] stored [n, k]: each C element is a dot product of two k-vectors.
        for (int64_t j = 0; j < nj; ++j) {
          const double* bcol = bb + (j0 + j) * s.ldb;
          double sum = 0.0;
          for (int64_t p = 0; p < s.k; ++p) sum += op_at(ab, s.trans_a, s.lda, i, p) * bcol[p];
          acc[j] = sum;
        }
      } else {
        // B[b] stored [k, n]: rank-1 updates of the row tile, contiguous in j.
        for (int64_t j = 0; j < nj; ++j) acc[j] = 0.0;
        for (int64_t p = 0; p < s.k; ++p) {
          const double av = op_at(ab, s.trans_a, s.lda, i, p);
          const double* brow = bb + p * s.ldb + j0;
          for (int64_t j = 0; j < nj; ++j) acc[j] += av * brow[j];
        }
      }
      for (int64_t j = 0; j < nj; ++j) {
        crow[j0 + j] = alpha * acc[j] + (beta == 0.0 ? 0.0 : beta * crow[j0 + j]);
      }
    }
  }
}

// ---- naive oracle -------------------------------------------------------------------------------

template <typename T>
void gemm_naive(const GemmShape& s, const T* a, const T* b, T* c, T alpha, T beta) {
  for (int64_t bi = 0; bi < s.batch; ++bi) {
    const T* ab = a + bi * s.stride_a;
    const T* bb = b + bi * s.stride_b;
    T* cb = c + bi * s.stride_c;
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.n; ++j) {
        T acc = 0;
        for (int64_t p = 0; p < s.k; ++p) {
          acc += op_at(ab, s.trans_a, s.lda, i, p) * op_at(bb, s.trans_b, s.ldb, p, j);
        }
        T& out = cb[i * s.ldc + j];
        out = alpha * acc + (beta == T(0) ? T(0) : beta * out);
      }
    }
  }
}

template void gemm_naive<float>(const GemmShape&, const float*, const float*, float*, float, float);
template void gemm_naive<double>(const GemmShape&, const double*, const double*, double*, double,
                                 double);

bool gemm_native(DType ab_dtype) {
  if (ab_dtype == DType::f32 || ab_dtype == DType::f64) return true;
  return ab_dtype == DType::bf16 && bf16_native();
}

}  // namespace seekforge::kernels
