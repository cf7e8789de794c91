// Where a benchmark finds its companion scripts (the PyTorch side, the tokenizer's Node
// encoder): the source tree the build was configured from (CMake passes it), or
// $SEEKFORGE_SOURCE_DIR when that is set, so a build directory works from any working directory.
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>

namespace seekforge::bench {

// The absolute path of `relative` (e.g. "bench/gemm_torch.py") in the source tree, or "" when
// no such file is there.
inline std::string source_path(const std::string& relative) {
  const char* env = std::getenv("SEEKFORGE_SOURCE_DIR");
  const std::string path = std::string(env && *env ? env : SEEKFORGE_SOURCE_DIR) + "/" + relative;
  return std::ifstream(path).good() ? path : std::string();
}

}  // namespace seekforge::bench
