// safetensors reader and writer; see safetensors.h for the contract. The reader trusts nothing in
// the file: every offset is checked against the real sizes before a pointer is formed, and all
// size arithmetic is done in uint64 with overflow checks.
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>

#include "core/error.h"

namespace seekforge {
namespace {

using OrderedJson = nlohmann::ordered_json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the format's own limit on the JSON header
constexpr const char* kMetadataKey = "__metadata__";

[[noreturn]] void fail(const std::string& path, uint64_t offset, const std::string& reason) {
  std::ostringstream os;
  os << "safetensors file '" << path << "': at byte " << offset << ": " << reason;
  throw Error(os.str());
}

[[noreturn]] void fail_errno(const std::string& what, const std::string& path) {
  std::ostringstream os;
  os << "safetensors: " << what << " '" << path << "': " << std::strerror(errno);
  throw Error(os.str());
}

// numel * elem_size in bytes, or false on overflow / negative dimension.
bool checked_nbytes(const std::vector<int64_t>& shape, size_t elem_size, uint64_t* out) {
  uint64_t n = elem_size;
  for (int64_t d : shape) {
    if (d < 0) return false;
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return false;
  }
  *out = n;
  return true;
}

// Reads a JSON integer that must be >= 0; false for floats, negatives, non-numbers.
bool json_to_u64(const OrderedJson& j, uint64_t* out) {
  if (j.is_number_unsigned()) {
    *out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    if (v < 0) return false;
    *out = static_cast<uint64_t>(v);
    return true;
  }
  return false;
}

std::string json_quoted(const std::string& s) {
  // dump() escapes control characters and keeps the message printable; names that are not valid
  // UTF-8 cannot occur here because the JSON parser refused them.
  return OrderedJson(s).dump();
}

}  // namespace

std::string_view safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::bf16:
      return "BF16";
    case DType::f16:
      return "F16";
    case DType::i8:
      return "I8";
    case DType::i32:
      return "I32";
    case DType::i64:
      return "I64";
    case DType::u8:
      return "U8";
    case DType::boolean:
      return "BOOL";
  }
  return "?";
}

bool parse_safetensors_dtype(std::string_view name, DType* out) {
  for (int i = 0; i < kNumDTypes; ++i) {
    DType t = static_cast<DType>(i);
    if (safetensors_dtype_name(t) == name) {
      *out = t;
      return true;
    }
  }
  return false;
}

int64_t SafetensorsEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // validated on load: cannot overflow
  return n;
}

bool SafetensorsEntry::is_aligned() const {
  return reinterpret_cast<uintptr_t>(data) % dtype_size(dtype) == 0;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("cannot open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    fail_errno("cannot stat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, 0, "not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail(path, 0,
         "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  }
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int saved = errno;
  ::close(fd);  // the mapping keeps its own reference to the file
  if (addr == MAP_FAILED) {
    errno = saved;
    fail_errno("cannot mmap", path);
  }
  storage_ = std::shared_ptr<const void>(
      addr, [size](const void* p) { ::munmap(const_cast<void*>(p), size); });
  parse(static_cast<const std::byte*>(addr), size);
}

SafetensorsFile SafetensorsFile::from_bytes(std::vector<std::byte> bytes, std::string label) {
  SafetensorsFile f;
  f.path_ = std::move(label);
  auto owner = std::make_shared<std::vector<std::byte>>(std::move(bytes));
  const std::byte* data = owner->data();
  const size_t size = owner->size();
  f.storage_ = std::shared_ptr<const void>(owner, data);
  f.parse(data, size);
  return f;
}

const SafetensorsEntry* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const SafetensorsEntry& SafetensorsFile::at(std::string_view name) const {
  const SafetensorsEntry* e = find(name);
  if (e == nullptr) {
    std::ostringstream os;
    os << "safetensors file '" << path_ << "': no tensor named '" << name << "' ("
       << entries_.size() << " tensors)";
    throw Error(os.str());
  }
  return *e;
}

void SafetensorsFile::parse(const std::byte* bytes, size_t size) {
  file_size_ = size;
  if (size < 8) {
    fail(path_, 0,
         "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | std::to_integer<uint64_t>(bytes[i]);
  if (header_len > kMaxHeaderBytes) {
    fail(path_, 0,
         "header length " + std::to_string(header_len) + " exceeds the 100 MB limit (file is " +
             std::to_string(size) + " bytes)");
  }
  if (header_len > size - 8) {
    fail(path_, 0,
         "header length " + std::to_string(header_len) + " runs past the end of the file (" +
             std::to_string(size) + " bytes)");
  }
  data_offset_ = 8 + header_len;
  const uint64_t data_size = size - data_offset_;
  const char* text = reinterpret_cast<const char*>(bytes + 8);
  const std::string_view header(text, header_len);

  // Byte offset of an entry's key in the file, for error messages (best effort: the first
  // occurrence of the quoted name; the header start if it is not found verbatim).
  auto key_offset = [&](const std::string& name) -> uint64_t {
    size_t pos = header.find(json_quoted(name));
    return 8 + (pos == std::string_view::npos ? 0 : pos);
  };

  // JSON parsers keep one of two duplicate keys silently; the format forbids them, so the parse
  // callback tracks the keys of every open object.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  bool has_duplicate = false;
  OrderedJson::parser_callback_t on_event = [&](int /*depth*/, nlohmann::json::parse_event_t event,
                                                OrderedJson& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::object_start) {
      open_objects.emplace_back();
    } else if (event == E::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == E::key && !open_objects.empty()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(k).second && !has_duplicate) {
        has_duplicate = true;
        duplicate = k;
      }
    }
    return true;
  };
  OrderedJson root;
  try {
    root = OrderedJson::parse(header.begin(), header.end(), on_event);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts from 1 within the header text.
    uint64_t at = 8 + (e.byte > 0 ? e.byte - 1 : 0);
    fail(path_, at, std::string("header is not valid JSON: ") + e.what());
  } catch (const nlohmann::json::exception& e) {
    fail(path_, 8, std::string("header is not valid JSON: ") + e.what());
  }
  if (has_duplicate) {
    fail(path_, key_offset(duplicate),
         "duplicate key " + json_quoted(duplicate) + " in the header");
  }
  if (!root.is_object()) {
    fail(path_, 8, std::string("header is a JSON ") + root.type_name() + ", not an object");
  }

  struct Range {
    uint64_t begin, end;
    size_t entry;
  };
  std::vector<Range> ranges;
  entries_.reserve(root.size());
  for (const auto& [key, value] : root.items()) {
    if (key == kMetadataKey) {
      if (!value.is_object()) {
        fail(path_, key_offset(key), "__metadata__ must be an object of strings");
      }
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) {
          fail(path_, key_offset(key),
               "__metadata__ value of " + json_quoted(mk) + " is a " + mv.type_name() +
                   ", not a string");
        }
        metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& reason) {
      fail(path_, key_offset(key), "tensor " + json_quoted(key) + ": " + reason);
    };
    if (!value.is_object()) bad(std::string("entry is a ") + value.type_name() + ", not an object");
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!value.contains(field)) bad(std::string("missing \"") + field + "\"");
    }
    const OrderedJson& jdtype = value["dtype"];
    const OrderedJson& jshape = value["shape"];
    const OrderedJson& joffsets = value["data_offsets"];
    if (!jdtype.is_string())
      bad(std::string("dtype is a ") + jdtype.type_name() + ", not a string");
    DType dtype = DType::f32;
    if (!parse_safetensors_dtype(jdtype.get_ref<const std::string&>(), &dtype)) {
      bad("unknown dtype " + jdtype.dump());
    }
    if (!jshape.is_array()) bad(std::string("shape is a ") + jshape.type_name() + ", not an array");
    std::vector<int64_t> shape;
    shape.reserve(jshape.size());
    for (const auto& d : jshape) {
      uint64_t v = 0;
      if (!json_to_u64(d, &v) || v > static_cast<uint64_t>(INT64_MAX)) {
        bad("shape " + jshape.dump() + " has a dimension that is not a non-negative integer");
      }
      shape.push_back(static_cast<int64_t>(v));
    }
    if (!joffsets.is_array() || joffsets.size() != 2) {
      bad("data_offsets " + joffsets.dump() + " is not an array of two integers");
    }
    uint64_t begin = 0, end = 0;
    if (!json_to_u64(joffsets[0], &begin) || !json_to_u64(joffsets[1], &end)) {
      bad("data_offsets " + joffsets.dump() + " must be non-negative integers");
    }
    if (begin > end) {
      bad("data_offsets begin " + std::to_string(begin) + " > end " + std::to_string(end));
    }
    if (end > data_size) {
      fail(path_, data_offset_ + std::min(begin, data_size),
           "tensor " + json_quoted(key) + ": data_offsets end " + std::to_string(end) +
               " is beyond the data buffer of " + std::to_string(data_size) + " bytes");
    }
    uint64_t expected = 0;
    if (!checked_nbytes(shape, dtype_size(dtype), &expected)) {
      bad("shape " + jshape.dump() + " overflows 64-bit byte size");
    }
    if (end - begin != expected) {
      fail(path_, data_offset_ + begin,
           "tensor " + json_quoted(key) + ": byte size " + std::to_string(end - begin) +
               " != product(shape " + jshape.dump() + ") * " + std::to_string(dtype_size(dtype)) +
               " = " + std::to_string(expected));
    }
    ranges.push_back({begin, end, entries_.size()});
    entries_.push_back({key, dtype, std::move(shape), bytes + data_offset_ + begin,
                        static_cast<size_t>(end - begin)});
  }

  // The format requires the data buffer to be covered exactly: sorted by offset, each tensor
  // starts where the previous one ended and the last one ends at the end of the file.
  std::stable_sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  const Range* prev = nullptr;
  for (const Range& r : ranges) {
    if (r.begin < cursor) {
      fail(path_, data_offset_ + r.begin,
           "tensor " + json_quoted(entries_[r.entry].name) + " [" + std::to_string(r.begin) + ", " +
               std::to_string(r.end) + ") overlaps tensor " +
               json_quoted(entries_[prev->entry].name) + " [" + std::to_string(prev->begin) + ", " +
               std::to_string(prev->end) + ")");
    }
    if (r.begin > cursor) {
      fail(path_, data_offset_ + cursor,
           "hole in the data buffer: bytes [" + std::to_string(cursor) + ", " +
               std::to_string(r.begin) + ") belong to no tensor");
    }
    cursor = r.end;
    prev = &r;
  }
  if (cursor != data_size) {
    fail(path_, data_offset_ + cursor,
         std::to_string(data_size - cursor) +
             " trailing bytes at the end of the data buffer belong to no tensor");
  }
  for (size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].name, i);
}

namespace {

// Closes and removes the temporary file unless released; keeps error paths short.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail_errno("cannot create", path_);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!released_) ::unlink(path_.c_str());
  }
  void write_all(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t w = ::write(fd_, p, std::min<size_t>(n, size_t{1} << 30));
      if (w < 0) {
        if (errno == EINTR) continue;
        fail_errno("cannot write", path_);
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  void sync_and_close() {
    if (::fsync(fd_) != 0) fail_errno("cannot fsync", path_);
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) fail_errno("cannot close", path_);
  }
  void release() { released_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool released_ = false;
};

void fsync_directory_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno("cannot open directory", dir);
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) fail_errno("cannot fsync directory", dir);
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<SafetensorsEntryView>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  auto bad = [&](const std::string& reason) {
    throw Error("write_safetensors '" + path + "': " + reason);
  };
  const size_t n = tensors.size();
  std::vector<uint64_t> nbytes(n);
  std::set<std::string_view> names;
  for (size_t i = 0; i < n; ++i) {
    const SafetensorsEntryView& t = tensors[i];
    if (t.name == kMetadataKey) bad("tensor name \"__metadata__\" is reserved");
    if (!names.insert(t.name).second) bad("duplicate tensor name " + json_quoted(t.name));
    if (!checked_nbytes(t.shape, dtype_size(t.dtype), &nbytes[i])) {
      bad("tensor " + json_quoted(t.name) + ": shape has a negative dimension or overflows");
    }
    if (nbytes[i] > 0 && t.data == nullptr) bad("tensor " + json_quoted(t.name) + ": null data");
  }

  // Data layout: by decreasing dtype size, so that every tensor is aligned to its element size
  // given an 8-aligned buffer start (sizes of earlier tensors are multiples of larger powers of 2).
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return dtype_size(tensors[a].dtype) > dtype_size(tensors[b].dtype);
  });
  std::vector<uint64_t> begin(n);
  uint64_t cursor = 0;
  for (size_t i : order) {
    begin[i] = cursor;
    if (__builtin_add_overflow(cursor, nbytes[i], &cursor)) bad("total size overflows");
  }

  OrderedJson header = OrderedJson::object();
  if (!metadata.empty()) {
    OrderedJson meta = OrderedJson::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header[kMetadataKey] = std::move(meta);
  }
  for (size_t i = 0; i < n; ++i) {
    const SafetensorsEntryView& t = tensors[i];
    header[t.name] = {{"dtype", std::string(safetensors_dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {begin[i], begin[i] + nbytes[i]}}};
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("a name or metadata string is not valid UTF-8: ") + e.what());
  }
  // Pad with spaces (JSON whitespace) so that the data buffer starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(uint64_t{text.size()} >> (8 * i));

  TempFile tmp(path + ".tmp");
  tmp.write_all(len, 8);
  tmp.write_all(text.data(), text.size());
  for (size_t i : order) {
    if (nbytes[i] > 0) tmp.write_all(tensors[i].data, nbytes[i]);
  }
  tmp.sync_and_close();
  if (::rename((path + ".tmp").c_str(), path.c_str()) != 0) fail_errno("cannot rename onto", path);
  tmp.release();
  fsync_directory_of(path);
}

}  // namespace seekforge
