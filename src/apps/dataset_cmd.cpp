// `seekforge data tokenize` and `seekforge data stats`: thin wrappers over
// data/dataset_writer.h and data/shard.h.
//
//   data tokenize --tokenizer T.json --in CLEANED --out DATASET_DIR [--val-fraction F] [--seed S]
//                 [--shard-tokens N]
//   data stats DATASET_DIR
#include "apps/dataset_cmd.h"

#include <cstdio>
#include <string>

#include "core/error.h"
#include "data/dataset_writer.h"
#include "data/shard.h"
#include "data/tokenizer_io.h"

namespace seekforge::apps {

namespace {

struct DatasetArgs {
  std::string tokenizer, in, out, dir;
  double val_fraction = 0.01;
  uint64_t seed = 0;
  int64_t shard_tokens = int64_t{1} << 24;
} dataset_args;

CLI::App* g_tokenize = nullptr;
CLI::App* g_stats = nullptr;

int run_tokenize() {
  data::Tokenizer tok = data::load_tokenizer(dataset_args.tokenizer);
  data::TokenizeOptions opt;
  opt.val_fraction = dataset_args.val_fraction;
  opt.seed = dataset_args.seed;
  opt.shard_tokens = dataset_args.shard_tokens;
  opt.progress = true;
  data::TokenizeStats st;
  const data::Manifest m = data::tokenize_corpus(dataset_args.in, tok, dataset_args.tokenizer,
                                                 dataset_args.out, opt, &st);
  std::printf(
      "wrote %s: %lld documents (%lld empty skipped), %.1f MB into %lld tokens in %lld shards; "
      "%.2f s, %.2f MB/s; tokenizer %s\n",
      dataset_args.out.c_str(), static_cast<long long>(st.documents),
      static_cast<long long>(st.empty_documents), double(st.bytes) / 1e6,
      static_cast<long long>(st.tokens), static_cast<long long>(st.shards), st.seconds,
      st.seconds > 0 ? double(st.bytes) / st.seconds / 1e6 : 0.0, m.tokenizer_hash.c_str());
  return 0;
}

void print_split(const data::Manifest& m, const std::string& split) {
  const auto counts = data::domain_counts(m, split);
  std::printf("%s\n  %-20s %12s %14s %12s\n", split.c_str(), "domain", "documents", "tokens",
              "mean length");
  data::DomainCounts total;
  for (const auto& [domain, c] : counts) {
    std::printf("  %-20s %12lld %14lld %12.1f\n", domain.c_str(), static_cast<long long>(c.docs),
                static_cast<long long>(c.tokens), c.docs ? double(c.tokens) / double(c.docs) : 0.0);
    total.docs += c.docs;
    total.tokens += c.tokens;
  }
  std::printf("  %-20s %12lld %14lld %12.1f\n", "total", static_cast<long long>(total.docs),
              static_cast<long long>(total.tokens),
              total.docs ? double(total.tokens) / double(total.docs) : 0.0);
}

int run_stats() {
  // Opening the Dataset validates every shard against the manifest, so the table is true.
  const data::Dataset ds(dataset_args.dir);
  const data::Manifest& m = ds.manifest();
  std::printf("dataset %s: vocabulary %lld, tokenizer %s, %zu shards\n", dataset_args.dir.c_str(),
              static_cast<long long>(m.vocab_size), m.tokenizer_hash.c_str(), m.shards.size());
  print_split(m, "train");
  print_split(m, "val");
  return 0;
}

}  // namespace

void add_dataset_commands(CLI::App& data) {
  g_tokenize = data.add_subcommand("tokenize", "tokenize a cleaned corpus into token shards");
  g_tokenize->add_option("--tokenizer", dataset_args.tokenizer, "tokenizer JSON")->required();
  g_tokenize->add_option("--in", dataset_args.in, "JSONL file, .txt file or a directory of them")
      ->required();
  g_tokenize->add_option("--out", dataset_args.out, "dataset directory to write")->required();
  g_tokenize->add_option("--val-fraction", dataset_args.val_fraction, "share of documents for val")
      ->capture_default_str();
  g_tokenize->add_option("--seed", dataset_args.seed, "chooses the val documents")
      ->capture_default_str();
  g_tokenize->add_option("--shard-tokens", dataset_args.shard_tokens, "tokens per shard at most")
      ->capture_default_str();

  g_stats = data.add_subcommand("stats", "per-domain documents and tokens of a dataset");
  g_stats->add_option("dir", dataset_args.dir, "dataset directory")->required();
}

bool dataset_command_selected() {
  return (g_tokenize && g_tokenize->parsed()) || (g_stats && g_stats->parsed());
}

int run_dataset_command() {
  if (g_tokenize && g_tokenize->parsed()) return run_tokenize();
  if (g_stats && g_stats->parsed()) return run_stats();
  return 2;
}

}  // namespace seekforge::apps
