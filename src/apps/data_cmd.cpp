// `seekforge data clean|dedup`: argument parsing and a summary line; the work is in
// data/clean_pipeline.h and data/dedup_file.h.
#include "apps/data_cmd.h"

#include <cstdio>

#include "core/error.h"
#include "data/clean_pipeline.h"
#include "data/dedup_file.h"

namespace seekforge::apps {

namespace {

struct Args {
  std::string config, in, out, dropped, near = "minhash";
  bool no_exact = false;
  int shingle = 0, num_perm = 128, bands = 0, max_distance = 15;
  double threshold = 0.5;
} g;

CLI::App* g_clean = nullptr;
CLI::App* g_dedup = nullptr;

int run_clean() {
  const data::CleanConfig c = data::load_clean_config(g.config);
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
  o.exact = !g.no_exact;
  SF_CHECK(g.near == "minhash" || g.near == "simhash" || g.near == "none")
      << "--near '" << g.near << "': must be minhash, simhash or none";
  if (g.near == "none") {
    o.near.reset();
  } else {
    data::NearDedupOptions n;
    if (g.near == "simhash") {
      n.method = data::NearMethod::simhash;
      if (g.shingle > 0) n.simhash.shingle = g.shingle;
      if (g.bands > 0) n.simhash.bands = g.bands;
      n.simhash.max_distance = g.max_distance;
    } else {
      if (g.shingle > 0) n.minhash.shingle = g.shingle;
      if (g.bands > 0) n.minhash.bands = g.bands;
      n.minhash.num_perm = g.num_perm;
      n.minhash.threshold = g.threshold;
    }
    o.near = n;
  }
  const data::DedupFileSummary s = data::dedup_jsonl_file(g.in, g.out, g.dropped, o);
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
  g_clean->add_option("--config", g.config, "pipeline TOML (docs/data-cleaning.md)")
      ->required()
      ->check(CLI::ExistingFile);
  g_dedup = data->add_subcommand("dedup", "drop exact and near duplicates from a JSONL file");
  g_dedup->add_option("--in", g.in, "input JSONL: {\"id\": ..., \"text\": ...} per line")
      ->required();
  g_dedup->add_option("--out", g.out, "kept lines (verbatim)")->required();
  g_dedup->add_option("--dropped", g.dropped, "dropped lines, with \"duplicate_of\"")->required();
  g_dedup->add_option("--near", g.near, "near-duplicate method: minhash | simhash | none");
  g_dedup->add_flag("--no-exact", g.no_exact, "skip the exact-duplicate stage");
  g_dedup->add_option("--shingle", g.shingle, "words per shingle (default 3)");
  g_dedup->add_option("--bands", g.bands, "LSH bands (default 32 minhash, 16 simhash)");
  g_dedup->add_option("--num-perm", g.num_perm, "MinHash signature length (default 128)");
  g_dedup->add_option("--threshold", g.threshold, "MinHash Jaccard threshold (default 0.5)");
  g_dedup->add_option("--max-distance", g.max_distance, "SimHash Hamming distance (default 15)");
  return data;
}

int run_data() {
  if (g_clean->parsed()) return run_clean();
  if (g_dedup->parsed()) return run_dedup();
  return 2;
}

}  // namespace seekforge::apps
