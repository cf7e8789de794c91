// Helpers of the batch-source tests: a batch tensor's elements as a vector, so batches compare
// with == and print in gtest messages.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace seekforge::data::testing {

inline std::vector<int64_t> values(const Tensor& t) {
  const int64_t* p = t.data<int64_t>();
  return std::vector<int64_t>(p, p + t.numel());
}

inline std::vector<uint8_t> mask_values(const Tensor& t) {
  const uint8_t* p = t.data<uint8_t>();
  return std::vector<uint8_t>(p, p + t.numel());
}

}  // namespace seekforge::data::testing
