// `seekforge data clean|dedup`: argument parsing and a summary line; the work is in
// data/clean_pipeline.h and data/dedup_file.h.
#include "apps/data_cmd.h"

#include <cstdio>

#include "core/error.h"
#include "data/clean_pipeline.h"
#include "data/dedup_file.h"

namespace seekforge::apps {

namespace {

struct DataArgs {
  std::string config, in, out, dropped, near = "minhash";
  bool no_exact = false;
  int shingle = 0, num_perm = 128, bands = 0, max_distance = 15;
  double threshold = 0.5;
} data_args;

CLI::App* g_clean = nullptr;
CLI::App* g_dedup = nullptr;

int run_clean() {
  const data::CleanConfig c = data::load_clean_config(data_args.config);
  const data::CleanResult r = data::run_clean_pipeline(c);
  for (size_t i = 0; i < r.stages.size(); ++i) {
    const data::StageReport& s = r.stages[i];
    std::printf("stage %zu %-12s in %8lld  kept %8lld  dropped %8lld%s\n", i, s.type.c_str(),
                static_cast<long long>(s.in), static_cast<long long>(s.kept),
                static_cast<long long>(s.dropped),
                s.added > 0 ? ("  added " + std::to_string(s.added)).c_str() : "");
  }
  std::printf("clean: %lld documents in, %lld out: %s, %s\n", static_cast<long long>(r.input_docs),
              static_cast<long long>(r.output_docs), r.output_file.c_str(),
              r.manifest_file.c_str());
  return 0;
}

int run_dedup() {
  data::DedupFileOptions o;
  o.exact = !data_args.no_exact;
  SF_CHECK(data_args.near == "minhash" || data_args.near == "simhash" || data_args.near == "none")
      << "--near '" << data_args.near << "': must be minhash, simhash or none";
  if (data_args.near == "none") {
    o.near.reset();
  } else {
    data::NearDedupOptions n;
    if (data_args.near == "simhash") {
      n.method = data::NearMethod::simhash;
      if (data_args.shingle > 0) n.simhash.shingle = data_args.shingle;
      if (data_args.bands > 0) n.simhash.bands = data_args.bands;
      n.simhash.max_distance = data_args.max_distance;
    } else {
      if (data_args.shingle > 0) n.minhash.shingle = data_args.shingle;
      if (data_args.bands > 0) n.minhash.bands = data_args.bands;
      n.minhash.num_perm = data_args.num_perm;
      n.minhash.threshold = data_args.threshold;
    }
    o.near = n;
  }
  const data::DedupFileSummary s =
      data::dedup_jsonl_file(data_args.in, data_args.out, data_args.dropped, o);
  std::printf("dedup: %lld in, %lld kept, %lld exact duplicates, %lld near duplicates\n",
              static_cast<long long>(s.in), static_cast<long long>(s.kept),
              static_cast<long long>(s.exact_dropped), static_cast<long long>(s.near_dropped));
  return 0;
}

}  // namespace

CLI::App* add_data_command(CLI::App& app) {
  CLI::App* data = app.add_subcommand("data", "data preparation: clean, dedup, tokenize, stats");
  data->require_subcommand(1);
  g_clean = data->add_subcommand("clean",
                                 "run a cleaning pipeline; writes cleaned.jsonl and "
                                 "manifest.json to the pipeline's output.dir");
  g_clean->add_option("--config", data_args.config, "pipeline TOML (docs/data-cleaning.md)")
      ->required()
      ->check(CLI::ExistingFile);
  g_dedup = data->add_subcommand("dedup", "drop exact and near duplicates from a JSONL file");
  g_dedup->add_option("--in", data_args.in, "input JSONL: {\"id\": ..., \"text\": ...} per line")
      ->required();
  g_dedup->add_option("--out", data_args.out, "kept lines (verbatim)")->required();
  g_dedup->add_option("--dropped", data_args.dropped, "dropped lines, with \"duplicate_of\"")
      ->required();
  g_dedup->add_option("--near", data_args.near, "near-duplicate method: minhash | simhash | none");
  g_dedup->add_flag("--no-exact", data_args.no_exact, "skip the exact-duplicate stage");
  g_dedup->add_option("--shingle", data_args.shingle, "words per shingle (default 3)");
  g_dedup->add_option("--bands", data_args.bands, "LSH bands (default 32 minhash, 16 simhash)");
  g_dedup->add_option("--num-perm", data_args.num_perm, "MinHash signature length (default 128)");
  g_dedup->add_option("--threshold", data_args.threshold,
                      "MinHash Jaccard threshold (default 0.5)");
  g_dedup->add_option("--max-distance", data_args.max_distance,
                      "SimHash Hamming distance (default 15)");
  return data;
}

int run_data() {
  if (g_clean->parsed()) return run_clean();
  if (g_dedup->parsed()) return run_dedup();
  return 2;
}

}  // namespace seekforge::apps
