#include "nn/module.h"

#include <map>
#include <set>

namespace seekforge::nn {

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  buffers_.emplace_back(name, t);
  return t;
}

void Module::collect(const std::string& prefix, bool buffers, NamedTensors& out) const {
  for (const auto& [name, t] : buffers ? buffers_ : params_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", buffers, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", false, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::load_state(const NamedTensors& tensors, const std::vector<std::string>& ignored) {
  std::map<std::string, Tensor> given;
  for (const auto& [n, t] : tensors) {
    SF_CHECK(given.emplace(n, t).second) << "load_state: tensor '" << n << "' given twice";
  }
  NamedTensors mine = named_parameters();
  for (auto& b : named_buffers()) mine.push_back(b);
  std::set<std::string> used;
  for (auto& [name, t] : mine) {
    auto it = given.find(name);
    SF_CHECK(it != given.end()) << "load_state: missing tensor '" << name << "' "
                                << shape_str(t.shape());
    SF_CHECK(it->second.shape() == t.shape())
        << "load_state: '" << name << "' has shape " << shape_str(it->second.shape())
        << ", the model expects " << shape_str(t.shape());
    SF_CHECK(is_floating(it->second.dtype()))
        << "load_state: '" << name << "' is " << dtype_name(it->second.dtype())
        << ", expected a floating dtype";
    t.copy_(it->second);
    used.insert(name);
  }
  std::set<std::string> skip(ignored.begin(), ignored.end());
  for (const auto& [n, t] : given)
    SF_CHECK(used.count(n) || skip.count(n)) << "load_state: unexpected tensor '" << n << "'";
}

void Module::to_dtype(DType dtype) {
  NamedTensors all = named_parameters();
  for (auto& b : named_buffers()) all.push_back(b);
  for (auto& [name, t] : all) {
    Tensor c = t.to(dtype).contiguous();
    if (c.impl() == t.impl()) continue;
    TensorImpl* impl = t.impl();
    impl->storage = c.storage();
    impl->dtype = dtype;
    impl->shape = c.shape();
    impl->strides = c.strides();
    impl->offset = c.offset();
    impl->grad.reset();
  }
}

}  // namespace seekforge::nn
