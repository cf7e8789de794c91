// Helpers of the trainer tests: a fresh run directory and the lines of its metrics.jsonl.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace seekforge::testing {

// An empty directory path under the system temp dir, unique to this process and `name`.
inline std::string fresh_run_dir(const std::string& prefix, const std::string& name) {
  std::string leaf = prefix;
  leaf += name;
  leaf += "-";
  leaf += std::to_string(::getpid());
  const std::string d = std::filesystem::temp_directory_path() / leaf;
  std::filesystem::remove_all(d);
  return d;
}

inline std::vector<nlohmann::json> read_metrics(const std::string& dir) {
  std::vector<nlohmann::json> lines;
  std::ifstream f(dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(f, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace seekforge::testing
