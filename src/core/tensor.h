// Tensor: a typed, strided view of shared storage, plus the autograd fields that let ops record
// how it was made. Copying a Tensor copies a handle (like torch.Tensor); views (reshape,
// permute, narrow, expand, ...) share storage and never copy; contiguous() copies only when the
// layout requires it.
//
// What this is not: it knows no ops beyond layout and conversion (those live in ops/), and no
// autograd logic beyond holding its fields (autograd/).
//
// Thread safety: a Tensor may be read from many threads; mutation (data writes, grad
// accumulation, requires_grad changes) needs external synchronisation.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/rng.h"

namespace seekforge {

using Shape = std::vector<int64_t>;

namespace autograd {
class Node;
}

// Owns a block of bytes: from the caching allocator, or borrowed from elsewhere (an mmap'd
// file) with a keep-alive handle.
class Storage {
 public:
  explicit Storage(size_t nbytes);
  Storage(void* data, size_t nbytes, std::shared_ptr<const void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }

 private:
  void* data_;
  size_t nbytes_;
  std::shared_ptr<const void> owner_;  // null: data_ came from allocate()
};

class Tensor;
using GradHook = std::function<Tensor(const Tensor&)>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;

  // Autograd.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<autograd::Node> grad_fn;  // null for leaves
  int output_nr = 0;                          // which output of grad_fn this is
  std::weak_ptr<autograd::Node> grad_accumulator;  // leaves only, made on first use
  std::vector<GradHook> hooks;  // leaves: run before accumulation
  std::string name;             // optional, shown in errors and printing
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // Layout.
  DType dtype() const { return impl_->dtype; }
  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int64_t dim() const { return static_cast<int64_t>(impl_->shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t stride(int64_t d) const;
  int64_t numel() const;
  int64_t offset() const { return impl_->offset; }
  size_t element_size() const { return dtype_size(impl_->dtype); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }
  // Pointer to element 0 of this view. data<T>() checks that T matches the dtype.
  void* raw_data() const;
  template <typename T>
  T* data() const;
  template <typename T>
  T item() const;  // single-element tensors only; converts to T
  double item_double() const { return item<double>(); }
  std::vector<float> to_vector_f32() const;  // any dtype, any layout, row-major order

  // Views: share storage, record autograd through ops/ when called from there. These
  // layout-only versions do not record autograd; ops::reshape etc. are the differentiable ones.
  Tensor as_strided(Shape shape, Shape strides, int64_t offset) const;
  Tensor view(Shape shape) const;  // contiguous only; one -1 allowed
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor narrow(int64_t d, int64_t start, int64_t length) const;
  Tensor expand(const Shape& shape) const;  // -1 keeps a size; new leading dims allowed
  Tensor squeeze(int64_t d) const;
  Tensor unsqueeze(int64_t d) const;
  Tensor select(int64_t d, int64_t index) const;  // drops dim d

  // Copies.
  Tensor contiguous() const;  // this tensor if already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;  // this tensor if the dtype matches
  void copy_(const Tensor& src);  // same shape (src broadcast allowed), any dtypes; in place
  void fill_(double value);
  void zero_() { fill_(0.0); }

  // Autograd fields (the logic lives in autograd/).
  bool requires_grad() const { return impl_->requires_grad; }
  Tensor& set_requires_grad(bool r);
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  Tensor grad() const { return Tensor(impl_->grad); }
  void set_grad(const Tensor& g) { impl_->grad = g.impl_; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl_->grad_fn; }
  Tensor detach() const;  // same storage, no history, requires_grad = false
  // Runs the autograd engine from this (scalar unless `grad` is given).
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  // `hook(grad)` runs when the gradient w.r.t. this tensor is computed; a defined return value
  // replaces the gradient.
  void register_hook(GradHook hook) const;
  void retain_grad() const;  // non-leaf: keep its gradient in .grad()
  const std::string& name() const { return impl_->name; }
  Tensor& set_name(std::string n) {
    impl_->name = std::move(n);
    return *this;
  }

  // "Tensor[2, 3] f32" for error messages.
  std::string describe() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::string shape_str(const Shape& s);

// Creation. Floating tensors default to f32.
Tensor empty(const Shape& shape, DType dtype = DType::f32);
Tensor zeros(const Shape& shape, DType dtype = DType::f32);
Tensor ones(const Shape& shape, DType dtype = DType::f32);
Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
Tensor arange(int64_t start, int64_t end, int64_t step = 1, DType dtype = DType::i64);
Tensor randn(const Shape& shape, DType dtype = DType::f32, Generator* gen = nullptr);
Tensor uniform(const Shape& shape, double lo, double hi, DType dtype = DType::f32,
               Generator* gen = nullptr);
// From host values (row-major), converted to `dtype`.
Tensor from_vector(const std::vector<float>& values, const Shape& shape, DType dtype = DType::f32);
Tensor from_vector_f64(const std::vector<double>& values, const Shape& shape,
                       DType dtype = DType::f64);
Tensor from_vector_i64(const std::vector<int64_t>& values, const Shape& shape,
                       DType dtype = DType::i64);
// Wraps memory owned elsewhere; `owner` keeps it alive as long as any view exists.
Tensor from_blob(void* data, const Shape& shape, DType dtype, std::shared_ptr<const void> owner);
Tensor scalar_tensor(double value, DType dtype = DType::f32);

// Shape helpers.
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);
Shape broadcast_shapes(const Shape& a, const Shape& b);  // throws naming both shapes
int64_t wrap_dim(int64_t d, int64_t ndim);               // throws when out of range

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::f32; }
template <>
constexpr DType dtype_of<double>() { return DType::f64; }
template <>
constexpr DType dtype_of<int64_t>() { return DType::i64; }
template <>
constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <>
constexpr DType dtype_of<uint8_t>() { return DType::u8; }
template <>
constexpr DType dtype_of<int8_t>() { return DType::i8; }

template <typename T>
T* Tensor::data() const {
  if constexpr (std::is_same_v<T, uint16_t>) {
    SF_CHECK(dtype() == DType::bf16 || dtype() == DType::f16)
        << "data<uint16_t>() on a " << dtype_name(dtype()) << " tensor";
  } else if constexpr (std::is_same_v<T, bool>) {
    SF_CHECK(dtype() == DType::boolean) << "data<bool>() on a " << dtype_name(dtype()) << " tensor";
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    SF_CHECK(dtype() == DType::u8 || dtype() == DType::boolean)
        << "data<uint8_t>() on a " << dtype_name(dtype()) << " tensor";
  } else {
    SF_CHECK(dtype() == dtype_of<T>()) << "data<" << dtype_name(dtype_of<T>()) << ">() on a "
                                       << dtype_name(dtype()) << " tensor";
  }
  return static_cast<T*>(raw_data());
}

// Dispatch on a floating compute dtype (f32 or f64): fn is called with a value of that type.
template <typename Fn>
decltype(auto) dispatch_float(DType dt, const char* op, Fn&& fn) {
  if (dt == DType::f32) return fn(float{});
  SF_CHECK(dt == DType::f64) << op << ": expected an f32 or f64 tensor, got " << dtype_name(dt);
  return fn(double{});
}

}  // namespace seekforge
