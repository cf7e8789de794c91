// Tests of the safetensors reader and writer: round trips of every dtype and shape kind, the
// atomic write, one test per validation rule (message names the reason and the byte offset), and
// a seeded corruption run in which every mutated file must either load or throw seekforge::Error.
#include "io/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"

namespace seekforge {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = fs::temp_directory_path().string() + "/sf_safetensors_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char* p = ::mkdtemp(buf.data());
    if (p == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::byte> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

// A raw file: 8-byte length (the header's real length unless given), header text, data bytes.
std::vector<std::byte> raw_file(const std::string& header, size_t data_bytes,
                                uint64_t header_len = UINT64_MAX) {
  if (header_len == UINT64_MAX) header_len = header.size();
  std::vector<std::byte> out(8 + header.size() + data_bytes, std::byte{0x5a});
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>(header_len >> (8 * i));
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

// Loads `bytes` and returns the error message ("" when it loaded).
std::string load_error(std::vector<std::byte> bytes) {
  try {
    SafetensorsFile::from_bytes(std::move(bytes), "test.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

constexpr DType kAllDTypes[] = {DType::f32, DType::f64, DType::bf16, DType::f16,    DType::i8,
                                DType::i32, DType::i64, DType::u8,   DType::boolean};

TEST(Safetensors, DTypeNamesRoundTrip) {
  for (DType t : kAllDTypes) {
    DType back;
    ASSERT_TRUE(parse_safetensors_dtype(safetensors_dtype_name(t), &back));
    EXPECT_EQ(back, t);
  }
  DType dummy;
  EXPECT_FALSE(parse_safetensors_dtype("F8_E4M3", &dummy));
  EXPECT_FALSE(parse_safetensors_dtype("f32", &dummy));
}

TEST(Safetensors, RoundTripEveryDTypeAndShapeKind) {
  TempDir dir;
  const std::vector<std::vector<int64_t>> shapes = {{2, 3}, {}, {0}, {4, 0, 2}, {5}, {1, 1, 3}};
  std::vector<SafetensorsEntryView> views;
  std::vector<std::vector<unsigned char>> buffers;
  for (DType t : kAllDTypes) {
    for (const auto& shape : shapes) {
      int64_t numel = 1;
      for (int64_t d : shape) numel *= d;
      std::vector<unsigned char> buf(static_cast<size_t>(numel) * dtype_size(t));
      for (size_t i = 0; i < buf.size(); ++i)
        buf[i] = static_cast<unsigned char>(i * 37 + buffers.size());
      buffers.push_back(std::move(buf));
      std::string name = "t." + std::string(dtype_name(t)) + "." + std::to_string(shape.size()) +
                         "." + std::to_string(numel);
      views.push_back({name, t, shape, buffers.back().empty() ? nullptr : buffers.back().data()});
    }
  }
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "a \"quoted\" é"}};
  const std::string path = dir.file("all.safetensors");
  write_safetensors(path, views, meta);
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  SafetensorsFile f(path);
  EXPECT_EQ(f.path(), path);
  EXPECT_EQ(f.metadata(), meta);
  EXPECT_EQ(f.data_offset() % 8, 0u);
  ASSERT_EQ(f.size(), views.size());
  for (size_t i = 0; i < views.size(); ++i) {
    const SafetensorsEntry& e = f.entries()[i];
    EXPECT_EQ(e.name, views[i].name);  // header order is the order given
    EXPECT_EQ(e.dtype, views[i].dtype);
    EXPECT_EQ(e.shape, views[i].shape);
    EXPECT_EQ(e.nbytes, buffers[i].size());
    EXPECT_EQ(e.numel() * static_cast<int64_t>(dtype_size(e.dtype)),
              static_cast<int64_t>(e.nbytes));
    EXPECT_TRUE(e.is_aligned()) << e.name;
    if (e.nbytes > 0) {
      EXPECT_EQ(std::memcmp(e.data, buffers[i].data(), e.nbytes), 0) << e.name;
    }
    EXPECT_EQ(f.find(e.name), &e);
  }
  EXPECT_EQ(f.find("absent"), nullptr);
  EXPECT_FALSE(f.contains("absent"));
  try {
    f.at("absent");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
  // The in-memory path agrees with the mmap path.
  SafetensorsFile g = SafetensorsFile::from_bytes(read_bytes(path), "copy");
  ASSERT_EQ(g.size(), f.size());
  EXPECT_EQ(g.metadata(), meta);
}

TEST(Safetensors, ValuesSurviveExactly) {
  TempDir dir;
  std::vector<float> x = {1.5f, -0.0f, 3.25e-20f, -7.0f, INFINITY, 1e30f};
  std::vector<int64_t> ids = {-100, 0, INT64_MAX, INT64_MIN};
  std::vector<uint16_t> h = {float_to_bf16(0.1f), float_to_bf16(-2.0f)};
  const std::string path = dir.file("v.safetensors");
  write_safetensors(path, {{"x", DType::f32, {2, 3}, x.data()},
                           {"ids", DType::i64, {4}, ids.data()},
                           {"h", DType::bf16, {2}, h.data()}});
  SafetensorsFile f(path);
  EXPECT_TRUE(f.metadata().empty());
  const auto& ex = f.at("x");
  EXPECT_EQ(std::memcmp(ex.data, x.data(), 24), 0);
  EXPECT_EQ(reinterpret_cast<const int64_t*>(f.at("ids").data)[2], INT64_MAX);
  EXPECT_EQ(bf16_to_float(reinterpret_cast<const uint16_t*>(f.at("h").data)[1]), -2.0f);
}

TEST(Safetensors, EmptyFileAndOnlyMetadata) {
  TempDir dir;
  write_safetensors(dir.file("e.safetensors"), {});
  SafetensorsFile e(dir.file("e.safetensors"));
  EXPECT_EQ(e.size(), 0u);
  EXPECT_EQ(e.file_size(), 16u);  // length + "{}" padded to 8
  write_safetensors(dir.file("m.safetensors"), {}, {{"k", "v"}});
  SafetensorsFile m(dir.file("m.safetensors"));
  EXPECT_EQ(m.metadata().at("k"), "v");
}

TEST(Safetensors, KeepAliveOutlivesTheFileObject) {
  TempDir dir;
  std::vector<int32_t> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(i * i);
  write_safetensors(dir.file("k.safetensors"), {{"v", DType::i32, {1000}, v.data()}});
  std::shared_ptr<const void> handle;
  const int32_t* data = nullptr;
  {
    SafetensorsFile f(dir.file("k.safetensors"));
    SafetensorsFile moved(std::move(f));  // moving keeps the pointers valid
    handle = moved.keep_alive();
    data = reinterpret_cast<const int32_t*>(moved.at("v").data);
  }
  fs::remove(dir.file("k.safetensors"));  // the mapping survives unlinking too
  ASSERT_NE(handle, nullptr);
  EXPECT_EQ(data[999], 999 * 999);
}

TEST(Safetensors, AtomicWriteReplacesAndLeavesNoTemp) {
  TempDir dir;
  const std::string path = dir.file("a.safetensors");
  float one = 1.0f, two[2] = {2.0f, 3.0f};
  write_safetensors(path, {{"a", DType::f32, {}, &one}});
  write_safetensors(path, {{"b", DType::f32, {2}, two}});
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  SafetensorsFile f(path);
  EXPECT_FALSE(f.contains("a"));
  EXPECT_TRUE(f.contains("b"));
  // A refused write leaves the previous file whole and no temporary behind.
  EXPECT_THROW(write_safetensors(path, {{"c", DType::f32, {}, &one}, {"c", DType::f32, {}, &one}}),
               Error);
  EXPECT_TRUE(SafetensorsFile(path).contains("b"));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  // Only the final file is in the directory.
  int count = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    (void)e;
    ++count;
  }
  EXPECT_EQ(count, 1);
}

TEST(Safetensors, WriterRefusesBadInput) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  float x = 0;
  auto message = [&](const std::vector<SafetensorsEntryView>& v) -> std::string {
    try {
      write_safetensors(path, v);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message({{"a", DType::f32, {}, &x}, {"a", DType::f32, {}, &x}}).find("duplicate"),
            std::string::npos);
  EXPECT_NE(message({{"__metadata__", DType::f32, {}, &x}}).find("reserved"), std::string::npos);
  EXPECT_NE(message({{"a", DType::f32, {-1}, &x}}).find("negative"), std::string::npos);
  EXPECT_NE(message({{"a", DType::f32, {3}, nullptr}}).find("null data"), std::string::npos);
  EXPECT_NE(message({{"a", DType::f32, {INT64_MAX, INT64_MAX}, &x}}).find("overflows"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_THROW(write_safetensors(dir.file("no/such/dir/x.safetensors"), {}), Error);
}

TEST(Safetensors, OpenErrorsNameThePath) {
  TempDir dir;
  try {
    SafetensorsFile f(dir.file("missing.safetensors"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.safetensors"), std::string::npos);
  }
  std::ofstream(dir.file("short.safetensors")) << "abc";
  try {
    SafetensorsFile f(dir.file("short.safetensors"));
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("short.safetensors"), std::string::npos);
    EXPECT_NE(m.find("at byte 0"), std::string::npos);
    EXPECT_NE(m.find("shorter than"), std::string::npos);
  }
  EXPECT_THROW(SafetensorsFile f(dir.path()), Error);  // a directory
}

struct BadCase {
  const char* what;
  std::vector<std::byte> bytes;
  std::string reason;  // substring of the message
  uint64_t offset;     // expected "at byte <offset>"
};

// Offset in the file of `needle` in `header` (header starts at byte 8).
uint64_t at(const std::string& header, const std::string& needle) {
  size_t p = header.find(needle);
  EXPECT_NE(p, std::string::npos) << needle;
  return 8 + p;
}

TEST(Safetensors, EveryValidationFailureNamesReasonAndOffset) {
  std::vector<BadCase> cases;
  auto add = [&](const char* what, const std::string& header, size_t data, std::string reason,
                 uint64_t offset) {
    cases.push_back({what, raw_file(header, data), std::move(reason), offset});
  };
  cases.push_back({"short file", std::vector<std::byte>(5), "shorter than the 8-byte", 0});
  cases.push_back({"length past end", raw_file("{}", 0, 1000), "runs past the end", 0});
  cases.push_back({"absurd length", raw_file("{}", 0, 200'000'000), "100 MB limit", 0});
  cases.push_back({"huge length", raw_file("{}", 0, UINT64_MAX - 1), "100 MB limit", 0});
  add("not json", "{\"a\": nope}", 0, "not valid JSON", 8 + 7);  // at the 'o'

  add("truncated json", "{\"a\": {", 0, "not valid JSON", 8 + 7);
  add("not object", "[1, 2]", 0, "not an object", 8);
  add("empty header", "", 0, "not valid JSON", 8);
  {
    std::string h = R"({"w": 3})";
    add("entry not object", h, 0, "not an object", at(h, "\"w\""));
  }
  {
    std::string h = R"({"w": {"shape": [1], "data_offsets": [0, 4]}})";
    add("missing dtype", h, 4, "missing \"dtype\"", at(h, "\"w\""));
  }
  {
    std::string h = R"({"x": {"dtype": "F32", "data_offsets": [0, 4]}})";
    add("missing shape", h, 4, "missing \"shape\"", at(h, "\"x\""));
  }
  {
    std::string h = R"({"a": {"dtype": "F32", "shape": [1]}, "b": {"dtype": "F32", "shape": [1]}})";
    add("missing offsets", h, 4, "missing \"data_offsets\"", at(h, "\"a\""));
  }
  {
    std::string h = R"({"w": {"dtype": 7, "shape": [1], "data_offsets": [0, 4]}})";
    add("dtype type", h, 4, "dtype is a number", at(h, "\"w\""));
  }
  {
    std::string h = R"({"w": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}})";
    add("shape type", h, 4, "shape is a string", at(h, "\"w\""));
  }
  {
    std::string h = R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": 4}})";
    add("offsets type", h, 4, "not an array of two integers", at(h, "\"w\""));
  }
  {
    std::string h = R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 2, 4]}})";
    add("offsets arity", h, 4, "not an array of two integers", at(h, "\"w\""));
  }
  {
    std::string h = R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, "4"]}})";
    add("offsets element type", h, 4, "must be non-negative integers", at(h, "\"w\""));
  }
  {
    std::string h = R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 4]}})";
    add("negative offset", h, 4, "must be non-negative integers", at(h, "\"w\""));
  }
  {
    std::string h = R"({"w": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}})";
    add("unknown dtype", h, 4, "unknown dtype \"F99\"", at(h, "\"w\""));
  }
  {
    std::string h = R"({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}})";
    add("unsupported dtype", h, 1, "unknown dtype", at(h, "\"w\""));
  }
  {
    std::string h = R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})";
    add("negative dim", h, 4, "not a non-negative integer", at(h, "\"w\""));
  }
  {
    std::string h = R"({"w": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}})";
    add("float dim", h, 4, "not a non-negative integer", at(h, "\"w\""));
  }
  {
    std::string h =
        R"({"w": {"dtype": "F32", "shape": [18446744073709551615], "data_offsets": [0, 4]}})";
    add("dim past int64", h, 4, "not a non-negative integer", at(h, "\"w\""));
  }
  {
    std::string h =
        R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 4]}})";
    add("shape overflow", h, 4, "overflows", at(h, "\"w\""));
  }
  {
    std::string h = R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})";
    add("begin > end", h, 4, "begin 4 > end 0", at(h, "\"w\""));
  }
  {
    std::string h = R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
    add("end beyond buffer", h, 4, "beyond the data buffer of 4 bytes", 8 + h.size());
  }
  {
    std::string h = R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})";
    add("size mismatch", h, 8, "byte size 8 != product", 8 + h.size());
  }
  {
    std::string h = R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                    R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})";
    add("overlap", h, 12, "overlaps tensor \"a\"", 8 + h.size() + 4);
  }
  {
    std::string h = R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                    R"( "z": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}})";
    add("zero-size inside another", h, 8, "overlaps", 8 + h.size() + 4);
  }
  {
    std::string h = R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                    R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})";
    add("hole", h, 12, "hole in the data buffer: bytes [4, 8)", 8 + h.size() + 4);
  }
  {
    std::string h = R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})";
    add("trailing bytes", h, 8, "4 trailing bytes", 8 + h.size() + 4);
  }
  {
    std::string h = R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                    R"( "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})";
    add("duplicate names", h, 8, "duplicate key \"a\"", at(h, "\"a\""));
  }
  {
    std::string h =
        R"({"a": {"dtype": "F32", "dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})";
    add("duplicate field", h, 4, "duplicate key \"dtype\"", at(h, "\"dtype\""));
  }
  {
    std::string h = R"({"__metadata__": {"k": 1}})";
    add("metadata value", h, 0, "is a number, not a string", 8 + 1);
  }
  {
    std::string h = R"({"__metadata__": ["k"]})";
    add("metadata type", h, 0, "__metadata__ must be an object", 8 + 1);
  }
  {
    std::string h = "{\"a\xff\": 1}";
    add("invalid utf-8", h, 0, "not valid JSON", 8 + 3);
  }

  for (BadCase& c : cases) {
    std::string m = load_error(std::move(c.bytes));
    ASSERT_FALSE(m.empty()) << c.what << ": loaded but should not";
    EXPECT_NE(m.find(c.reason), std::string::npos) << c.what << ": " << m;
    EXPECT_NE(m.find("at byte " + std::to_string(c.offset) + ":"), std::string::npos)
        << c.what << ": " << m;
    EXPECT_NE(m.find("test.safetensors"), std::string::npos) << c.what << ": " << m;
  }
}

TEST(Safetensors, AcceptsForeignButValidLayouts) {
  // Unpadded header, data in reverse header order, zero-size tensors at the boundaries, an extra
  // unknown field: all valid per the format.
  std::string h = R"({"b": {"dtype": "I8", "shape": [3], "data_offsets": [4, 7], "x": 1},)"
                  R"( "z": {"dtype": "F32", "shape": [0, 5], "data_offsets": [7, 7]},)"
                  R"( "a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},)"
                  R"( "s": {"dtype": "BOOL", "shape": [], "data_offsets": [0, 0]}})";
  // "s" claims [0, 0) but a scalar BOOL is 1 byte: rejected. Fix it to be a valid file.
  std::string bad = h;
  EXPECT_NE(load_error(raw_file(bad, 7)).find("byte size 0 != product"), std::string::npos);
  h.replace(h.find("[0, 0]"), 6, "[7, 8]");
  SafetensorsFile f = SafetensorsFile::from_bytes(raw_file(h, 8), "foreign");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f.entries()[0].name, "b");
  EXPECT_EQ(f.entries()[3].name, "s");
  EXPECT_EQ(f.at("z").nbytes, 0u);
  EXPECT_EQ(f.at("s").shape.size(), 0u);
  EXPECT_EQ(f.at("s").numel(), 1);
}

// Seeded corruption: byte flips, truncations, header-length edits, JSON edits. Every result
// must load (then all its bytes are read, under ASan exactly in bounds since from_bytes owns an
// exact-size buffer) or throw seekforge::Error.
TEST(SafetensorsFuzz, RandomCorruptionLoadsOrThrows) {
  TempDir dir;
  std::vector<float> a(6, 1.0f);
  std::vector<uint16_t> b(5, 7);
  std::vector<int64_t> c = {-100, 3, 9};
  uint8_t s = 1;
  const std::string seed_path = dir.file("seed.safetensors");
  write_safetensors(seed_path,
                    {{"layer.0.weight", DType::f32, {2, 3}, a.data()},
                     {"layer.0.bias", DType::bf16, {5}, b.data()},
                     {"targets", DType::i64, {3}, c.data()},
                     {"empty", DType::f16, {0, 4}, nullptr},
                     {"flag", DType::boolean, {}, &s}},
                    {{"step", "10"}, {"format", "pt"}});
  const std::vector<std::byte> seed = read_bytes(seed_path);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | std::to_integer<uint64_t>(seed[i]);

  std::mt19937_64 rng(20261122);
  auto uniform = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const char* tokens[] = {"{",
                          "}",
                          "[",
                          "]",
                          ",",
                          ":",
                          "\"",
                          "0",
                          "1",
                          "-1",
                          "4.5",
                          "1e30",
                          "null",
                          "true",
                          "\"F32\"",
                          "\"I8\"",
                          "\"a\"",
                          "[0, 4]",
                          "[]",
                          "\"shape\"",
                          " ",
                          "18446744073709551615",
                          "\"__metadata__\""};
  int loaded = 0, refused = 0;
  const int kMutations = 4000;
  for (int iter = 0; iter < kMutations; ++iter) {
    std::vector<std::byte> m = seed;
    const int kind = static_cast<int>(uniform(6));
    const int edits = 1 + static_cast<int>(uniform(3));
    for (int e = 0; e < edits; ++e) {
      if (m.empty()) break;
      switch (kind) {
        case 0:  // flip bits anywhere
          m[uniform(m.size())] ^= static_cast<std::byte>(1 + uniform(255));
          break;
        case 1:  // truncate
          m.resize(uniform(m.size() + 1));
          break;
        case 2: {  // header-length edit
          uint64_t v = header_len;
          switch (uniform(4)) {
            case 0:
              v += uniform(33) - 16;
              break;
            case 1:
              v = rng();
              break;
            case 2:
              v = uniform(m.size() + 16);
              break;
            default:
              v = header_len ^ (uint64_t{1} << uniform(64));
              break;
          }
          if (m.size() >= 8)
            for (int i = 0; i < 8; ++i) m[i] = static_cast<std::byte>(v >> (8 * i));
          break;
        }
        case 3: {  // JSON edit: replace a span of the header with a token
          if (m.size() <= 8 + header_len) break;
          size_t pos = 8 + uniform(header_len);
          size_t len = uniform(std::min<size_t>(8, 8 + header_len - pos) + 1);
          std::string tok = tokens[uniform(std::size(tokens))];
          std::vector<std::byte> t(tok.size());
          std::memcpy(t.data(), tok.data(), tok.size());
          m.erase(m.begin() + pos, m.begin() + pos + len);
          m.insert(m.begin() + pos, t.begin(), t.end());
          // Keep the length consistent half of the time so the JSON itself gets exercised.
          if (uniform(2) == 0) {
            uint64_t v = header_len - len + tok.size();
            for (int i = 0; i < 8; ++i) m[i] = static_cast<std::byte>(v >> (8 * i));
          }
          break;
        }
        case 4: {  // JSON edit: change one digit (offsets and shapes) in place
          std::vector<size_t> digits;
          for (size_t i = 8; i < std::min<size_t>(m.size(), 8 + header_len); ++i) {
            char ch = static_cast<char>(m[i]);
            if (ch >= '0' && ch <= '9') digits.push_back(i);
          }
          if (!digits.empty()) m[digits[uniform(digits.size())]] = std::byte('0' + uniform(10));
          break;
        }
        default:  // grow or shrink the data buffer
          if (uniform(2) == 0) {
            m.resize(m.size() + 1 + uniform(16), std::byte{0});
          } else {
            m.resize(m.size() - std::min<size_t>(m.size(), 1 + uniform(8)));
          }
          break;
      }
    }
    try {
      SafetensorsFile f = (iter % 100 == 0) ? [&] {
        // Now and then through the real mmap path.
        std::string p = dir.file("m.safetensors");
        std::ofstream(p, std::ios::binary)
            .write(reinterpret_cast<const char*>(m.data()), static_cast<std::streamsize>(m.size()));
        return SafetensorsFile(p);
      }()
                                            : SafetensorsFile::from_bytes(m, "mutant");
      unsigned sum = 0;
      for (const SafetensorsEntry& e : f.entries()) {
        ASSERT_EQ(e.nbytes, static_cast<size_t>(e.numel()) * dtype_size(e.dtype));
        for (size_t i = 0; i < e.nbytes; ++i) sum += std::to_integer<unsigned>(e.data[i]);
      }
      volatile unsigned sink = sum;  // keeps the reads
      (void)sink;
      ++loaded;
    } catch (const Error&) {
      ++refused;
    }
  }
  std::printf("corruption run: %d loaded, %d refused\n", loaded, refused);
  EXPECT_EQ(loaded + refused, kMutations);
  EXPECT_GT(loaded, 0);
  EXPECT_GT(refused, kMutations / 2);
}

}  // namespace
}  // namespace seekforge
