// `seekforge sft --config FILE --data FILE.jsonl [--init CHECKPOINT_DIR] [--tokenizer NAME|PATH]`:
// supervised fine-tuning on prompt/response pairs (data/sft_source.h), the cold start of R1-style
// post-training, with the training loop of `train`.
#pragma once

#include <CLI/CLI.hpp>

namespace seekforge::apps {

CLI::App* add_sft_command(CLI::App& app);
int run_sft();

}  // namespace seekforge::apps
