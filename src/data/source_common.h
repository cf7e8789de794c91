// What the batch sources share (source.cpp, bucketed_source.cpp): the per-row counter-based
// random draws and the verification of a saved state() against a source.
//
// What this is not: a public API; only the source implementations include it.
//
// Thread safety: RowDraws is a value owned by one thread; verify_state has no shared state.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/rng.h"
#include "data/source.h"

namespace seekforge::data {

// The random numbers of one row of one batch. Philox key = seed; counter_lo = batch counter;
// counter_hi = split tag (top 2 bits) | row (30 bits) | block (32 bits). Each block gives two
// 64-bit draws. Distinct (split, counter, row, draw) never share a Philox input.
class RowDraws {
 public:
  // A row index for draws that concern the whole batch (e.g. its length bucket): no batch has
  // this many rows (check_shape bounds batch_size below 2^30 - 1).
  static constexpr uint64_t kBatchRow = (uint64_t{1} << 30) - 1;

  RowDraws(uint64_t seed, Split split, uint64_t counter, uint64_t row)
      : seed_(seed),
        counter_(counter),
        hi_((uint64_t(split == Split::train ? 1 : 2) << 62) | (row << 32)) {}

  uint64_t next_u64() {
    if (have_ == 0) {
      const auto r = philox4x32(counter_, hi_ | block_++, seed_);
      buf_[0] = (uint64_t(r[1]) << 32) | r[0];
      buf_[1] = (uint64_t(r[3]) << 32) | r[2];
      have_ = 2;
    }
    return buf_[2 - have_--];
  }
  // Uniform in [0, n) by multiply-shift: the bias is below n / 2^64, far under any measurement.
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next_u64()) * n) >> 64);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }

 private:
  uint64_t seed_, counter_, hi_;
  uint64_t block_ = 0;
  uint64_t buf_[2] = {0, 0};
  int have_ = 0;
};

// Checks that `s` is a state of the source whose identity is `expected` (every field of it must
// be present and equal) and returns its "counter". Errors name `who` (the source's describe())
// and the field.
uint64_t verify_state(const nlohmann::json& s, const nlohmann::json& expected,
                      const std::string& who);

// Throws naming train.batch_size / train.seq_len when the shape is out of range.
void check_shape(int64_t batch_size, int64_t seq_len, const char* kind);

}  // namespace seekforge::data
