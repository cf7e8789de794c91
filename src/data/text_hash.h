// Fast 64-bit hashing of byte strings for deduplication and n-gram tables: a multiply-rotate
// loop over 8-byte words with a strong final mix. Not cryptographic; equal inputs give equal
// hashes on every machine (little-endian loads), so keys may be stored.
//
// What this is not: fnv1a64 (file_io.h), which identifies files for resumption and is slower.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace seekforge::data {

// A bijective 64-bit finaliser: every input bit affects every output bit.
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ull;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dull;
  x ^= x >> 33;
  return x;
}

inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline uint64_t hash_bytes(const char* p, size_t n, uint64_t seed = 0) {
  constexpr uint64_t kM1 = 0x9e3779b97f4a7c15ull;
  constexpr uint64_t kM2 = 0xc2b2ae3d27d4eb4full;
  uint64_t h = seed ^ (static_cast<uint64_t>(n) * kM1);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = rotl64(h ^ (w * kM2), 31) * kM1;
  }
  if (i < n) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, n - i);
    h = rotl64(h ^ (w * kM2), 31) * kM1;
  }
  return mix64(h);
}

inline uint64_t hash_text(std::string_view s, uint64_t seed = 0) {
  return hash_bytes(s.data(), s.size(), seed);
}

// Order-sensitive combination of hashes (n-gram keys, shingles).
inline uint64_t hash_combine(uint64_t h, uint64_t v) {
  return rotl64(h ^ (v * 0x9e3779b97f4a7c15ull), 29) * 0xbf58476d1ce4e5b9ull;
}

}  // namespace seekforge::data
