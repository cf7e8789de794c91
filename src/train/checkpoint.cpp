#include "train/checkpoint.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace seekforge::train {

namespace fs = std::filesystem;

namespace {

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  SF_CHECK(fd >= 0) << "cannot open '" << path << "' to sync it";
  const int rc = ::fsync(fd);
  ::close(fd);
  SF_CHECK(rc == 0) << "fsync of '" << path << "' failed";
}

void write_text_synced(const std::string& path, const std::string& text) {
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    SF_CHECK(f.good()) << "cannot write '" << path << "'";
    f << text;
    f.flush();
    SF_CHECK(f.good()) << "short write to '" << path << "'";
  }
  fsync_path(path, false);
}

bool is_checkpoint_name(const std::string& name) {
  return name.size() == 11 && name.rfind("step-", 0) == 0 &&
         std::all_of(name.begin() + 5, name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> checkpoint_names(const std::string& out_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(out_dir, ec)) return names;
  for (const auto& e : fs::directory_iterator(out_dir)) {
    const std::string n = e.path().filename().string();
    if (e.is_directory() && is_checkpoint_name(n)) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::string checkpoint_dir_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%06lld", static_cast<long long>(step));
  return buf;
}

std::string file_checksum(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  SF_CHECK(fd >= 0) << "cannot open '" << path << "'";
  struct stat st {};
  ::fstat(fd, &st);
  uint64_t h = 1469598103934665603ull;
  if (st.st_size > 0) {
    void* p = ::mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      SF_FAIL() << "cannot map '" << path << "'";
    }
    const auto* b = static_cast<const unsigned char*>(p);
    // Eight interleaved FNV-1a lanes, folded at the end: the same digest for the same bytes,
    // several times faster than one serial chain.
    uint64_t lanes[8];
    for (auto& l : lanes) l = h;
    const size_t n = static_cast<size_t>(st.st_size), body = n / 8 * 8;
    for (size_t i = 0; i < body; i += 8)
      for (int j = 0; j < 8; ++j) lanes[j] = (lanes[j] ^ b[i + j]) * 1099511628211ull;
    for (size_t i = body; i < n; ++i) lanes[0] = (lanes[0] ^ b[i]) * 1099511628211ull;
    for (uint64_t l : lanes) h = (h ^ l) * 1099511628211ull;
    ::munmap(p, st.st_size);
  }
  ::close(fd);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string save_checkpoint(const std::string& out_dir, const Checkpoint& ckpt, int64_t keep_last) {
  SF_CHECK(ckpt.state.contains("step")) << "save_checkpoint: state has no step";
  const int64_t step = ckpt.state["step"].get<int64_t>();
  fs::create_directories(out_dir);
  const std::string final_dir = (fs::path(out_dir) / checkpoint_dir_name(step)).string();
  const std::string tmp_dir =
      (fs::path(out_dir) / (".tmp-" + checkpoint_dir_name(step) + "-" + std::to_string(::getpid())))
          .string();
  fs::remove_all(tmp_dir);
  fs::create_directories(tmp_dir);
  const std::string model_path = tmp_dir + "/model.safetensors";
  const std::string optim_path = tmp_dir + "/optimizer.safetensors";
  save_tensors(model_path, ckpt.model, {{"format", "seekforge-model"}});
  save_tensors(optim_path, ckpt.optimizer, {{"format", "seekforge-optimizer"}});
  nlohmann::json state = ckpt.state;
  state["format_version"] = kCheckpointFormatVersion;
  state["files"] = {
      {"model.safetensors",
       {{"bytes", fs::file_size(model_path)}, {"checksum", file_checksum(model_path)}}},
      {"optimizer.safetensors",
       {{"bytes", fs::file_size(optim_path)}, {"checksum", file_checksum(optim_path)}}}};
  write_text_synced(tmp_dir + "/state.json", state.dump(2) + "\n");
  fsync_path(tmp_dir, true);
  // A checkpoint of this step from an earlier, interrupted life of the run is replaced.
  if (fs::exists(final_dir)) fs::remove_all(final_dir);
  fs::rename(tmp_dir, final_dir);
  fsync_path(out_dir, true);

  auto names = checkpoint_names(out_dir);
  const int64_t excess = static_cast<int64_t>(names.size()) - std::max<int64_t>(keep_last, 1);
  for (int64_t i = 0; i < excess; ++i) fs::remove_all(fs::path(out_dir) / names[i]);
  // Leftover temporaries of crashed writes are garbage.
  for (const auto& e : fs::directory_iterator(out_dir)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(".tmp-step-", 0) == 0 && e.path().string() != tmp_dir) fs::remove_all(e.path());
  }
  return final_dir;
}

Checkpoint load_checkpoint(const std::string& dir) {
  SF_CHECK(fs::is_directory(dir)) << "checkpoint '" << dir << "' is not a directory";
  const std::string state_path = dir + "/state.json";
  SF_CHECK(fs::exists(state_path)) << "checkpoint '" << dir << "': missing state.json";
  Checkpoint c;
  {
    std::ifstream f(state_path);
    std::stringstream ss;
    ss << f.rdbuf();
    try {
      c.state = nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
      SF_FAIL() << "checkpoint file '" << state_path << "' is not valid JSON: " << e.what();
    }
  }
  SF_CHECK(c.state.is_object() && c.state.contains("format_version") && c.state.contains("step"))
      << "checkpoint file '" << state_path << "' lacks format_version or step";
  SF_CHECK(c.state["format_version"] == kCheckpointFormatVersion)
      << "checkpoint file '" << state_path << "' has format version " << c.state["format_version"]
      << ", this build reads " << kCheckpointFormatVersion;
  for (const char* name : {"model.safetensors", "optimizer.safetensors"}) {
    const std::string path = dir + "/" + name;
    SF_CHECK(fs::exists(path)) << "checkpoint '" << dir << "': missing " << name;
    SF_CHECK(c.state.contains("files") && c.state["files"].contains(name))
        << "checkpoint file '" << state_path << "' records no size for " << name;
    const auto& rec = c.state["files"][name];
    const auto size = fs::file_size(path);
    SF_CHECK(size == rec["bytes"].get<uint64_t>())
        << "checkpoint file '" << path << "' is " << size << " bytes, state.json recorded "
        << rec["bytes"] << " (truncated or replaced)";
    SF_CHECK(file_checksum(path) == rec["checksum"].get<std::string>())
        << "checkpoint file '" << path << "' does not match its recorded checksum (corrupt)";
  }
  c.model = load_tensors(dir + "/model.safetensors");
  c.optimizer = load_tensors(dir + "/optimizer.safetensors");
  return c;
}

std::string latest_checkpoint(const std::string& out_dir) {
  auto names = checkpoint_names(out_dir);
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    const fs::path p = fs::path(out_dir) / *it;
    if (fs::exists(p / "state.json")) return p.string();
  }
  return "";
}

}  // namespace seekforge::train
