// Module: a named tree of parameters, buffers and child modules, as in torch.nn.Module. Names
// join with '.', so a Transformer's parameters carry the DESIGN names
// ("model.layers.0.self_attn.q_proj.weight") and load from or save to safetensors directly.
//
// Tensors are handles: a module keeps its own handle to each parameter as a member and the
// registry keeps another to the same tensor; load_state() copies values in, so both stay valid.
// Thread safety: none; a module is built and used by one thread (its ops run OpenMP inside).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace seekforge::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  NamedTensors named_parameters() const;  // recursive, registration order
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;

  // Copies values by name. Every parameter and buffer must be present with its shape (dtype is
  // converted); names in `tensors` that this module does not have are errors unless listed in
  // `ignored`. Errors name the tensor.
  void load_state(const NamedTensors& tensors, const std::vector<std::string>& ignored = {});

  // Converts every parameter and buffer to `dtype` in place: handles held elsewhere (a layer's
  // members, an optimiser's list) see the new values. Gradients are dropped. For float64
  // gradient checks of whole models.
  void to_dtype(DType dtype);

 protected:
  Tensor register_parameter(const std::string& name, Tensor t);  // sets requires_grad
  Tensor register_buffer(const std::string& name, Tensor t);
  template <typename M>
  M* register_module(const std::string& name, std::unique_ptr<M> m) {
    M* raw = m.get();
    children_.emplace_back(name, std::move(m));
    return raw;
  }

 private:
  void collect(const std::string& prefix, bool buffers, NamedTensors& out) const;

  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
};

// A plain named container ("model", "shared_head").
class Container : public Module {
 public:
  template <typename M>
  M* add(const std::string& name, std::unique_ptr<M> m) {
    return register_module(name, std::move(m));
  }
};

// Children named "0", "1", ... (experts, layers).
class ModuleList : public Module {
 public:
  template <typename M>
  M* add(std::unique_ptr<M> m) {
    return register_module(std::to_string(size_++), std::move(m));
  }
  int64_t size() const { return size_; }

 private:
  int64_t size_ = 0;
};

}  // namespace seekforge::nn
