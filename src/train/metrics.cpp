#include "train/metrics.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace seekforge::train {

MetricsLog::MetricsLog(const std::string& path, int64_t keep_through_step) : path_(path) {
  namespace fs = std::filesystem;
  if (keep_through_step >= 0 && fs::exists(path)) {
    std::ifstream in(path);
    std::string kept, line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      try {
        const auto j = nlohmann::json::parse(line);
        if (j.contains("step") && j["step"].get<int64_t>() > keep_through_step) continue;
      } catch (const nlohmann::json::exception&) {
        continue;  // a line torn by a crash mid-write
      }
      kept += line + "\n";
    }
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << kept;
      SF_CHECK(out.good()) << "cannot rewrite '" << tmp << "'";
    }
    fs::rename(tmp, path);
    file_ = std::fopen(path.c_str(), "a");
  } else {
    file_ = std::fopen(path.c_str(), "w");
  }
  SF_CHECK(file_ != nullptr) << "cannot open metrics file '" << path << "'";
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::write(const nlohmann::json& line) {
  const std::string s = line.dump() + "\n";
  SF_CHECK(std::fwrite(s.data(), 1, s.size(), file_) == s.size())
      << "cannot append to '" << path_ << "'";
  std::fflush(file_);
}

}  // namespace seekforge::train
