// `seekforge tokenizer ...`: thin wrappers over data/bpe*.h and data/tokenizer_io.h.
//
//   tokenizer train  --in FILES... --vocab-size N --out T.json [--min-frequency F] [--pattern P]
//   tokenizer import (--tiktoken FILE --pattern NAME | --hf tokenizer.json) --out T.json
//   tokenizer export --tokenizer T.json --hf OUT.json
//   tokenizer encode --tokenizer T.json --in FILE [--out IDS.json]   (one JSON array of ids)
//   tokenizer decode --tokenizer T.json --in IDS.json [--out FILE]   (the bytes)
#include "apps/tokenizer_cmd.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/bpe.h"
#include "data/bpe_train.h"
#include "data/file_io.h"
#include "data/tokenizer_io.h"

namespace seekforge::apps {

namespace {

struct TokenizerArgs {
  std::vector<std::string> in;
  std::string out, tokenizer, tiktoken, hf, pattern;
  int64_t vocab_size = 0, min_frequency = 2;
} tokenizer_args;

CLI::App* g_train = nullptr;
CLI::App* g_import = nullptr;
CLI::App* g_export = nullptr;
CLI::App* g_encode = nullptr;
CLI::App* g_decode = nullptr;

void print_summary(const data::Tokenizer& t, const std::string& path) {
  std::printf("wrote %s: vocabulary %lld (%zu merges, %zu special tokens), pattern %s, hash %s\n",
              path.c_str(), static_cast<long long>(t.vocab_size()), t.merges().size(),
              t.special_tokens().size(),
              t.pretokenizer().name().empty() ? "custom" : t.pretokenizer().name().c_str(),
              data::hex64(data::tokenizer_hash(t)).c_str());
}

void write_output(const std::string& bytes) {
  if (tokenizer_args.out.empty()) {
    SF_CHECK(std::fwrite(bytes.data(), 1, bytes.size(), stdout) == bytes.size())
        << "cannot write to stdout";
    std::fflush(stdout);
  } else {
    data::write_file_atomic(tokenizer_args.out, bytes);
  }
}

int run_tokenizer_train() {
  data::TrainOptions opt;
  opt.vocab_size = tokenizer_args.vocab_size;
  opt.min_frequency = tokenizer_args.min_frequency;
  if (!tokenizer_args.pattern.empty()) opt.pattern = tokenizer_args.pattern;
  opt.progress = true;
  data::TrainStats st;
  data::Tokenizer t = data::train_bpe_files(tokenizer_args.in, opt, &st);
  data::save_tokenizer(t, tokenizer_args.out);
  std::printf("trained on %lld bytes (%lld distinct words): counting %.2f s, %lld merges %.2f s\n",
              static_cast<long long>(st.bytes), static_cast<long long>(st.unique_words),
              st.count_seconds, static_cast<long long>(st.merges), st.merge_seconds);
  if (st.merges + 256 + int64_t(t.special_tokens().size()) < tokenizer_args.vocab_size)
    std::printf("stopped early: no pair left with at least %lld occurrences\n",
                static_cast<long long>(tokenizer_args.min_frequency));
  print_summary(t, tokenizer_args.out);
  return 0;
}

int run_import() {
  SF_CHECK(tokenizer_args.tiktoken.empty() != tokenizer_args.hf.empty())
      << "tokenizer import: give --tiktoken or --hf";
  if (!tokenizer_args.tiktoken.empty()) {
    SF_CHECK(!tokenizer_args.pattern.empty())
        << "tokenizer import --tiktoken needs --pattern (one of " << data::pattern_names() << ")";
    data::Tokenizer t = data::import_tiktoken(tokenizer_args.tiktoken, tokenizer_args.pattern);
    data::save_tokenizer(t, tokenizer_args.out);
    print_summary(t, tokenizer_args.out);
  } else {
    data::Tokenizer t = data::import_hf(tokenizer_args.hf);
    data::save_tokenizer(t, tokenizer_args.out);
    print_summary(t, tokenizer_args.out);
  }
  return 0;
}

int run_export() {
  data::Tokenizer t = data::load_tokenizer(tokenizer_args.tokenizer);
  const nlohmann::ordered_json hf = data::tokenizer_to_hf_json(t);
  data::write_file_atomic(tokenizer_args.hf, hf.dump(1) + "\n");
  std::printf("wrote %s (Hugging Face tokenizer.json, %zu merges)\n", tokenizer_args.hf.c_str(),
              hf["model"]["merges"].size());
  return 0;
}

int run_encode() {
  data::Tokenizer t = data::load_tokenizer(tokenizer_args.tokenizer);
  SF_CHECK(tokenizer_args.in.size() == 1) << "tokenizer encode: give one --in FILE";
  const std::string text = data::read_file(tokenizer_args.in[0]);
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<uint32_t> ids = t.encode(text);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string out;
  out.reserve(ids.size() * 6 + 3);
  out.push_back('[');
  char buf[16];
  for (size_t i = 0; i < ids.size(); ++i) {
    const int n = std::snprintf(buf, sizeof buf, i ? ",%u" : "%u", ids[i]);
    out.append(buf, size_t(n));
  }
  out += "]\n";
  write_output(out);
  std::fprintf(stderr, "encoded %zu bytes into %zu tokens in %.3f s (%.1f MB/s)\n", text.size(),
               ids.size(), s, s > 0 ? double(text.size()) / s / 1e6 : 0.0);
  return 0;
}

int run_decode() {
  data::Tokenizer t = data::load_tokenizer(tokenizer_args.tokenizer);
  SF_CHECK(tokenizer_args.in.size() == 1) << "tokenizer decode: give one --in IDS.json";
  const std::string text = data::read_file(tokenizer_args.in[0]);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    SF_FAIL() << "tokenizer decode: '" << tokenizer_args.in[0] << "' is not valid JSON (byte "
              << e.byte << "): " << e.what();
  }
  SF_CHECK(j.is_array()) << "tokenizer decode: '" << tokenizer_args.in[0]
                         << "' must hold one JSON array of ids";
  std::vector<uint32_t> ids;
  ids.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    SF_CHECK(j[i].is_number_integer() && j[i].get<int64_t>() >= 0 &&
             j[i].get<int64_t>() < (int64_t(1) << 32))
        << "tokenizer decode: '" << tokenizer_args.in[0] << "': element " << i << " ("
        << j[i].dump() << ") is not a token id";
    ids.push_back(uint32_t(j[i].get<int64_t>()));
  }
  write_output(t.decode(ids));
  return 0;
}

}  // namespace

CLI::App* add_tokenizer_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("tokenizer", "train, import, export and run BPE tokenizers");
  sub->require_subcommand(1);

  g_train = sub->add_subcommand("train", "train a byte-level BPE tokenizer on text files");
  g_train->add_option("--in", tokenizer_args.in, "training text files")
      ->required()
      ->expected(1, -1);
  g_train->add_option("--vocab-size", tokenizer_args.vocab_size, "bytes + merges + special tokens")
      ->required();
  g_train->add_option("--out", tokenizer_args.out, "tokenizer JSON to write")->required();
  g_train->add_option("--min-frequency", tokenizer_args.min_frequency,
                      "stop when the best pair is rarer");
  g_train->add_option("--pattern", tokenizer_args.pattern,
                      "pre-tokenisation: gpt2 (default), cl100k, o200k or a regex");

  g_import = sub->add_subcommand("import", "import a .tiktoken rank file or a HF tokenizer.json");
  g_import->add_option("--tiktoken", tokenizer_args.tiktoken, ".tiktoken rank file");
  g_import->add_option("--hf", tokenizer_args.hf, "Hugging Face tokenizer.json");
  g_import->add_option("--pattern", tokenizer_args.pattern,
                       "with --tiktoken: gpt2, cl100k or o200k");
  g_import->add_option("--out", tokenizer_args.out, "tokenizer JSON to write")->required();

  g_export = sub->add_subcommand("export", "write a Hugging Face tokenizer.json");
  g_export->add_option("--tokenizer", tokenizer_args.tokenizer, "our tokenizer JSON")->required();
  g_export->add_option("--hf", tokenizer_args.hf, "tokenizer.json to write")->required();

  g_encode = sub->add_subcommand("encode", "print the ids of a file's bytes as one JSON array");
  g_encode->add_option("--tokenizer", tokenizer_args.tokenizer, "tokenizer JSON")->required();
  g_encode->add_option("--in", tokenizer_args.in, "input file")->required();
  g_encode->add_option("--out", tokenizer_args.out, "write here instead of stdout");

  g_decode = sub->add_subcommand("decode", "write the bytes of a JSON array of ids");
  g_decode->add_option("--tokenizer", tokenizer_args.tokenizer, "tokenizer JSON")->required();
  g_decode->add_option("--in", tokenizer_args.in, "JSON array of ids")->required();
  g_decode->add_option("--out", tokenizer_args.out, "write here instead of stdout");
  return sub;
}

int run_tokenizer() {
  if (g_train->parsed()) return run_tokenizer_train();
  if (g_import->parsed()) return run_import();
  if (g_export->parsed()) return run_export();
  if (g_encode->parsed()) return run_encode();
  if (g_decode->parsed()) return run_decode();
  return 2;
}

}  // namespace seekforge::apps
