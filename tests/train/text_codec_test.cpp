// Tests of the text codec: bytes for byte-level models, ids only below 256, the dataset's BPE
// tokenizer (found in the run directory first, then the dataset) checked against the manifest's
// hash, a run without a dataset (an SFT run's copy, else its data.tokenizer), and the errors
// that name the file.
#include "train/text_codec.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "data/bpe_train.h"
#include "data/chat.h"
#include "data/dataset_writer.h"
#include "data/temp_dir.h"
#include "data/tokenizer_io.h"

namespace seekforge::train {
namespace {

namespace fs = std::filesystem;
using seekforge::data::testing::expect_error;
using seekforge::data::testing::TempDir;
using seekforge::data::testing::write_bytes;

data::Tokenizer small_tokenizer(const std::string& text) {
  data::TrainOptions opt;
  opt.vocab_size = 300;
  return data::train_bpe({text}, opt);
}

// A dataset directory tokenized with a tokenizer trained on `text`.
std::string make_dataset(const TempDir& dir, const std::string& text) {
  write_bytes(dir.file("in.txt"), text);
  const data::Tokenizer tok = small_tokenizer(text);
  data::TokenizeOptions opt;
  opt.val_fraction = 0;
  data::tokenize_corpus(dir.file("in.txt"), tok, "small", dir.file("ds"), opt);
  return dir.file("ds");
}

TEST(TextCodec, BytesAndIdsOnly) {
  const TextCodec b = TextCodec::bytes(300);
  EXPECT_TRUE(b.can_encode());
  EXPECT_EQ(b.encode("hé"), (std::vector<int64_t>{'h', 0xc3, 0xa9}));
  EXPECT_EQ(b.decode({'h', 0xc3, 0xa9, 299}), "hé<299>");
  EXPECT_EQ(b.special_id("eos"), -1);
  const TextCodec ids = TextCodec::bytes(32);
  EXPECT_FALSE(ids.can_encode());
  EXPECT_EQ(ids.decode({3, 31}), "<3><31>");
  expect_error([&] { ids.encode("x"); }, {"no text form", "vocab_size 32"});
}

TEST(TextCodec, DatasetTokenizerRoundTripsAndRunCopyComesFirst) {
  TempDir dir;
  const std::string text = "the quick brown fox jumps over the lazy dog, the end. ";
  Config c;
  c.model.vocab_size = 320;
  c.data.path = make_dataset(dir, text + text);
  ASSERT_TRUE(fs::is_regular_file(c.data.path + "/tokenizer.json"));
  const TextCodec codec = TextCodec::for_run(c, "");
  EXPECT_NE(codec.describe().find("BPE"), std::string::npos) << codec.describe();
  const std::vector<int64_t> ids = codec.encode("the lazy fox<|eos|>");
  EXPECT_LT(ids.size(), std::string("the lazy fox").size());  // merges apply
  EXPECT_EQ(ids.back(), codec.special_id("eos"));
  EXPECT_EQ(codec.decode(ids), "the lazy fox<|eos|>");

  // A run directory's copy is used first: a checkpoint's run is its parent directory.
  fs::create_directories(dir.file("run/step-000010"));
  fs::copy_file(c.data.path + "/tokenizer.json", dir.file("run/tokenizer.json"));
  const TextCodec from_run = TextCodec::for_checkpoint(c, dir.file("run/step-000010"));
  EXPECT_NE(from_run.describe().find(dir.file("run/tokenizer.json")), std::string::npos)
      << from_run.describe();
  EXPECT_EQ(from_run.encode("the lazy fox"), codec.encode("the lazy fox"));
}

TEST(TextCodec, MismatchesAndMissingTokenizersAreNamed) {
  TempDir dir;
  Config c;
  c.model.vocab_size = 320;
  c.data.path = make_dataset(dir, "aaaa bbbb aaaa bbbb cccc dddd");
  // A run copy that is not the dataset's tokenizer.
  fs::create_directories(dir.file("run"));
  data::save_tokenizer(small_tokenizer("zzzz yyyy zzzz yyyy xxxx"), dir.file("run/tokenizer.json"));
  expect_error([&] { TextCodec::for_run(c, dir.file("run")); },
               {dir.file("run/tokenizer.json"), "is not the one the dataset", c.data.path});
  // More ids than the model has.
  Config small = c;
  small.model.vocab_size = 256;
  expect_error([&] { TextCodec::for_run(small, ""); }, {"more than the model's", "256"});
  // An old dataset without its tokenizer: ids only, and encode says where it looked.
  fs::remove(c.data.path + "/tokenizer.json");
  const TextCodec none = TextCodec::for_run(c, "");
  EXPECT_FALSE(none.can_encode());
  EXPECT_EQ(none.decode({5}), "<5>");
  expect_error([&] { none.encode("x"); }, {"no tokenizer.json", c.data.path, "data tokenize"});
}

TEST(TextCodec, RunWithoutADatasetUsesItsCopyThenTheSftTokenizer) {
  TempDir dir;
  Config c;
  c.model.vocab_size = 300;
  c.data.synthetic = "random";
  fs::create_directories(dir.file("run"));
  EXPECT_EQ(TextCodec::for_run(c, dir.file("run")).describe(), "bytes");
  // What an SFT run writes: the byte chat tokenizer, whose specials encode to single ids.
  data::save_tokenizer(data::byte_chat_tokenizer(), dir.file("run/tokenizer.json"));
  const TextCodec copy = TextCodec::for_checkpoint(c, dir.file("run/step-000003/"));
  ASSERT_NE(copy.tokenizer(), nullptr);
  EXPECT_NE(copy.describe().find(dir.file("run/tokenizer.json")), std::string::npos);
  EXPECT_EQ(copy.encode("1<answer>"), (std::vector<int64_t>{'1', 264}));
  EXPECT_EQ(copy.special_id("eos"), 257);
  EXPECT_EQ(copy.decode({'4', 265}), "4</answer>");
  // No copy yet (the dashboard reads the codec before the trainer writes it): data.tokenizer.
  Config sft = c;
  sft.data.synthetic = "";
  sft.data.sft = "add.jsonl";
  const TextCodec named = TextCodec::for_run(sft, dir.file("elsewhere"));
  ASSERT_NE(named.tokenizer(), nullptr);
  EXPECT_EQ(named.special_id("assistant"), 261);
  // A copy with more ids than the model has is refused naming it.
  Config small = c;
  small.model.vocab_size = 260;
  expect_error([&] { TextCodec::for_run(small, dir.file("run")); },
               {dir.file("run/tokenizer.json"), "266 ids", "model.vocab_size = 260"});
}

}  // namespace
}  // namespace seekforge::train
