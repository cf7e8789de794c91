// Checkpoints: a directory `step-NNNNNN/` holding model.safetensors (parameters and buffers),
// optimizer.safetensors (moments) and state.json (format version, step, config, data position,
// RNG, training counters, and a checksum of each tensor file). Written under a temporary name,
// fsynced, then renamed, so a crash at any moment leaves either the previous checkpoint or the
// new one, never a half one that looks whole.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/tensor_file.h"

namespace seekforge::train {

inline constexpr int kCheckpointFormatVersion = 1;

struct Checkpoint {
  NamedTensors model;      // parameters and buffers by DESIGN name
  NamedTensors optimizer;  // optimiser state by its own names
  nlohmann::json state;    // must contain "step"; written as state.json
};

std::string checkpoint_dir_name(int64_t step);  // "step-000123"

// Writes out_dir/step-NNNNNN atomically and then deletes all but the newest `keep_last`
// checkpoints in out_dir. Returns the checkpoint's path.
std::string save_checkpoint(const std::string& out_dir, const Checkpoint& ckpt, int64_t keep_last);

// Loads and verifies a checkpoint directory: every file present, the format version known, and
// each tensor file's size and checksum equal to what state.json recorded. Errors name the file.
Checkpoint load_checkpoint(const std::string& dir);

// The newest complete checkpoint in out_dir ("" when there is none).
std::string latest_checkpoint(const std::string& out_dir);

// 64-bit FNV-1a of a file's bytes, as 16 hex digits.
std::string file_checksum(const std::string& path);

}  // namespace seekforge::train
