#include "train/text_codec.h"

#include <filesystem>

#include "core/error.h"
#include "data/dataset_writer.h"
#include "data/file_io.h"
#include "data/sft_source.h"
#include "data/shard.h"
#include "data/tokenizer_io.h"

namespace seekforge::train {

namespace fs = std::filesystem;

TextCodec TextCodec::bytes(int64_t vocab_size) {
  TextCodec c;
  c.vocab_size_ = vocab_size;
  c.bytes_ = vocab_size >= 256;
  c.source_ = c.bytes_ ? "bytes" : "ids only";
  return c;
}

TextCodec TextCodec::bpe(data::Tokenizer tokenizer, std::string source) {
  TextCodec c;
  c.vocab_size_ = tokenizer.vocab_size();
  c.tokenizer_ = std::make_shared<const data::Tokenizer>(std::move(tokenizer));
  c.source_ = std::move(source);
  return c;
}

TextCodec TextCodec::for_run(const Config& config, const std::string& run_dir) {
  const int64_t V = config.model.vocab_size;
  if (config.data.path.empty()) {
    // No dataset: the run's own copy (an SFT run writes the tokenizer it used), else the SFT
    // tokenizer the config names (before the trainer has written the copy), else bytes.
    const std::string copy = run_dir.empty() ? "" : run_dir + "/" + data::kDatasetTokenizerFile;
    if (!copy.empty() && fs::is_regular_file(copy)) {
      data::Tokenizer tok = data::load_tokenizer(copy);
      SF_CHECK(tok.vocab_size() <= V) << "tokenizer '" << copy << "' has " << tok.vocab_size()
                                      << " ids, more than the model's model.vocab_size = " << V;
      TextCodec c = bpe(std::move(tok), copy);
      c.vocab_size_ = V;
      return c;
    }
    if (config.data.sft.empty()) return bytes(V);
    TextCodec c = bpe(data::sft_tokenizer(config.data.tokenizer), config.data.tokenizer);
    c.vocab_size_ = V;
    return c;
  }
  std::vector<std::string> candidates;
  if (!run_dir.empty()) candidates.push_back(run_dir + "/" + data::kDatasetTokenizerFile);
  candidates.push_back(config.data.path + "/" + data::kDatasetTokenizerFile);
  for (const std::string& path : candidates) {
    if (!fs::is_regular_file(path)) continue;
    data::Tokenizer tok = data::load_tokenizer(path);
    SF_CHECK(tok.vocab_size() <= V)
        << "tokenizer '" << path << "' has " << tok.vocab_size()
        << " ids, more than the model's model.vocab_size = " << V;
    if (fs::is_regular_file(config.data.path + "/manifest.json")) {
      const std::string want = data::read_manifest(config.data.path).tokenizer_hash;
      const std::string got = "fnv1a64:" + data::hex64(data::tokenizer_hash(tok));
      SF_CHECK(want == got) << "tokenizer '" << path << "' (" << got
                            << ") is not the one the dataset '" << config.data.path
                            << "' was made with (" << want << ")";
    }
    TextCodec c = bpe(std::move(tok), path);
    c.vocab_size_ = V;
    return c;
  }
  // A dataset made before datasets carried their tokenizer: ids still decode as <id>.
  TextCodec c = bytes(0);
  c.vocab_size_ = V;
  std::string where = "ids only (no ";
  where += data::kDatasetTokenizerFile;
  where += " in ";
  if (!run_dir.empty()) where += "the run directory '" + run_dir + "' or ";
  where += "the dataset '" + config.data.path + "'; `seekforge data tokenize` writes one)";
  c.source_ = std::move(where);
  return c;
}

TextCodec TextCodec::for_checkpoint(const Config& config, const std::string& checkpoint_dir) {
  fs::path dir(checkpoint_dir);
  if (!dir.has_filename()) dir = dir.parent_path();  // a trailing slash
  return for_run(config, dir.parent_path().string());
}

std::vector<int64_t> TextCodec::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  if (tokenizer_) {
    for (uint32_t id : tokenizer_->encode_with_special(text)) ids.push_back(id);
    return ids;
  }
  SF_CHECK(bytes_) << "this model's tokens have no text form (" << source_
                               << ", vocab_size " << vocab_size_ << "): give token ids instead";
  for (unsigned char ch : text) ids.push_back(ch);
  return ids;
}

std::string TextCodec::token_bytes(int64_t id) const {
  if (tokenizer_ && id >= 0) {
    const auto& tokens = tokenizer_->tokens();  // specials' ids may lie past the BPE tokens
    if (size_t(id) < tokens.size() && !tokens[size_t(id)].empty()) return tokens[size_t(id)];
    for (const auto& s : tokenizer_->special_tokens())
      if (s.id == uint64_t(id)) return s.content;
  } else if (bytes_ && id >= 0 && id < 256) {
    return std::string(1, static_cast<char>(id));
  }
  std::string shown = std::to_string(id);
  shown.insert(shown.begin(), '<');
  shown.push_back('>');
  return shown;
}

std::string TextCodec::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) out += token_bytes(id);
  return out;
}

std::string TextCodec::describe() const {
  if (!tokenizer_) return source_;
  return "BPE (" + std::to_string(tokenizer_->vocab_size()) + " ids) from " + source_;
}

int64_t TextCodec::special_id(const std::string& role) const {
  return tokenizer_ ? tokenizer_->special_id(role) : -1;
}

}  // namespace seekforge::train
