// Tensors to and from safetensors files: the bridge between io/safetensors (bytes and headers)
// and core/Tensor.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors.h"

namespace seekforge {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// A tensor viewing the mapped bytes (zero copy; keeps the mapping alive) when the data is
// aligned for its dtype, else a copy.
Tensor tensor_from_entry(const SafetensorsFile& file, const SafetensorsEntry& entry);
// Every tensor of a file, in file order.
NamedTensors load_tensors(const std::string& path,
                          std::map<std::string, std::string>* metadata = nullptr);
// Writes tensors (any layout; made contiguous) atomically.
void save_tensors(const std::string& path, const NamedTensors& tensors,
                  const std::map<std::string, std::string>& metadata = {});

}  // namespace seekforge
