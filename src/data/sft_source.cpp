// The supervised fine-tuning source: see sft_source.h.
#include "data/sft_source.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <set>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "data/chat.h"
#include "data/file_io.h"
#include "data/pretokenize.h"
#include "data/source_common.h"
#include "data/text_hash.h"
#include "data/tokenizer_io.h"

namespace seekforge::data {

using nlohmann::json;

Tokenizer sft_tokenizer(const std::string& name_or_path) {
  if (name_or_path == kByteChatTokenizerName) return byte_chat_tokenizer();
  SF_CHECK(std::filesystem::is_regular_file(name_or_path))
      << "data.tokenizer = '" << name_or_path << "': no such file (give \""
      << kByteChatTokenizerName << "\" or the path of a tokenizer.json in seekforge's format)";
  Tokenizer tok = load_tokenizer(name_or_path);
  try {
    chat_tokens(tok);
  } catch (const Error& e) {
    SF_FAIL() << "data.tokenizer = '" << name_or_path << "' cannot be used for SFT: " << e.what();
  }
  return tok;
}

namespace {

bool spaces_only(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
}

// In val when the mixed hash of the prompt falls in the first val_fraction of its range.
bool in_val(std::string_view prompt, double val_fraction) {
  const uint64_t h = mix64(fnv1a64(prompt.data(), prompt.size()));
  return double(h >> 11) * 0x1.0p-53 < val_fraction;
}

class SftSource final : public TokenSource {
 public:
  SftSource(const std::string& path, const std::string& tokenizer_name, double val_fraction,
            int64_t vocab, uint64_t seed, Split split)
      : path_(path),
        tokenizer_name_(tokenizer_name),
        tokenizer_(sft_tokenizer(tokenizer_name)),
        val_fraction_(val_fraction),
        seed_(seed),
        split_(split) {
    SF_CHECK(tokenizer_.vocab_size() <= vocab)
        << "data.tokenizer = '" << tokenizer_name << "' has " << tokenizer_.vocab_size()
        << " ids: model.vocab_size = " << vocab << " must be >= " << tokenizer_.vocab_size();
    SF_CHECK(val_fraction >= 0.0 && val_fraction < 1.0)
        << "data.val_fraction = " << val_fraction << ": must be in [0, 1)";
    SF_CHECK(std::filesystem::is_regular_file(path)) << "data.sft = '" << path << "': no such file";
    const std::string text = read_file(path);
    file_size_ = text.size();
    file_hash_ = fnv1a64(text.data(), text.size());
    tokenizer_hash_ = tokenizer_hash(tokenizer_);
    const int64_t pad = tokenizer_.special_id("pad");
    pad_ = pad >= 0 ? pad : chat_tokens(tokenizer_).eos;
    read_examples(text);
    SF_CHECK(n_total_ > 0) << "data.sft = '" << path
                           << "': no examples (the file is empty or holds only blank lines)";
    SF_CHECK(!prompt_len_.empty())
        << "data.sft = '" << path << "': the " << split_name(split) << " split holds none of the "
        << n_total_ << " examples (data.val_fraction = " << val_fraction
        << " puts an example in val by a hash of its prompt"
        << (split == Split::val ? "; raise it, or set train.eval_every = 0)" : "; lower it)");
  }

  Batch next(int64_t batch_size, int64_t seq_len) override {
    check_shape(batch_size, seq_len, "sft");
    if (seq_len != counted_for_) count_truncated(seq_len);
    const uint64_t n = prompt_len_.size();
    std::vector<size_t> chosen(static_cast<size_t>(batch_size));
    int64_t width = 1;
    for (int64_t b = 0; b < batch_size; ++b) {
      const uint64_t i = counter_ * uint64_t(batch_size) + uint64_t(b);
      chosen[size_t(b)] = epoch_order(i / n)[i % n];
      width = std::max(width, std::min(length(chosen[size_t(b)]) - 1, seq_len));
    }
    Batch batch;
    batch.input_ids = empty({batch_size, width}, DType::i64);
    batch.labels = empty({batch_size, width}, DType::i64);
    batch.attention_mask = empty({batch_size, width}, DType::u8);
    int64_t* in = batch.input_ids.data<int64_t>();
    int64_t* lab = batch.labels.data<int64_t>();
    uint8_t* mask = batch.attention_mask.data<uint8_t>();
    for (int64_t b = 0; b < batch_size; ++b) {
      const size_t e = chosen[size_t(b)];
      const int64_t* ids = ids_.data() + offsets_[e];
      const int64_t used = std::min(length(e) - 1, width);  // real positions of this row
      const int64_t prompt = prompt_len_[e];
      for (int64_t t = 0; t < width; ++t) {
        const bool real = t < used;
        in[b * width + t] = real ? ids[t] : pad_;
        // Position t predicts ids[t + 1]: a response token when t + 1 >= the prompt's length.
        lab[b * width + t] = real && t + 1 >= prompt ? ids[t + 1] : kIgnoreLabel;
        mask[b * width + t] = real ? 1 : 0;
      }
    }
    ++counter_;
    return batch;
  }

  json state() const override {
    json s = identity();
    s["counter"] = counter_;
    return s;
  }
  void set_state(const json& s) override { counter_ = verify_state(s, identity(), describe()); }

  std::string describe() const override {
    std::string d = "SFT examples '" + path_ + "' (" + std::to_string(prompt_len_.size()) + " of " +
                    std::to_string(n_total_) + " in the " + split_name(split_) + " split, " +
                    tokenizer_name_ + " tokenizer of " + std::to_string(tokenizer_.vocab_size()) +
                    " ids";
    if (counted_for_ >= 0 && truncated_ > 0)
      d += ", " + std::to_string(truncated_) +
           " cut to train.seq_len + 1 = " + std::to_string(counted_for_ + 1) + " ids";
    return d + "), " + split_name(split_) + " split, seed " + std::to_string(seed_) + ", batch " +
           std::to_string(counter_);
  }

 private:
  int64_t length(size_t e) const { return offsets_[e + 1] - offsets_[e]; }

  void read_examples(const std::string& text) {
    offsets_.push_back(0);
    int64_t line_no = 0;
    for (size_t begin = 0; begin < text.size();) {
      size_t end = text.find('\n', begin);
      if (end == std::string::npos) end = text.size();
      std::string_view line(text.data() + begin, end - begin);
      begin = end + 1;
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (spaces_only(line)) continue;
      const std::string at = path_ + ":" + std::to_string(line_no) + ": ";
      // Checked on the raw bytes: the fields' text is inside them, and the parser's own message
      // for a bad byte does not say that the data is not UTF-8.
      const size_t valid = valid_utf8_prefix(line);
      SF_CHECK(valid == line.size()) << at << "invalid UTF-8 at byte " << valid + 1
                                     << " of the line (prompts and responses must be UTF-8 text)";
      json j;
      try {
        j = json::parse(line);
      } catch (const json::parse_error& e) {
        SF_FAIL() << at << "not JSON: " << e.what();
      }
      SF_CHECK(j.is_object()) << at << "expected a JSON object {\"prompt\": ..., \"response\": ...}"
                              << ", got " << j.type_name();
      for (const char* field : {"prompt", "response"}) {
        SF_CHECK(j.contains(field)) << at << "\"" << field << "\" is missing";
        SF_CHECK(j[field].is_string())
            << at << "\"" << field << "\" must be a string, got " << j[field].type_name();
      }
      ++n_total_;
      const std::string& prompt = j["prompt"].get_ref<const std::string&>();
      if (in_val(prompt, val_fraction_) != (split_ == Split::val)) continue;
      const std::vector<int64_t> p = chat_prompt_ids(tokenizer_, prompt);
      const std::vector<int64_t> r =
          chat_response_ids(tokenizer_, j["response"].get_ref<const std::string&>());
      ids_.insert(ids_.end(), p.begin(), p.end());
      ids_.insert(ids_.end(), r.begin(), r.end());
      offsets_.push_back(int64_t(ids_.size()));
      prompt_len_.push_back(int64_t(p.size()));
    }
  }

  // Examples of more than seq_len + 1 ids lose their end; warned about once per process for a
  // file, split and seq_len (evaluation builds a fresh val source every time).
  void count_truncated(int64_t seq_len) {
    truncated_ = 0;
    int64_t no_response = 0;
    for (size_t e = 0; e < prompt_len_.size(); ++e) {
      if (length(e) <= seq_len + 1) continue;
      ++truncated_;
      if (prompt_len_[e] > seq_len) ++no_response;  // no target of the row is a response token
    }
    counted_for_ = seq_len;
    if (truncated_ == 0) return;
    static std::mutex mu;
    static std::set<std::string> warned;
    const std::string key = path_ + "\n" + split_name(split_) + "\n" + std::to_string(seq_len);
    std::lock_guard<std::mutex> lock(mu);
    if (!warned.insert(key).second) return;
    std::fprintf(stderr,
                 "warning: data.sft = '%s': %lld of the %zu %s examples are longer than "
                 "train.seq_len + 1 = %lld ids and are cut to it (%lld keep no response token)\n",
                 path_.c_str(), static_cast<long long>(truncated_), prompt_len_.size(),
                 split_name(split_), static_cast<long long>(seq_len + 1),
                 static_cast<long long>(no_response));
  }

  // The example order of epoch e: a Fisher-Yates shuffle from draws keyed (seed, split, e).
  const std::vector<size_t>& epoch_order(uint64_t e) {
    if (e == order_epoch_) return order_;
    order_.resize(prompt_len_.size());
    std::iota(order_.begin(), order_.end(), size_t{0});
    RowDraws draws(seed_, split_, e, RowDraws::kBatchRow);
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[draws.below(i)]);
    order_epoch_ = e;
    return order_;
  }

  json identity() const {
    return {{"kind", "sft"},
            {"split", split_name(split_)},
            {"seed", seed_},
            {"file_size", file_size_},
            {"file_hash", hex64(file_hash_)},
            {"tokenizer_hash", hex64(tokenizer_hash_)},
            {"val_fraction", val_fraction_}};
  }

  std::string path_, tokenizer_name_;
  Tokenizer tokenizer_;
  double val_fraction_;
  uint64_t seed_;
  Split split_;
  uint64_t counter_ = 0;
  uint64_t file_size_ = 0, file_hash_ = 0, tokenizer_hash_ = 0;
  int64_t pad_ = 0;
  int64_t n_total_ = 0;              // examples of the file, both splits
  std::vector<int64_t> ids_;         // this split's examples, one after the other
  std::vector<int64_t> offsets_;     // example e is ids_[offsets_[e], offsets_[e + 1])
  std::vector<int64_t> prompt_len_;  // ids of example e that are its prompt
  std::vector<size_t> order_;
  uint64_t order_epoch_ = ~uint64_t(0);
  int64_t counted_for_ = -1, truncated_ = 0;
};

}  // namespace

std::unique_ptr<TokenSource> make_sft_source(const std::string& path,
                                             const std::string& tokenizer_name, double val_fraction,
                                             int64_t vocab_size, uint64_t seed, Split split) {
  return std::make_unique<SftSource>(path, tokenizer_name, val_fraction, vocab_size, seed, split);
}

}  // namespace seekforge::data
