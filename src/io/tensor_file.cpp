#include "io/tensor_file.h"

#include <cstring>

namespace seekforge {

Tensor tensor_from_entry(const SafetensorsFile& file, const SafetensorsEntry& entry) {
  if (entry.is_aligned() && entry.nbytes > 0) {
    return from_blob(const_cast<std::byte*>(entry.data), entry.shape, entry.dtype,
                     file.keep_alive());
  }
  Tensor t = empty(entry.shape, entry.dtype);
  if (entry.nbytes > 0) std::memcpy(t.raw_data(), entry.data, entry.nbytes);
  return t;
}

NamedTensors load_tensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  SafetensorsFile file(path);
  NamedTensors out;
  for (const auto& e : file.entries()) out.emplace_back(e.name, tensor_from_entry(file, e));
  if (metadata) *metadata = file.metadata();
  return out;
}

void save_tensors(const std::string& path, const NamedTensors& tensors,
                  const std::map<std::string, std::string>& metadata) {
  std::vector<Tensor> keep;
  std::vector<SafetensorsEntryView> views;
  for (const auto& [name, t] : tensors) {
    SF_CHECK(t.defined()) << "save_tensors: tensor '" << name << "' is undefined";
    keep.push_back(t.contiguous());
    views.push_back({name, t.dtype(), t.shape(), keep.back().raw_data()});
  }
  write_safetensors(path, views, metadata);
}

}  // namespace seekforge
