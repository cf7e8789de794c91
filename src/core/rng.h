// Counter-based random numbers (Philox-4x32-10). Element i of a draw depends only on (seed,
// offset + i), never on which thread computes it, so a run repeats bit for bit at any thread
// count, and a generator's whole state is two integers that a checkpoint can store.
//
// Thread safety: a Generator is a value; share one between threads only with external locking.
#pragma once

#include <array>
#include <cstdint>

namespace seekforge {

std::array<uint32_t, 4> philox4x32(uint64_t counter_lo, uint64_t counter_hi, uint64_t key);

struct GeneratorState {
  uint64_t seed = 0;
  uint64_t offset = 0;  // counters consumed so far
};

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { state_.seed = seed; }
  void manual_seed(uint64_t seed) { state_ = GeneratorState{seed, 0}; }
  const GeneratorState& state() const { return state_; }
  void set_state(const GeneratorState& s) { state_ = s; }
  // Reserves `n` counters and returns the first; draws of n values use counters first..first+n-1.
  uint64_t reserve(uint64_t n) {
    uint64_t first = state_.offset;
    state_.offset += n;
    return first;
  }

 private:
  GeneratorState state_;
};

// The process-wide default generator, used when an op is not given one.
Generator& default_generator();
void manual_seed(uint64_t seed);

// Fill helpers: element i is a function of (seed, first_counter + i) only.
void fill_uniform(float* out, int64_t n, uint64_t seed, uint64_t first_counter, float lo, float hi);
void fill_uniform(double* out, int64_t n, uint64_t seed, uint64_t first_counter, double lo,
                  double hi);
void fill_normal(float* out, int64_t n, uint64_t seed, uint64_t first_counter, float mean,
                 float stddev);
void fill_normal(double* out, int64_t n, uint64_t seed, uint64_t first_counter, double mean,
                 double stddev);

}  // namespace seekforge
