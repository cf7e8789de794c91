// The caching allocator behind every Tensor's storage: 64-byte aligned blocks, recycled by size
// class so that a training step that allocates the same activations every iteration stops
// calling into malloc after the first one.
//
// Thread safety: all functions may be called from any thread (one mutex; allocation is not on a
// hot inner loop, kernels never allocate).
#pragma once

#include <cstddef>
#include <cstdint>

namespace seekforge {

inline constexpr size_t kAlignment = 64;

struct AllocatorStats {
  size_t live_bytes = 0;    // handed out and not yet returned
  size_t peak_bytes = 0;    // highest live_bytes since the last reset_peak()
  size_t cached_bytes = 0;  // returned, kept for reuse
  uint64_t allocations = 0;
  uint64_t cache_hits = 0;
};

// Returns at least `nbytes` (rounded up to a size class), aligned to kAlignment. Never null:
// throws seekforge::Error when the system is out of memory.
void* allocate(size_t nbytes);
// `nbytes` must be the value passed to allocate().
void deallocate(void* ptr, size_t nbytes);
// Returns every cached block to the system.
void empty_cache();
AllocatorStats allocator_stats();
void reset_peak_bytes();

}  // namespace seekforge
