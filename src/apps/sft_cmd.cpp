// `seekforge sft`: points a config at SFT data and runs the trainer on it.
//
//   sft --config FILE --data FILE.jsonl [--init CHECKPOINT_DIR] [--tokenizer byte-chat|PATH]
//       [--set section.key=value ...] [--resume CHECKPOINT_DIR]
//
// --data becomes data.sft (the config's other data sources are cleared), --init becomes
// train.init_from, --tokenizer data.tokenizer. Without --tokenizer, an --init model keeps the
// tokenizer of its run (RUN_DIR/tokenizer.json, e.sft_args. a BPE-pretrained model's) when it has
// one; otherwise the config's data.tokenizer holds (default "byte-chat"). --set comes last, so it
// can change anything the flags set.
//
// What this is not: a second training loop (train/trainer.h runs it) or RL.
#include "apps/sft_cmd.h"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/train_cmd.h"
#include "data/dataset_writer.h"
#include "io/config.h"
#include "train/trainer.h"

namespace seekforge::apps {

namespace {

namespace fs = std::filesystem;

struct SftArgs {
  std::string config, data, init, tokenizer, resume;
  std::vector<std::string> sets;
} sft_args;

// RUN_DIR/tokenizer.json of a checkpoint directory RUN_DIR/step-N, or "" when there is none.
std::string run_tokenizer_of(const std::string& checkpoint_dir) {
  fs::path dir(checkpoint_dir);
  if (!dir.has_filename()) dir = dir.parent_path();  // a trailing slash
  const fs::path file = dir.parent_path() / data::kDatasetTokenizerFile;
  return fs::is_regular_file(file) ? file.string() : "";
}

}  // namespace

CLI::App* add_sft_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "sft",
      "supervised fine-tuning on prompt/response JSONL (chat template, loss on the response)");
  sub->add_option("--config", sft_args.config, "TOML config file (model and [train] settings)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--data", sft_args.data,
                  "JSONL, one {\"prompt\": ..., \"response\": ...} per line")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--init", sft_args.init,
                  "start from this checkpoint's weights (optimiser and step start fresh)")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--tokenizer", sft_args.tokenizer,
                  "byte-chat, or a tokenizer.json (default: the --init run's tokenizer.json when "
                  "it has one, else the config's data.tokenizer)");
  sub->add_option("--set", sft_args.sets,
                  "override a key: section.key=value (repeatable, applied last)");
  sub->add_option("--resume", sft_args.resume,
                  "continue from this checkpoint directory of an sft run")
      ->check(CLI::ExistingDirectory);
  return sub;
}

int run_sft() {
  std::vector<std::string> sets = {
      "data.path=", "data.synthetic=", "data.text_file=", "data.sft=" + sft_args.data};
  std::string tokenizer = sft_args.tokenizer;
  if (tokenizer.empty() && !sft_args.init.empty()) tokenizer = run_tokenizer_of(sft_args.init);
  if (!tokenizer.empty()) sets.push_back("data.tokenizer=" + tokenizer);
  if (!sft_args.init.empty()) sets.push_back("train.init_from=" + sft_args.init);
  sets.insert(sets.end(), sft_args.sets.begin(), sft_args.sets.end());
  const Config config = load_config(sft_args.config, sets);
  std::string start = "weights from a random initialisation";
  if (!sft_args.resume.empty())
    start = "resuming " + sft_args.resume;
  else if (!config.train.init_from.empty())
    start = "weights from " + config.train.init_from;
  std::printf("sft: data %s, tokenizer %s, %s\n", config.data.sft.c_str(),
              config.data.tokenizer.c_str(), start.c_str());
  std::fflush(stdout);
  train::TrainOptions opt;
  opt.resume_from = sft_args.resume;
  return report_training(train::run_training(config, opt));
}

}  // namespace seekforge::apps
