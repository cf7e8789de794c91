#include "core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "core/allocator.h"
#include "core/threads.h"

namespace seekforge {

Storage::Storage(size_t nbytes) : data_(allocate(nbytes)), nbytes_(nbytes) {}
Storage::Storage(void* data, size_t nbytes, std::shared_ptr<const void> owner)
    : data_(data), nbytes_(nbytes), owner_(std::move(owner)) {}
Storage::~Storage() {
  if (owner_ == nullptr) deallocate(data_, nbytes_);
}

// ---- shape helpers ----

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    SF_CHECK(da == db || da == 1 || db == 1)
        << "shapes " << shape_str(a) << " and " << shape_str(b) << " cannot be broadcast";
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t wrap_dim(int64_t d, int64_t ndim) {
  const int64_t lim = std::max<int64_t>(ndim, 1);
  SF_CHECK(d >= -lim && d < lim) << "dimension " << d << " out of range for a " << ndim
                                 << "-d tensor";
  return d < 0 ? d + lim : d;
}

// ---- Tensor layout ----

int64_t Tensor::size(int64_t d) const { return impl_->shape[wrap_dim(d, dim())]; }
int64_t Tensor::stride(int64_t d) const { return impl_->strides[wrap_dim(d, dim())]; }
int64_t Tensor::numel() const { return shape_numel(impl_->shape); }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = impl_->shape.size(); i-- > 0;) {
    if (impl_->shape[i] == 1) continue;
    if (impl_->strides[i] != expected) return false;
    expected *= impl_->shape[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  SF_CHECK(defined()) << "access to an undefined tensor";
  return static_cast<char*>(impl_->storage->data()) + impl_->offset * element_size();
}

std::string Tensor::describe() const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor" << shape_str(shape()) << " " << dtype_name(dtype());
  if (!impl_->name.empty()) os << " '" << impl_->name << "'";
  return os.str();
}

namespace {

std::shared_ptr<TensorImpl> make_impl(const Shape& shape, DType dtype) {
  for (int64_t d : shape) SF_CHECK(d >= 0) << "negative size in shape " << shape_str(shape);
  (void)num_threads();  // applies SEEKFORGE_THREADS before the first kernel runs
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(shape_numel(shape) * dtype_size(dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return impl;
}

// Calls fn(element_offset) for every element of (shape, strides) in row-major order.
template <typename Fn>
void for_each_offset(const Shape& shape, const Shape& strides, int64_t base, Fn&& fn) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  const size_t nd = shape.size();
  std::vector<int64_t> idx(nd, 0);
  int64_t off = base;
  for (int64_t i = 0; i < n; ++i) {
    fn(off);
    for (size_t d = nd; d-- > 0;) {
      if (++idx[d] < shape[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

double load_as_double(const void* base, DType dt, int64_t i) {
  switch (dt) {
    case DType::f32: return static_cast<const float*>(base)[i];
    case DType::f64: return static_cast<const double*>(base)[i];
    case DType::bf16: return bf16_to_float(static_cast<const uint16_t*>(base)[i]);
    case DType::f16: return f16_to_float(static_cast<const uint16_t*>(base)[i]);
    case DType::i8: return static_cast<const int8_t*>(base)[i];
    case DType::i32: return static_cast<const int32_t*>(base)[i];
    case DType::i64: return static_cast<double>(static_cast<const int64_t*>(base)[i]);
    case DType::u8: return static_cast<const uint8_t*>(base)[i];
    case DType::boolean: return static_cast<const uint8_t*>(base)[i] != 0;
  }
  return 0;
}

void store_from_double(void* base, DType dt, int64_t i, double v) {
  switch (dt) {
    case DType::f32: static_cast<float*>(base)[i] = static_cast<float>(v); break;
    case DType::f64: static_cast<double*>(base)[i] = v; break;
    case DType::bf16: static_cast<uint16_t*>(base)[i] = float_to_bf16(static_cast<float>(v)); break;
    case DType::f16: static_cast<uint16_t*>(base)[i] = float_to_f16(static_cast<float>(v)); break;
    case DType::i8: static_cast<int8_t*>(base)[i] = static_cast<int8_t>(v); break;
    case DType::i32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(v); break;
    case DType::i64: static_cast<int64_t*>(base)[i] = static_cast<int64_t>(v); break;
    case DType::u8: static_cast<uint8_t*>(base)[i] = static_cast<uint8_t>(v); break;
    case DType::boolean: static_cast<uint8_t*>(base)[i] = v != 0; break;
  }
}

// out[i] = fn(in[i]) over all threads (the 16-bit conversions of whole tensors); returns true.
template <typename Out, typename In, typename Fn>
bool map_parallel(Out* out, const In* in, int64_t n, Fn fn) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = fn(in[i]);
  return true;
}

// Contiguous conversions that matter for speed (weights moving between f32 and bf16/f16).
bool convert_contiguous_fast(void* dst, DType dd, const void* src, DType sd, int64_t n) {
  if (dd == sd) {
    std::memcpy(dst, src, n * dtype_size(dd));
    return true;
  }
  // One branch per pair, so that each loop inlines its conversion.
  auto* o16 = static_cast<uint16_t*>(dst);
  auto* o32 = static_cast<float*>(dst);
  auto* i16 = static_cast<const uint16_t*>(src);
  auto* i32 = static_cast<const float*>(src);
  if (sd == DType::f32 && dd == DType::bf16)
    return map_parallel(o16, i32, n, [](float v) { return float_to_bf16(v); });
  if (sd == DType::f32 && dd == DType::f16)
    return map_parallel(o16, i32, n, [](float v) { return float_to_f16(v); });
  if (sd == DType::bf16 && dd == DType::f32)
    return map_parallel(o32, i16, n, [](uint16_t v) { return bf16_to_float(v); });
  if (sd == DType::f16 && dd == DType::f32)
    return map_parallel(o32, i16, n, [](uint16_t v) { return f16_to_float(v); });
  if (sd == DType::f32 && dd == DType::f64) {
    auto* o = static_cast<double*>(dst);
    auto* in = static_cast<const float*>(src);
    for (int64_t i = 0; i < n; ++i) o[i] = in[i];
    return true;
  }
  if (sd == DType::i64 || dd == DType::i64) return false;  // keep 64-bit integers exact below
  return false;
}

void copy_elements(const Tensor& dst, const Tensor& src) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  if (dst.is_contiguous() && src.is_contiguous() && src.shape() == dst.shape() &&
      convert_contiguous_fast(dst.raw_data(), dst.dtype(), src.raw_data(), src.dtype(), n))
    return;
  // General path: walk both layouts in row-major order.
  std::vector<int64_t> src_offsets;
  src_offsets.reserve(n);
  for_each_offset(src.shape(), src.strides(), 0, [&](int64_t o) { src_offsets.push_back(o); });
  int64_t k = 0;
  const void* sbase = src.raw_data();
  void* dbase = dst.raw_data();
  const bool exact_i64 = src.dtype() == DType::i64 && dst.dtype() == DType::i64;
  const size_t es = dst.element_size();
  const bool same = src.dtype() == dst.dtype();
  for_each_offset(dst.shape(), dst.strides(), 0, [&](int64_t o) {
    const int64_t so = src_offsets[k++];
    if (same || exact_i64) {
      std::memcpy(static_cast<char*>(dbase) + o * es, static_cast<const char*>(sbase) + so * es,
                  es);
    } else {
      store_from_double(dbase, dst.dtype(), o, load_as_double(sbase, src.dtype(), so));
    }
  });
}

}  // namespace

// ---- views ----

Tensor Tensor::as_strided(Shape shape, Shape strides, int64_t offset) const {
  SF_CHECK(shape.size() == strides.size())
      << "as_strided: shape " << shape_str(shape) << " and strides " << shape_str(strides);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = impl_->dtype;
  // Bounds: the furthest element must lie inside the storage.
  int64_t lo = offset, hi = offset;
  bool empty_view = false;
  for (size_t i = 0; i < impl->shape.size(); ++i) {
    if (impl->shape[i] == 0) empty_view = true;
    const int64_t span = (impl->shape[i] - 1) * impl->strides[i];
    if (span > 0) hi += span; else lo += span;
  }
  SF_CHECK(empty_view || (lo >= 0 && (hi + 1) * static_cast<int64_t>(element_size()) <=
                                         static_cast<int64_t>(impl_->storage->nbytes())))
      << "as_strided: view " << shape_str(impl->shape) << " reaches outside its storage";
  return Tensor(std::move(impl));
}

Tensor Tensor::view(Shape shape) const {
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      SF_CHECK(infer < 0) << "view: more than one -1 in " << shape_str(shape);
      infer = static_cast<int64_t>(i);
    } else {
      SF_CHECK(shape[i] >= 0) << "view: negative size in " << shape_str(shape);
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    SF_CHECK(known > 0 && numel() % known == 0)
        << "view: cannot infer -1 in " << shape_str(shape) << " for " << describe();
    shape[infer] = numel() / known;
  }
  SF_CHECK(shape_numel(shape) == numel())
      << "view: " << describe() << " has " << numel() << " elements, " << shape_str(shape)
      << " needs " << shape_numel(shape);
  SF_CHECK(is_contiguous()) << "view: " << describe()
                            << " is not contiguous; use reshape (which copies)";
  return as_strided(shape, contiguous_strides(shape), offset());
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  SF_CHECK(static_cast<int64_t>(dims.size()) == dim())
      << "permute: " << dims.size() << " dims given for " << describe();
  Shape s(dims.size()), st(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], dim());
    SF_CHECK(!seen[d]) << "permute: dimension " << d << " repeated";
    seen[d] = true;
    s[i] = shape()[d];
    st[i] = strides()[d];
  }
  return as_strided(s, st, offset());
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  std::vector<int64_t> p(dim());
  for (int64_t i = 0; i < dim(); ++i) p[i] = i;
  std::swap(p[wrap_dim(d0, dim())], p[wrap_dim(d1, dim())]);
  return permute(p);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  d = wrap_dim(d, dim());
  SF_CHECK(start >= 0 && length >= 0 && start + length <= shape()[d])
      << "narrow: [" << start << ", " << start + length << ") out of range for dim " << d
      << " of " << describe();
  Shape s = shape();
  s[d] = length;
  return as_strided(s, strides(), offset() + start * strides()[d]);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = wrap_dim(d, dim());
  if (index < 0) index += shape()[d];
  SF_CHECK(index >= 0 && index < shape()[d])
      << "select: index " << index << " out of range for dim " << d << " of " << describe();
  Shape s = shape(), st = strides();
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  return as_strided(s, st, offset() + index * strides()[d]);
}

Tensor Tensor::expand(const Shape& target) const {
  SF_CHECK(target.size() >= shape().size())
      << "expand: " << describe() << " to fewer dims " << shape_str(target);
  const size_t lead = target.size() - shape().size();
  Shape s(target.size()), st(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    if (i < lead) {
      SF_CHECK(target[i] >= 0) << "expand: -1 not allowed for a new dim in " << shape_str(target);
      s[i] = target[i];
      st[i] = 0;
      continue;
    }
    const int64_t cur = shape()[i - lead];
    const int64_t want = target[i] == -1 ? cur : target[i];
    SF_CHECK(want == cur || cur == 1)
        << "expand: " << describe() << " cannot expand to " << shape_str(target);
    s[i] = want;
    st[i] = want == cur ? strides()[i - lead] : 0;
  }
  return as_strided(s, st, offset());
}

Tensor Tensor::squeeze(int64_t d) const {
  d = wrap_dim(d, dim());
  if (shape()[d] != 1) return as_strided(shape(), strides(), offset());
  Shape s = shape(), st = strides();
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  return as_strided(s, st, offset());
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1);
  Shape s = shape(), st = strides();
  const int64_t new_stride = d < dim() ? strides()[d] * shape()[d] : 1;
  s.insert(s.begin() + d, 1);
  st.insert(st.begin() + d, new_stride);
  return as_strided(s, st, offset());
}

// ---- copies ----

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out(make_impl(shape(), dtype()));
  copy_elements(out, *this);
  return out;
}

Tensor Tensor::to(DType dt) const {
  if (dt == dtype()) return *this;
  Tensor out(make_impl(shape(), dt));
  copy_elements(out, *this);
  return out;
}

void Tensor::copy_(const Tensor& src) {
  Tensor s = src.shape() == shape() ? src : src.expand(shape());
  copy_elements(*this, s);
}

void Tensor::fill_(double value) {
  const DType dt = dtype();
  void* base = raw_data();
  if (is_contiguous()) {
    const int64_t n = numel();
    if (dt == DType::f32) {
      std::fill_n(static_cast<float*>(base), n, static_cast<float>(value));
      return;
    }
    for (int64_t i = 0; i < n; ++i) store_from_double(base, dt, i, value);
    return;
  }
  for_each_offset(shape(), strides(), 0, [&](int64_t o) { store_from_double(base, dt, o, value); });
}

std::vector<float> Tensor::to_vector_f32() const {
  Tensor c = to(DType::f32).contiguous();
  const float* p = c.data<float>();
  return std::vector<float>(p, p + c.numel());
}

template <typename T>
T Tensor::item() const {
  SF_CHECK(numel() == 1) << "item(): " << describe() << " has " << numel() << " elements";
  return static_cast<T>(load_as_double(raw_data(), dtype(), 0));
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int64_t Tensor::item<int64_t>() const;

Tensor& Tensor::set_requires_grad(bool r) {
  SF_CHECK(!r || is_floating(dtype()))
      << "requires_grad on " << describe() << ": only floating tensors have gradients";
  SF_CHECK(is_leaf() || r) << "cannot clear requires_grad on a non-leaf " << describe()
                           << "; use detach()";
  impl_->requires_grad = r;
  return *this;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = impl_->shape;
  impl->strides = impl_->strides;
  impl->offset = impl_->offset;
  impl->dtype = impl_->dtype;
  impl->name = impl_->name;
  return Tensor(std::move(impl));
}

// ---- creation ----

Tensor empty(const Shape& shape, DType dtype) { return Tensor(make_impl(shape, dtype)); }

Tensor zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw_data(), 0, t.numel() * t.element_size());
  return t;
}

Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor arange(int64_t start, int64_t end, int64_t step, DType dtype) {
  SF_CHECK(step != 0) << "arange: step is zero";
  const int64_t n = std::max<int64_t>(0, (end - start + step + (step > 0 ? -1 : 1)) / step);
  Tensor t = empty({n}, dtype);
  for (int64_t i = 0; i < n; ++i) {
    if (dtype == DType::i64)
      t.data<int64_t>()[i] = start + i * step;
    else
      store_from_double(t.raw_data(), dtype, i, static_cast<double>(start + i * step));
  }
  return t;
}

Tensor randn(const Shape& shape, DType dtype, Generator* gen) {
  Generator& g = gen ? *gen : default_generator();
  const int64_t n = shape_numel(shape);
  const uint64_t first = g.reserve(n);
  if (dtype == DType::f64) {
    Tensor t = empty(shape, DType::f64);
    fill_normal(t.data<double>(), n, g.state().seed, first, 0.0, 1.0);
    return t;
  }
  Tensor t = empty(shape, DType::f32);
  fill_normal(t.data<float>(), n, g.state().seed, first, 0.0f, 1.0f);
  return t.to(dtype);
}

Tensor uniform(const Shape& shape, double lo, double hi, DType dtype, Generator* gen) {
  Generator& g = gen ? *gen : default_generator();
  const int64_t n = shape_numel(shape);
  const uint64_t first = g.reserve(n);
  if (dtype == DType::f64) {
    Tensor t = empty(shape, DType::f64);
    fill_uniform(t.data<double>(), n, g.state().seed, first, lo, hi);
    return t;
  }
  Tensor t = empty(shape, DType::f32);
  fill_uniform(t.data<float>(), n, g.state().seed, first, static_cast<float>(lo),
               static_cast<float>(hi));
  return t.to(dtype);
}

Tensor from_vector(const std::vector<float>& values, const Shape& shape, DType dtype) {
  SF_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape))
      << "from_vector: " << values.size() << " values for shape " << shape_str(shape);
  Tensor t = empty(shape, DType::f32);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t.to(dtype);
}

Tensor from_vector_f64(const std::vector<double>& values, const Shape& shape, DType dtype) {
  SF_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape))
      << "from_vector: " << values.size() << " values for shape " << shape_str(shape);
  Tensor t = empty(shape, DType::f64);
  std::copy(values.begin(), values.end(), t.data<double>());
  return t.to(dtype);
}

Tensor from_vector_i64(const std::vector<int64_t>& values, const Shape& shape, DType dtype) {
  SF_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape))
      << "from_vector: " << values.size() << " values for shape " << shape_str(shape);
  Tensor t = empty(shape, DType::i64);
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return t.to(dtype);
}

Tensor from_blob(void* data, const Shape& shape, DType dtype, std::shared_ptr<const void> owner) {
  SF_CHECK(owner != nullptr) << "from_blob needs an owner to keep the memory alive";
  auto impl = std::make_shared<TensorImpl>();
  impl->storage =
      std::make_shared<Storage>(data, shape_numel(shape) * dtype_size(dtype), std::move(owner));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }

// ---- printing ----

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "Tensor(undefined)";
  os << t.describe();
  if (t.requires_grad()) os << " requires_grad";
  os << "\n";
  Tensor c = t.to(DType::f64).contiguous();
  const double* p = c.data<double>();
  const int64_t n = c.numel();
  const int64_t last = t.dim() == 0 ? 1 : std::max<int64_t>(t.size(-1), 1);
  constexpr int64_t kMaxShown = 64;  // elements; beyond that the middle is elided
  std::ios old(nullptr);
  old.copyfmt(os);
  os << std::setprecision(5);
  for (int64_t i = 0; i < n; ++i) {
    if (n > kMaxShown && i == kMaxShown / 2) {
      os << "...\n";
      i = n - kMaxShown / 2;
    }
    os << (i % last == 0 ? "[" : " ") << p[i] << ((i + 1) % last == 0 ? "]\n" : ",");
  }
  os.copyfmt(old);
  return os;
}

}  // namespace seekforge
