// Small file helpers shared by the data layer: a read-only memory mapping, an atomic whole-file
// writer (temporary file + fsync + rename + directory fsync) and a 64-bit content hash.
//
// What this is not: a general I/O layer. Errors throw seekforge::Error naming the path and the
// system's reason.
//
// Thread safety: a MappedFile is immutable after construction and may be read from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace seekforge::data {

// A whole file mapped read-only (MAP_PRIVATE). An empty file maps to size() == 0, data() == null.
// Copies share the mapping; the last copy unmaps it.
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);  // throws naming the path when it cannot
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Keeps the mapping alive for views handed out elsewhere (e.g. Tensor storage).
  const std::shared_ptr<const void>& keep_alive() const { return owner_; }

 private:
  std::string path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<const void> owner_;
};

// Writes `bytes` to `path` atomically: `path`.tmp is written and fsynced, renamed onto `path`,
// then the directory is fsynced. A crash leaves either the old file or the new one, never half.
void write_file_atomic(const std::string& path, std::string_view bytes);

// FNV-1a, 64 bit: a fast identity check for resumption (not a cryptographic hash).
uint64_t fnv1a64(const void* data, size_t n, uint64_t h = 0xcbf29ce484222325ull);

// The hash as 16 lowercase hex digits (how it is stored in JSON: exact, unlike a JSON number).
std::string hex64(uint64_t v);

}  // namespace seekforge::data
