// Tests of the cleaning pipeline: the TOML file is refused with a message naming the key for
// every kind of mistake; a full pipeline over real text (with exact and near copies, junk,
// broken UTF-8 and shuffled text mixed in) writes cleaned.jsonl and a manifest whose counters
// add up at every stage; `data dedup`'s library call puts every id in exactly one output; bad
// inputs fail with the file and line.
#include "data/clean_pipeline.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>
#include <set>

#include "data/dedup_file.h"
#include "data/real_text.h"
#include "data/temp_dir.h"
#include "data/words.h"

namespace seekforge::data {
namespace {

using testing::expect_error;
using testing::TempDir;
using testing::write_bytes;

const char* kMinimal = "[input]\njsonl = [\"in.jsonl\"]\n[output]\ndir = \"out\"\n";

CleanConfig parse(const std::string& stages) {
  return parse_clean_config(std::string(kMinimal) + stages, "p.toml", "/base");
}

TEST(CleanConfig, ReadsStagesAndResolvesPaths) {
  const CleanConfig c = parse(
      "[[stage]]\ntype = \"normalize\"\ninvalid_utf8 = \"drop\"\n"
      "[[stage]]\ntype = \"near_dedup\"\nmethod = \"simhash\"\nmax_distance = 9\n"
      "[[stage]]\ntype = \"perplexity\"\nreference = \"ref.txt\"\nkeep_percentile = 90\n");
  EXPECT_EQ(c.jsonl, std::vector<std::string>{"/base/in.jsonl"});
  EXPECT_EQ(c.out_dir, "/base/out");
  ASSERT_EQ(c.stages.size(), 3u);
  EXPECT_TRUE(std::get<NormalizeStage>(c.stages[0].settings).drop_invalid_utf8);
  const auto& nd = std::get<NearDedupStage>(c.stages[1].settings).options;
  EXPECT_EQ(nd.method, NearMethod::simhash);
  EXPECT_EQ(nd.simhash.max_distance, 9);
  EXPECT_EQ(nd.simhash.bands, 16);  // default
  EXPECT_EQ(std::get<PerplexityStage>(c.stages[2].settings).reference,
            std::vector<std::string>{"/base/ref.txt"});
}

TEST(CleanConfig, RefusesMistakesNamingTheKey) {
  expect_error([] { parse("[[stage]]\ntype = \"length\"\nmin_tokenz = 3\n"); },
               {"p.toml:7:1", "unknown key 'stage[0].min_tokenz'"});
  expect_error([] { parse("[[stage]]\ntype = \"length\"\nmin_tokens = \"3\"\n"); },
               {"stage[0].min_tokens = \"3\"", "expected an integer"});
  expect_error([] { parse("[[stage]]\ntype = \"near_dedup\"\nthreshold = 1.5\n"); },
               {"p.toml:7", "stage[0].threshold = 1.5", "must be in [0, 1]"});
  expect_error([] { parse("[[stage]]\ntype = \"near_dedup\"\nbands = 7\n"); },
               {"stage[0].bands = 7", "must divide num_perm (128)"});
  expect_error([] { parse("[[stage]]\ntype = \"near_dedup\"\nmax_distance = 3\n"); },
               {"unknown key 'stage[0].max_distance'", "minhash"});
  expect_error([] { parse("[[stage]]\ntype = \"near_dedup\"\nmethod = \"lsh\"\n"); },
               {"stage[0].method = \"lsh\"", "must be one of"});
  expect_error([] { parse("[[stage]]\ntype = \"sort\"\n"); },
               {"stage[0].type = \"sort\"", "unknown stage type"});
  expect_error([] { parse("[[stage]]\nmin_tokens = 3\n"); }, {"stage[0].type", "is required"});
  expect_error([] { parse("[[stage]]\ntype = \"perplexity\"\nreference = [\"r\"]\n"); },
               {"stage[0].max_perplexity", "exactly one"});
  expect_error([] { parse("[[stage]]\ntype = \"domain\"\nreference = [\"r\"]\n"); },
               {"stage[0].min_similarity", "exactly one"});
  expect_error([] { parse("[[stage]]\ntype = \"length\"\nmin_tokens = 9\nmax_tokens = 3\n"); },
               {"stage[0].max_tokens = 3", "below min_tokens"});
  expect_error([] { parse("[[stage]]\ntype = \"augment\"\np_synonym = 0.5\n"); },
               {"stage[0].p_synonym = 0.5", "synonyms file"});
  expect_error([] { parse(""); }, {"no [[stage]]"});
  expect_error([] { parse("bogus = 1\n[[stage]]\ntype = \"exact_dedup\"\n"); },
               {"unknown key 'output.bogus'"});
  expect_error([] { parse_clean_config("[output]\ndir = \"o\"\n", "p.toml"); },
               {"input", "at least one input"});
  expect_error([] { parse_clean_config("[input]\njsonl = [1]\n", "p.toml"); },
               {"input.jsonl", "must be a string"});
  expect_error([] { parse_clean_config("[input\n", "p.toml"); }, {"p.toml:1", "invalid TOML"});
  expect_error(
      [] { parse_clean_config("[input]\ntext = [\"a\"]\ntext_unit = \"line\"\n", "p.toml"); },
      {"input.text_unit = \"line\""});
  expect_error([] { load_clean_config("/nonexistent/p.toml"); }, {"/nonexistent/p.toml"});
}

// ---- a whole run on real text ------------------------------------------------------------------

std::string jsonl_line(const std::string& id, const std::string& text) {
  return nlohmann::json({{"id", id}, {"text", text}}).dump() + "\n";
}

std::vector<std::string> real_paragraphs(size_t n) {
  const std::string text = normalize_text(testing::real_text(4u << 20));
  // Prose only: tables and listings are rightly perplexing too, which would blur the test.
  // Licences repeat each other's paragraphs: a paragraph whose first 12 words opened an earlier
  // one is skipped, so the only duplicates in the input are the ones the test plants.
  std::vector<std::string> out;
  std::set<std::string> seen;
  size_t pos = 0;
  while (out.size() < n && pos < text.size()) {
    size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) end = text.size();
    std::string p = text.substr(pos, end - pos);
    std::string head;
    int k = 0;
    for_each_word(p, [&](std::string_view w) {
      if (k++ < 12) head.append(w).append(" ");
    });
    const ScriptMix m = script_mix(p);
    const bool prose = m.letters > m.non_space * 9 / 10 && m.code < 0.01;
    if (count_words(p) >= 40 && prose && seen.insert(head).second) out.push_back(std::move(p));
    pos = end + 2;
  }
  return out;
}

TEST(CleanPipeline, CountersAddUpAndManifestIsWritten) {
  TempDir dir;
  const std::vector<std::string> paras = real_paragraphs(400);
  ASSERT_GE(paras.size(), 300u);
  std::string in;
  std::set<std::string> ids;
  // Reference texts for the perplexity and domain stages: good text of the same kind as the
  // input's originals (here: those originals and 200 more paragraphs), as a curated
  // reference set would be.
  std::string ref;
  for (const auto& p : paras) ref.append(p).append("\n\n");
  write_bytes(dir.file("ref.txt"), ref);
  std::mt19937_64 rng(1);
  for (size_t i = 200; i < paras.size(); ++i) {
    in += jsonl_line("p" + std::to_string(i), paras[i]);
    if (i % 10 == 0) in += jsonl_line("exact" + std::to_string(i), "  " + paras[i] + "\n");
    if (i % 10 == 1) in += jsonl_line("near" + std::to_string(i), paras[i] + " and one more");
    if (i % 10 == 2) {
      std::vector<std::string> w;
      for_each_word(paras[i], [&](std::string_view x) { w.emplace_back(x); });
      std::shuffle(w.begin(), w.end(), rng);
      std::string s;
      for (const auto& x : w) s.append(x).append(" ");
      in += jsonl_line("shuffled" + std::to_string(i), s);
    }
  }
  in += jsonl_line("short", "too short");
  in += jsonl_line("empty", " \t ");
  in +=
      "{\"id\": \"broken\", \"text\": \"valid start \xFF\xFE then more words to be long enough "
      "for the length filter to let it pass through here\"}\n";
  write_bytes(dir.file("in.jsonl"), in);
  write_bytes(dir.file("pipe.toml"),
              "[input]\njsonl = [\"in.jsonl\"]\n[output]\ndir = \"out\"\nexamples = 20\n"
              "[[stage]]\ntype = \"normalize\"\ninvalid_utf8 = \"drop\"\n"
              "[[stage]]\ntype = \"script\"\nmin_latin = 0.5\n"
              "[[stage]]\ntype = \"length\"\nmin_tokens = 10\n"
              "[[stage]]\ntype = \"exact_dedup\"\n"
              "[[stage]]\ntype = \"near_dedup\"\n"
              "[[stage]]\ntype = \"perplexity\"\nreference = [\"ref.txt\"]\nkeep_percentile = 95\n"
              "[[stage]]\ntype = \"domain\"\nreference = [\"ref.txt\"]\ntop_share = 0.9\n"
              "[[stage]]\ntype = \"augment\"\np_replace = 0.05\ncopies = 2\n");
  const CleanConfig c = load_clean_config(dir.file("pipe.toml"));
  const CleanResult r = run_clean_pipeline(c);

  std::ifstream mf(dir.file("out/manifest.json"));
  const nlohmann::json m = nlohmann::json::parse(mf);
  ASSERT_EQ(m["stages"].size(), 8u);
  int64_t expected_in = m["input_docs"];
  for (const auto& s : m["stages"]) {
    EXPECT_EQ(s["in"].get<int64_t>(), expected_in) << s["type"];
    EXPECT_EQ(s["kept"].get<int64_t>() + s["dropped"].get<int64_t>(), s["in"].get<int64_t>())
        << s["type"];
    EXPECT_LE(s["dropped_examples"].size(), 20u);
    expected_in = s["kept"].get<int64_t>() + s["added"].get<int64_t>();
  }
  EXPECT_EQ(m["output_docs"].get<int64_t>(), expected_in);
  const auto stage = [&](int i) { return m["stages"][i]; };
  EXPECT_EQ(stage(0)["counters"]["invalid_utf8_docs"], 1);
  EXPECT_EQ(stage(0)["dropped"], 2);  // broken and empty
  EXPECT_EQ(stage(2)["dropped_examples"][0]["id"], "short");
  const auto planted = static_cast<int64_t>((paras.size() - 200 + 9) / 10);
  EXPECT_EQ(stage(3)["dropped"], planted);  // the exact copies (whitespace differs only)
  EXPECT_GE(stage(4)["dropped"].get<int64_t>(), planted - 1);  // the "and one more" copies
  // Perplexity: the shuffled paragraphs are the ones above the threshold.
  int shuffled_dropped = 0;
  const nlohmann::json perplexity = stage(5);  // a copy: the loop must not see a temporary
  for (const auto& e : perplexity["dropped_examples"])
    shuffled_dropped += e["id"].get<std::string>().rfind("shuffled", 0) == 0;
  EXPECT_EQ(shuffled_dropped, static_cast<int>(perplexity["dropped_examples"].size()));
  EXPECT_GE(stage(5)["dropped"].get<int64_t>(), 8);
  EXPECT_EQ(stage(7)["added"].get<int64_t>(), 2 * stage(7)["in"].get<int64_t>());

  // cleaned.jsonl holds output_docs lines with unique ids.
  std::ifstream of(dir.file("out/cleaned.jsonl"));
  std::string line;
  std::set<std::string> out_ids;
  while (std::getline(of, line)) out_ids.insert(nlohmann::json::parse(line)["id"].dump());
  EXPECT_EQ(static_cast<int64_t>(out_ids.size()), r.output_docs);
}

TEST(CleanPipeline, InvalidUtf8IsReplacedWhenAsked) {
  std::vector<Document> docs(2);
  docs[0].id = 1;
  docs[0].text = "fine text";
  docs[1].id = 2;
  docs[1].text = "bad \xEF\xBF\xBD byte";
  docs[1].invalid_utf8 = 1;
  StageConfig s{"normalize", NormalizeStage{}};
  const auto r = run_stages(docs, {s}, {});
  EXPECT_EQ(r[0].kept, 2);
  EXPECT_EQ(r[0].counters["invalid_utf8_docs"], 1);
}

TEST(CleanPipeline, TokenCounterIsPluggable) {
  std::vector<Document> docs(3);
  for (int i = 0; i < 3; ++i) {
    docs[i].id = i;
    docs[i].text = std::string(static_cast<size_t>(10 * (i + 1)), 'x');
  }
  PipelineOptions o;
  o.token_counter = [](std::string_view t) { return static_cast<int64_t>(t.size()); };
  o.token_counter_name = "bytes";
  LengthStage l;
  l.min_tokens = 15;
  l.max_tokens = 25;
  const auto r = run_stages(docs, {StageConfig{"length", l}}, o);
  EXPECT_EQ(r[0].kept, 1);
  EXPECT_EQ(r[0].dropped, 2);
  EXPECT_EQ(docs[0].id, 1);
  EXPECT_EQ(r[0].counters["token_counter"], "bytes");
}

TEST(CleanPipeline, BadInputsNameTheFileAndLine) {
  TempDir dir;
  const auto config_for = [&](const std::string& input) {
    return parse_clean_config("[input]\njsonl = [\"" + input +
                                  "\"]\n[output]\ndir = \"out\"\n"
                                  "[[stage]]\ntype = \"exact_dedup\"\n",
                              "p.toml", dir.path());
  };
  expect_error([&] { run_clean_pipeline(config_for("missing.jsonl")); },
               {"missing.jsonl", "does not exist"});
  write_bytes(dir.file("empty.jsonl"), "\n\n");
  expect_error([&] { run_clean_pipeline(config_for("empty.jsonl")); }, {"no documents"});
  write_bytes(dir.file("bad.jsonl"), "{\"id\": 1, \"text\": \"a\"}\n\n{\"id\": 2, \"text\": \n");
  expect_error([&] { run_clean_pipeline(config_for("bad.jsonl")); },
               {"bad.jsonl:3", "invalid JSON"});
  write_bytes(dir.file("notext.jsonl"), "{\"id\": 1}\n");
  expect_error([&] { run_clean_pipeline(config_for("notext.jsonl")); },
               {"notext.jsonl:1", "\"text\""});
  write_bytes(dir.file("dupid.jsonl"),
              "{\"id\": 1, \"text\": \"a\"}\n{\"id\": 1, \"text\": \"b\"}\n");
  expect_error([&] { run_clean_pipeline(config_for("dupid.jsonl")); }, {"id 1 appears twice"});
}

TEST(CleanPipeline, TextFilesPerFileAndPerParagraph) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("docs/sub"));
  write_bytes(dir.file("docs/a.txt"), "first para\nstill first\n\n  \nsecond para\n");
  write_bytes(dir.file("docs/sub/b.txt"), "only one \xFF broken\n");
  const auto files = read_text_input(dir.file("docs"), TextUnit::file);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].id, dir.file("docs/a.txt"));
  const auto paras = read_text_input(dir.file("docs"), TextUnit::paragraph);
  ASSERT_EQ(paras.size(), 3u);
  EXPECT_EQ(paras[1].id, dir.file("docs/a.txt") + "#2");
  EXPECT_EQ(paras[1].text, "second para\n");
  // Broken UTF-8 in a text file is counted and handled by the normalize stage's setting.
  for (const char* policy : {"replace", "drop"}) {
    const CleanConfig c =
        parse_clean_config(std::string("[input]\ntext = [\"docs\"]\n[output]\ndir = \"out\"\n"
                                       "[[stage]]\ntype = \"normalize\"\ninvalid_utf8 = \"") +
                               policy + "\"\n",
                           "p.toml", dir.path());
    const CleanResult r = run_clean_pipeline(c);
    EXPECT_EQ(r.stages[0].counters["invalid_utf8_docs"], 1);
    EXPECT_EQ(r.output_docs, std::string(policy) == "drop" ? 1 : 2);
  }
}

// ---- data dedup
// ----------------------------------------------------------------------------------

TEST(DedupFile, EveryIdLandsInExactlyOneFile) {
  TempDir dir;
  const std::vector<std::string> paras = real_paragraphs(60);
  std::string in;
  int n = 0;
  for (size_t i = 0; i < paras.size(); ++i) {
    in += nlohmann::json({{"id", n++}, {"text", paras[i]}}).dump() + "\n";
    if (i % 3 == 0) in += nlohmann::json({{"id", n++}, {"text", paras[i] + "  "}}).dump() + "\n";
    if (i % 3 == 1)
      in += nlohmann::json({{"id", n++}, {"text", paras[i] + " extra"}}).dump() + "\n";
  }
  write_bytes(dir.file("in.jsonl"), in);
  for (NearMethod method : {NearMethod::minhash, NearMethod::simhash}) {
    DedupFileOptions o;
    o.near->method = method;
    const DedupFileSummary s =
        dedup_jsonl_file(dir.file("in.jsonl"), dir.file("kept.jsonl"), dir.file("drop.jsonl"), o);
    std::map<int, int> seen;
    std::set<int> kept;
    std::ifstream k(dir.file("kept.jsonl")), d(dir.file("drop.jsonl"));
    std::string line;
    while (std::getline(k, line)) {
      const int id = nlohmann::json::parse(line)["id"];
      ++seen[id];
      kept.insert(id);
    }
    int dropped = 0;
    while (std::getline(d, line)) {
      const auto j = nlohmann::json::parse(line);
      ++seen[j["id"].get<int>()];
      EXPECT_EQ(kept.count(j["duplicate_of"].get<int>()), 1u) << line;
      ++dropped;
    }
    EXPECT_EQ(static_cast<int>(seen.size()), n);
    for (const auto& [id, times] : seen) EXPECT_EQ(times, 1) << id;
    EXPECT_EQ(s.in, n);
    EXPECT_EQ(s.kept + s.exact_dropped + s.near_dropped, n);
    EXPECT_EQ(s.exact_dropped, 20);
    EXPECT_GE(dropped, 38);
  }
  expect_error([&] { dedup_jsonl_file(dir.file("none.jsonl"), dir.file("k"), dir.file("d"), {}); },
               {"none.jsonl", "does not exist"});
  write_bytes(dir.file("empty.jsonl"), "");
  expect_error([&] { dedup_jsonl_file(dir.file("empty.jsonl"), dir.file("k"), dir.file("d"), {}); },
               {"empty.jsonl", "no documents"});
  write_bytes(dir.file("bad.jsonl"), "{\"id\": 1, \"text\": \"a\"}\nnot json\n");
  expect_error([&] { dedup_jsonl_file(dir.file("bad.jsonl"), dir.file("k"), dir.file("d"), {}); },
               {"bad.jsonl:2", "invalid JSON"});
}

}  // namespace
}  // namespace seekforge::data
