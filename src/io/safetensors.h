// safetensors files: a validating zero-copy reader (mmap) and an atomic writer.
//
// Format: 8-byte little-endian header length N, N bytes of a UTF-8 JSON object
//   {name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {key: value}}          (metadata optional, string to string)
// then the data buffer; offsets are relative to the start of that buffer (byte 8 + N).
//
// This layer knows nothing of Tensor: it hands out raw pointers, shapes and dtypes, plus a
// keep-alive handle so that tensor views built on top can keep the mapping alive. It does not
// convert dtypes and does not handle sharded (index.json) checkpoints.
//
// The reader follows the format's own rules (huggingface/safetensors README): duplicate keys are
// refused, the data buffer must be covered exactly by the tensors (no overlaps, no holes, no
// trailing bytes), every byte range must match product(shape) * dtype size, the header is at most
// 100 MB. Every violation throws seekforge::Error naming the file, a byte offset and the reason.
// Accepted dtypes: F32, F64, BF16, F16, I8, I32, I64, U8, BOOL; anything else is refused.
//
// Thread safety: a SafetensorsFile is immutable after construction; const methods may be called
// from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace seekforge {

// One tensor in an open file. `data` points into the file's mapping and stays valid while the
// SafetensorsFile, or any copy of its keep_alive() handle, is alive.
//
// Alignment: the mapping is page-aligned, so `data` is aligned to dtype_size(dtype) exactly when
// the file offset is; files written by write_safetensors always are (see below). Files from
// other writers may not be: check is_aligned() before reading through a typed pointer.
struct SafetensorsEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;  // [] for a scalar
  const std::byte* data;       // nbytes readable bytes (may be any non-null pointer when 0)
  size_t nbytes;

  int64_t numel() const;
  bool is_aligned() const;
};

// What the writer is given for one tensor: contiguous row-major data of
// product(shape) * dtype_size(dtype) bytes at `data` (may be null when that size is 0).
struct SafetensorsEntryView {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;
};

// Safetensors dtype strings ("F32", "BF16", ...) and back. parse returns false on an unknown one.
std::string_view safetensors_dtype_name(DType dtype);
bool parse_safetensors_dtype(std::string_view name, DType* out);

// An open, validated safetensors file. Movable, not copyable. The mapping is read-only
// (PROT_READ, MAP_PRIVATE) and is unmapped when the last owner (this object or a keep_alive()
// handle) goes away.
class SafetensorsFile {
 public:
  // Opens and validates `path`; throws seekforge::Error on any I/O or format problem.
  explicit SafetensorsFile(const std::string& path);

  // Validates an in-memory image of a file (takes ownership of the bytes). `label` stands for
  // the path in error messages. Used for data that did not come from disk, and by tests.
  static SafetensorsFile from_bytes(std::vector<std::byte> bytes, std::string label);

  SafetensorsFile(SafetensorsFile&&) noexcept = default;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept = default;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile() = default;  // drops this owner of the mapping; the last owner unmaps

  const std::string& path() const { return path_; }
  // Entries in header order (the order write_safetensors was given them).
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  // nullptr when absent.
  const SafetensorsEntry* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  // Throws seekforge::Error naming the file and the missing tensor.
  const SafetensorsEntry& at(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Shares ownership of the mapping: hold it in a zero-copy view to keep `data` pointers valid
  // after this object is gone.
  std::shared_ptr<const void> keep_alive() const { return storage_; }

  size_t file_size() const { return file_size_; }
  // Byte offset of the data buffer in the file (8 + header length).
  size_t data_offset() const { return data_offset_; }

 private:
  SafetensorsFile() = default;
  void parse(const std::byte* bytes, size_t size);

  std::string path_;
  std::shared_ptr<const void> storage_;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
  size_t file_size_ = 0;
  size_t data_offset_ = 0;
};

// Writes `tensors` and `metadata` as a safetensors file at `path`, atomically: the bytes go to
// `path + ".tmp"`, which is fsynced and renamed over `path`, then the directory is fsynced. A
// crash leaves either the old file or the new one under `path`, never a partial one.
//
// The header lists tensors in the order given; the JSON is padded with spaces to a multiple of 8
// bytes, and the data buffer stores tensors by decreasing dtype size (stable), so every tensor's
// data is aligned to its dtype size in the file and in a mapping of it.
// Throws seekforge::Error on duplicate or reserved ("__metadata__") names, negative dimensions,
// a null data pointer with a non-zero size, or any I/O failure (the .tmp file is removed).
void write_safetensors(const std::string& path, const std::vector<SafetensorsEntryView>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace seekforge
