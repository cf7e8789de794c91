// Text to token ids and back for a model: the BPE tokenizer its dataset was made with, the
// tokenizer of its SFT data (data.tokenizer, e.g. the byte chat tokenizer), or bytes (ids 0..255)
// for a byte-level model trained on a text file or synthetic data. Prompts, samples and the
// pictures of a model all go through it, so they read the ids the way training wrote them.
//
// Where the tokenizer comes from: a run directory holds a copy (the trainer writes
// RUN_DIR/tokenizer.json when its dataset or SFT data has one), else the dataset directory
// (data.path) does, else an SFT config's data.tokenizer. With a dataset, either copy is checked
// against the dataset manifest's tokenizer hash when the dataset is there.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/bpe.h"
#include "io/config.h"

namespace seekforge::train {

class TextCodec {
 public:
  // Ids are bytes when vocab_size >= 256; a smaller vocabulary has no text form (ids only).
  static TextCodec bytes(int64_t vocab_size);
  static TextCodec bpe(data::Tokenizer tokenizer, std::string source);
  // The codec of a run: run_dir (may be empty) is the directory of config.toml and the checkpoints.
  static TextCodec for_run(const Config& config, const std::string& run_dir);
  // The run directory of a checkpoint directory is its parent.
  static TextCodec for_checkpoint(const Config& config, const std::string& checkpoint_dir);

  bool can_encode() const { return tokenizer_ != nullptr || bytes_; }
  // Throws when the model has no text form (say --prompt-ids), or an id is past vocab_size.
  std::vector<int64_t> encode(const std::string& text) const;
  // The bytes of the ids (possibly a partial UTF-8 character at a token boundary); ids with no
  // bytes (outside a small vocabulary) are written "<id>".
  std::string decode(const std::vector<int64_t>& ids) const;
  std::string token_bytes(int64_t id) const;
  // "bytes", "ids only", or "BPE (N tokens) from PATH": for messages.
  std::string describe() const;
  // A special token's id by role ("eos", "bos", ...); -1 when none (and always for bytes).
  int64_t special_id(const std::string& role) const;
  // The BPE tokenizer, or null for bytes and ids only.
  const data::Tokenizer* tokenizer() const { return tokenizer_.get(); }

 private:
  TextCodec() = default;
  int64_t vocab_size_ = 0;
  bool bytes_ = false;  // ids 0..255 are bytes
  std::shared_ptr<const data::Tokenizer> tokenizer_;
  std::string source_;
};

}  // namespace seekforge::train
