// Tokenizer files: see tokenizer_io.h.
#include "data/tokenizer_io.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "core/error.h"
#include "data/byte_table.h"
#include "data/file_io.h"

namespace seekforge::data {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// Line (1-based) of byte offset `at` in `text`.
size_t line_of(const std::string& text, size_t at) {
  at = std::min(at, text.size());
  return 1 + size_t(std::count(text.begin(), text.begin() + at, '\n'));
}

json parse_json_file(const std::string& path, const char* what) {
  const std::string text = read_file(path);
  SF_CHECK(!text.empty()) << what << " '" << path << "' is empty";
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    SF_FAIL() << what << " '" << path << "': not valid JSON at line " << line_of(text, e.byte)
              << " (byte " << e.byte << "): " << e.what();
  }
  return {};
}

// The value of j[key] with the expected JSON type, or an error naming the field.
const json& field(const json& j, const char* key, json::value_t type, const std::string& label,
                  const std::string& where = "") {
  SF_CHECK(j.is_object()) << label << ": " << (where.empty() ? "the top level" : where)
                          << " is not a JSON object";
  auto it = j.find(key);
  const std::string name = where.empty() ? key : where + "." + key;
  SF_CHECK(it != j.end()) << label << ": missing field '" << name << "'";
  const bool ok = it->type() == type || (type == json::value_t::number_unsigned &&
                                         it->is_number_integer() && it->get<int64_t>() >= 0);
  SF_CHECK(ok) << label << ": field '" << name << "' has the wrong type (" << it->type_name()
               << ")";
  return *it;
}

uint32_t id_value(const json& v, const std::string& label, const std::string& name) {
  SF_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() < (int64_t(1) << 31))
      << label << ": " << name << " must be a token id (a non-negative integer), got " << v.dump();
  return uint32_t(v.get<int64_t>());
}

std::string token_bytes(const std::string& s, const std::string& label, const std::string& name) {
  auto b = unicode_to_bytes(s);
  SF_CHECK(b.has_value() && !b->empty())
      << label << ": " << name << " '" << s << "' is not a byte-level token string";
  return *b;
}

Pretokenizer pattern_from_json(const json& p, const std::string& label) {
  SF_CHECK(p.is_object()) << label << ": field 'pattern' must be an object";
  if (p.contains("name")) {
    const json& n = field(p, "name", json::value_t::string, label, "pattern");
    return Pretokenizer::named(n.get<std::string>());
  }
  const json& r = field(p, "regex", json::value_t::string, label, "pattern");
  return Pretokenizer::from_regex(r.get<std::string>());
}

int64_t decode_base64_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool decode_base64(std::string_view s, std::string& out) {
  out.clear();
  if (s.empty() || s.size() % 4 != 0) return false;
  for (size_t i = 0; i < s.size(); i += 4) {
    int64_t v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s[i + k];
      if (c == '=' && i + 4 == s.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else {
        if (pad > 0) return false;
        v[k] = decode_base64_char(c);
        if (v[k] < 0) return false;
      }
    }
    const uint32_t w = uint32_t(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out.push_back(char(w >> 16));
    if (pad < 2) out.push_back(char((w >> 8) & 0xFF));
    if (pad < 1) out.push_back(char(w & 0xFF));
  }
  return true;
}

// The special tokens of the OpenAI encodings that use each pattern, at their usual ids.
std::vector<SpecialToken> openai_specials(const std::string& pattern, const std::string& label,
                                          const std::vector<std::string>& tokens) {
  auto free_id = [&](uint32_t id) { return id >= tokens.size() || tokens[id].empty(); };
  std::vector<SpecialToken> s;
  if (pattern == "gpt2") {
    const uint32_t id = free_id(50256) ? 50256 : uint32_t(tokens.size());
    s.push_back({id, "<|endoftext|>", "eos"});
  } else {
    const uint32_t eot = pattern == "cl100k" ? 100257 : 199999;
    const uint32_t fim = pattern == "cl100k" ? 100258 : 200000;
    const uint32_t im = pattern == "cl100k" ? 100264 : 200003;
    const uint32_t eop = pattern == "cl100k" ? 100276 : 200006;
    s = {{eot, "<|endoftext|>", "eos"},   {fim, "<|fim_prefix|>", ""},
         {fim + 1, "<|fim_middle|>", ""}, {fim + 2, "<|fim_suffix|>", ""},
         {im, "<|im_start|>", ""},        {im + 1, "<|im_end|>", ""},
         {im + 2, "<|im_sep|>", ""},      {eop, "<|endofprompt|>", ""}};
  }
  for (const SpecialToken& t : s)
    SF_CHECK(free_id(t.id)) << label << ": rank " << t.id << " is a token, but the " << pattern
                            << " encodings keep it for the special token " << t.content
                            << " (is this the right --pattern?)";
  return s;
}

// Merges equivalent to rank order: every split of every token into two tokens, ordered by the
// rank of the token, then of its parts.
std::vector<MergePair> merges_from_ranks(const Tokenizer& t) {
  std::vector<MergePair> merges;
  const auto& tokens = t.tokens();
  for (uint32_t id = 0; id < tokens.size(); ++id) {
    const std::string_view s = tokens[id];
    std::vector<MergePair> local;
    for (size_t k = 1; k < s.size(); ++k) {
      const int64_t a = t.token_id(s.substr(0, k)), b = t.token_id(s.substr(k));
      if (a >= 0 && b >= 0 && a < id && b < id) local.push_back({uint32_t(a), uint32_t(b)});
    }
    std::sort(local.begin(), local.end());
    merges.insert(merges.end(), local.begin(), local.end());
  }
  return merges;
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SF_CHECK(in.good()) << "cannot open '" << path << "'";
  std::ostringstream ss;
  ss << in.rdbuf();
  SF_CHECK(!in.bad()) << "cannot read '" << path << "'";
  return ss.str();
}

ojson tokenizer_to_json(const Tokenizer& t) {
  ojson j;
  j["format"] = kTokenizerFormat;
  j["version"] = kTokenizerVersion;
  j["mode"] = merge_mode_name(t.mode());
  j["pattern"] = t.pretokenizer().name().empty() ? ojson{{"regex", t.pretokenizer().regex()}}
                                                 : ojson{{"name", t.pretokenizer().name()}};
  j["vocab_size"] = t.vocab_size();
  ojson specials = ojson::array();
  for (const SpecialToken& s : t.special_tokens())
    specials.push_back({{"id", s.id}, {"content", s.content}, {"role", s.role}});
  j["special_tokens"] = std::move(specials);
  ojson tokens = ojson::array();
  for (const std::string& s : t.tokens())
    tokens.push_back(s.empty() ? ojson() : ojson(bytes_to_unicode(s)));
  j["tokens"] = std::move(tokens);
  ojson merges = ojson::array();
  for (const auto& [a, b] : t.merges()) merges.push_back({a, b});
  j["merges"] = std::move(merges);
  return j;
}

Tokenizer tokenizer_from_json(const json& j, const std::string& label) {
  const json& format = field(j, "format", json::value_t::string, label);
  SF_CHECK(format == kTokenizerFormat)
      << label << ": format is " << format.dump() << ", expected \"" << kTokenizerFormat << "\"";
  const json& version = field(j, "version", json::value_t::number_unsigned, label);
  SF_CHECK(version.get<int64_t>() == kTokenizerVersion)
      << label << ": unknown format version " << version.dump() << " (this reader knows "
      << kTokenizerVersion << ")";
  const std::string mode_s = field(j, "mode", json::value_t::string, label).get<std::string>();
  SF_CHECK(mode_s == "merges" || mode_s == "ranks")
      << label << ": mode must be \"merges\" or \"ranks\", got \"" << mode_s << "\"";
  const MergeMode mode = mode_s == "merges" ? MergeMode::merges : MergeMode::ranks;
  Pretokenizer pre = pattern_from_json(field(j, "pattern", json::value_t::object, label), label);

  const json& jt = field(j, "tokens", json::value_t::array, label);
  std::vector<std::string> tokens(jt.size());
  for (size_t i = 0; i < jt.size(); ++i) {
    if (jt[i].is_null()) continue;
    SF_CHECK(jt[i].is_string()) << label << ": tokens[" << i << "] must be a string or null";
    tokens[i] = token_bytes(jt[i].get<std::string>(), label, "tokens[" + std::to_string(i) + "]");
  }
  std::vector<MergePair> merges;
  for (const json& m : field(j, "merges", json::value_t::array, label)) {
    const std::string name = "merges[" + std::to_string(merges.size()) + "]";
    SF_CHECK(m.is_array() && m.size() == 2) << label << ": " << name << " must be [left, right]";
    merges.push_back({id_value(m[0], label, name), id_value(m[1], label, name)});
  }
  std::vector<SpecialToken> specials;
  for (const json& s : field(j, "special_tokens", json::value_t::array, label)) {
    const std::string name = "special_tokens[" + std::to_string(specials.size()) + "]";
    SpecialToken st;
    st.id = id_value(field(s, "id", json::value_t::number_unsigned, label, name), label, name);
    st.content = field(s, "content", json::value_t::string, label, name).get<std::string>();
    if (s.contains("role"))
      st.role = field(s, "role", json::value_t::string, label, name).get<std::string>();
    specials.push_back(std::move(st));
  }
  Tokenizer t(std::move(tokens), std::move(merges), mode, std::move(pre), std::move(specials),
              label);
  if (j.contains("vocab_size")) {
    SF_CHECK(j["vocab_size"].is_number_integer() &&
             j["vocab_size"].get<int64_t>() == t.vocab_size())
        << label << ": vocab_size " << j["vocab_size"].dump() << " does not match the tokens ("
        << t.vocab_size() << ")";
  }
  return t;
}

void save_tokenizer(const Tokenizer& t, const std::string& path) {
  write_file_atomic(path, tokenizer_to_json(t).dump(1) + "\n");
}

Tokenizer load_tokenizer(const std::string& path) {
  const std::string label = "tokenizer '" + path + "'";
  return tokenizer_from_json(parse_json_file(path, "tokenizer"), label);
}

uint64_t tokenizer_hash(const Tokenizer& t) {
  const std::string s = tokenizer_to_json(t).dump();
  return fnv1a64(s.data(), s.size());
}

Tokenizer import_tiktoken(const std::string& path, const std::string& pattern_name) {
  Pretokenizer pre = Pretokenizer::named(pattern_name);
  const std::string text = read_file(path);
  const std::string label = "tiktoken file '" + path + "'";
  SF_CHECK(!text.empty()) << label << " is empty";
  std::vector<std::string> tokens;
  std::unordered_map<std::string, size_t> line_of_token;
  std::string bytes;
  size_t line = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view l(text.data() + pos, end - pos);
    pos = end + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) continue;
    const size_t sp = l.find(' ');
    SF_CHECK(sp != std::string_view::npos && sp > 0 && sp + 1 < l.size())
        << label << ": line " << line << ": expected \"<base64 token> <rank>\", got '"
        << escape_bytes(l) << "'";
    const std::string_view b64 = l.substr(0, sp), rank_s = l.substr(sp + 1);
    SF_CHECK(decode_base64(b64, bytes) && !bytes.empty())
        << label << ": line " << line << ": '" << escape_bytes(b64) << "' is not base64";
    uint64_t rank = 0;
    for (char c : rank_s) {
      SF_CHECK(c >= '0' && c <= '9' && rank < (uint64_t(1) << 31))
          << label << ": line " << line << ": rank '" << escape_bytes(rank_s)
          << "' is not a non-negative integer below 2^31";
      rank = rank * 10 + uint64_t(c - '0');
    }
    SF_CHECK(rank < (uint64_t(1) << 31)) << label << ": line " << line << ": rank too large";
    if (rank >= tokens.size()) tokens.resize(rank + 1);
    SF_CHECK(tokens[rank].empty())
        << label << ": line " << line << ": rank " << rank << " appears twice";
    auto [it, fresh] = line_of_token.emplace(bytes, line);
    SF_CHECK(fresh) << label << ": line " << line << ": token '" << escape_bytes(bytes)
                    << "' already appeared on line " << it->second;
    tokens[rank] = bytes;
  }
  std::vector<SpecialToken> specials = openai_specials(pattern_name, label, tokens);
  return Tokenizer(std::move(tokens), {}, MergeMode::ranks, std::move(pre), std::move(specials),
                   label);
}

Tokenizer import_hf(const std::string& path) {
  const std::string label = "tokenizer.json '" + path + "'";
  const json j = parse_json_file(path, "tokenizer.json");
  const json& model = field(j, "model", json::value_t::object, label);
  if (model.contains("type")) {
    SF_CHECK(model["type"] == "BPE") << label << ": model.type is " << model["type"].dump()
                                     << "; only byte-level BPE is supported";
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    SF_CHECK(!model.contains(key) || model[key].is_null() || model[key] == "")
        << label << ": model." << key << " is set; byte-level BPE uses none";
  }

  // Pre-tokeniser -> pattern.
  Pretokenizer pre = Pretokenizer::named("gpt2");
  const json& pt = j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json();
  auto check_byte_level = [&](const json& b, bool want_regex) {
    SF_CHECK(!b.value("add_prefix_space", false))
        << label << ": pre_tokenizer ByteLevel.add_prefix_space = true is not supported";
    SF_CHECK(b.value("use_regex", true) == want_regex)
        << label << ": pre_tokenizer ByteLevel.use_regex must be "
        << (want_regex ? "true" : "false") << " here";
  };
  if (pt.is_object() && pt.value("type", "") == "ByteLevel") {
    check_byte_level(pt, true);
  } else if (pt.is_object() && pt.value("type", "") == "Sequence") {
    const json& seq = field(pt, "pretokenizers", json::value_t::array, label, "pre_tokenizer");
    SF_CHECK(seq.size() == 2 && seq[0].value("type", "") == "Split" &&
             seq[1].value("type", "") == "ByteLevel")
        << label << ": pre_tokenizer Sequence must be [Split, ByteLevel] (one regex); this one is "
        << pt.dump().substr(0, 200);
    const json& split = seq[0];
    SF_CHECK(split.value("behavior", "") == "Isolated" && !split.value("invert", false))
        << label << ": pre_tokenizer Split must have behavior Isolated and invert false";
    const json& pat = field(split, "pattern", json::value_t::object, label, "pre_tokenizer.Split");
    const json& re =
        field(pat, "Regex", json::value_t::string, label, "pre_tokenizer.Split.pattern");
    check_byte_level(seq[1], false);
    pre = Pretokenizer::from_regex(re.get<std::string>());
  } else {
    SF_FAIL() << label << ": unsupported pre_tokenizer " << pt.dump().substr(0, 200)
              << " (expected ByteLevel, or Sequence [Split, ByteLevel])";
  }

  // Added tokens are special; when the vocabulary lists one too, the added entry wins.
  std::vector<SpecialToken> specials;
  std::map<uint32_t, bool> special_ids;
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    const json& added = field(j, "added_tokens", json::value_t::array, label);
    for (size_t i = 0; i < added.size(); ++i) {
      const std::string name = "added_tokens[" + std::to_string(i) + "]";
      SpecialToken s;
      s.id =
          id_value(field(added[i], "id", json::value_t::number_unsigned, label, name), label, name);
      s.content = field(added[i], "content", json::value_t::string, label, name).get<std::string>();
      // tokenizer.json has no roles; ours and <|endoftext|> are known by their content.
      for (const SpecialToken& d : default_special_tokens(0))
        if (d.content == s.content) s.role = d.role;
      if (s.content == "<|endoftext|>") s.role = "eos";
      special_ids[s.id] = true;
      specials.push_back(std::move(s));
    }
  }
  const json& vocab = field(model, "vocab", json::value_t::object, label, "model");
  std::vector<std::string> tokens;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const uint32_t id = id_value(it.value(), label, "model.vocab[\"" + it.key() + "\"]");
    if (special_ids.count(id)) continue;
    if (id >= tokens.size()) tokens.resize(id + 1);
    SF_CHECK(tokens[id].empty()) << label << ": id " << id << " appears twice in model.vocab";
    tokens[id] = token_bytes(it.key(), label, "model.vocab key");
  }
  std::vector<MergePair> merges;
  const json& jm = field(model, "merges", json::value_t::array, label, "model");
  merges.reserve(jm.size());
  auto lookup = [&](const std::string& s, size_t i) {
    auto it = vocab.find(s);
    SF_CHECK(it != vocab.end()) << label << ": model.merges[" << i << "] names '" << s
                                << "', which is not in model.vocab";
    return id_value(*it, label, "model.vocab[\"" + s + "\"]");
  };
  for (size_t i = 0; i < jm.size(); ++i) {
    std::string a, b;
    if (jm[i].is_string()) {
      const std::string s = jm[i].get<std::string>();
      const size_t sp = s.find(' ');
      SF_CHECK(sp != std::string::npos && sp > 0 && sp + 1 < s.size() &&
               s.find(' ', sp + 1) == std::string::npos)
          << label << ": model.merges[" << i << "] '" << s << "' is not \"left right\"";
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else {
      SF_CHECK(jm[i].is_array() && jm[i].size() == 2 && jm[i][0].is_string() &&
               jm[i][1].is_string())
          << label << ": model.merges[" << i << "] must be \"left right\" or [left, right]";
      a = jm[i][0].get<std::string>();
      b = jm[i][1].get<std::string>();
    }
    merges.push_back({lookup(a, i), lookup(b, i)});
  }
  return Tokenizer(std::move(tokens), std::move(merges), MergeMode::merges, std::move(pre),
                   std::move(specials), label);
}

ojson tokenizer_to_hf_json(const Tokenizer& t) {
  ojson byte_level = {{"type", "ByteLevel"},
                      {"add_prefix_space", false},
                      {"trim_offsets", true},
                      {"use_regex", true}};
  ojson pre;
  if (t.pretokenizer().name() == "gpt2") {
    pre = byte_level;
  } else {
    ojson bl = byte_level;
    bl["use_regex"] = false;
    pre = {{"type", "Sequence"},
           {"pretokenizers", ojson::array({ojson{{"type", "Split"},
                                                 {"pattern", {{"Regex", t.pretokenizer().regex()}}},
                                                 {"behavior", "Isolated"},
                                                 {"invert", false}},
                                           bl})}};
  }
  ojson added = ojson::array();
  for (const SpecialToken& s : t.special_tokens())
    added.push_back({{"id", s.id},
                     {"content", s.content},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  ojson vocab = ojson::object();
  const auto& tokens = t.tokens();
  for (uint32_t id = 0; id < tokens.size(); ++id)
    if (!tokens[id].empty()) vocab[bytes_to_unicode(tokens[id])] = id;
  const std::vector<MergePair> merges =
      t.mode() == MergeMode::merges ? t.merges() : merges_from_ranks(t);
  ojson jm = ojson::array();
  for (const auto& [a, b] : merges)
    jm.push_back(ojson::array({bytes_to_unicode(tokens[a]), bytes_to_unicode(tokens[b])}));
  ojson j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = std::move(added);
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = std::move(pre);
  j["post_processor"] = {{"type", "ByteLevel"},
                         {"add_prefix_space", false},
                         {"trim_offsets", false},
                         {"use_regex", false}};
  j["decoder"] = {{"type", "ByteLevel"},
                  {"add_prefix_space", false},
                  {"trim_offsets", true},
                  {"use_regex", true}};
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", t.mode() == MergeMode::ranks},
                {"vocab", std::move(vocab)},
                {"merges", std::move(jm)}};
  return j;
}

void export_hf(const Tokenizer& t, const std::string& path) {
  write_file_atomic(path, tokenizer_to_hf_json(t).dump(1) + "\n");
}

}  // namespace seekforge::data
