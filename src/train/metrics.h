// The run's metrics.jsonl: one JSON object per line, appended and flushed as training goes.
// A resumed run first drops the lines of steps after its checkpoint, so the file always tells
// one consistent history.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace seekforge::train {

class MetricsLog {
 public:
  // Opens (creating) path. keep_through_step >= 0 keeps only lines whose "step" is at most it
  // (rewritten atomically); -1 starts a fresh file.
  MetricsLog(const std::string& path, int64_t keep_through_step);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void write(const nlohmann::json& line);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace seekforge::train
