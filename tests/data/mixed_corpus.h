// A mixed text corpus built at run time from what is on the machine and from seeded generators:
// C headers under /usr/include (source code), the licence texts under /usr/share/common-licenses
// (English prose), and generated English, Chinese, other scripts, numbers, whitespace runs and
// emoji. Used by the tokenizer parity test and benchmark; never written to the repository.
//
// The text is valid UTF-8 without U+FEFF (JavaScript's \s counts U+FEFF as space, PCRE2's does
// not, so the reference encoder and ours would split it differently).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "data/pretokenize.h"

namespace seekforge::data::testing {

inline void append_codepoint(std::string& s, char32_t cp) {
  if (cp < 0x80) {
    s.push_back(char(cp));
  } else if (cp < 0x800) {
    s.push_back(char(0xC0 | (cp >> 6)));
    s.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    s.push_back(char(0xE0 | (cp >> 12)));
    s.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    s.push_back(char(0xF0 | (cp >> 18)));
    s.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    s.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(char(0x80 | (cp & 0x3F)));
  }
}

// Text files under `dir` (sorted, so the corpus repeats), valid UTF-8, up to `limit` bytes.
inline std::string files_under(const std::string& dir, size_t limit) {
  std::vector<std::filesystem::path> paths;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(
           dir, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && it->file_size(ec) < 200000) paths.push_back(it->path());
  }
  std::sort(paths.begin(), paths.end());
  std::string out;
  for (const auto& p : paths) {
    if (out.size() >= limit) break;
    std::ifstream in(p, std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), {});
    if (s.empty() || s.find('\0') != std::string::npos || valid_utf8_prefix(s) != s.size() ||
        s.find("\xEF\xBB\xBF") != std::string::npos)
      continue;
    out += s;
  }
  return out;
}

inline std::string mixed_corpus(size_t header_bytes = 1200000) {
  std::mt19937_64 rng(20240601);
  auto pick = [&](size_t n) { return size_t(rng() % n); };
  std::string out = files_under("/usr/include", header_bytes);
  out += files_under("/usr/share/common-licenses", 300000);

  // English-like prose with contractions, capitals and punctuation.
  const char* words[] = {
      "the",      "of",          "and",    "to",    "in",     "model",     "is",       "that",
      "it",       "was",         "for",    "on",    "are",    "with",      "they",     "be",
      "at",       "one",         "have",   "this",  "from",   "by",        "hot",      "word",
      "but",      "what",        "some",   "we",    "can",    "out",       "other",    "were",
      "all",      "there",       "when",   "up",    "use",    "your",      "how",      "said",
      "an",       "each",        "she",    "which", "do",     "their",     "time",     "if",
      "will",     "way",         "about",  "many",  "then",   "them",      "write",    "would",
      "like",     "so",          "these",  "her",   "long",   "make",      "thing",    "see",
      "him",      "two",         "has",    "look",  "more",   "day",       "could",    "go",
      "come",     "did",         "number", "sound", "no",     "most",      "people",   "my",
      "over",     "know",        "water",  "than",  "call",   "first",     "who",      "may",
      "down",     "side",        "been",   "now",   "find",   "don't",     "it's",     "we'll",
      "they've",  "I'm",         "you're", "he'd",  "isn't",  "tokenizer", "expert",   "routing",
      "gradient", "transformer", "café",   "naïve", "résumé", "Zürich",    "coöperate"};
  std::string prose;
  while (prose.size() < 500000) {
    const size_t n = 4 + pick(14);
    for (size_t i = 0; i < n; ++i) {
      std::string w = words[pick(std::size(words))];
      if (i == 0 || pick(15) == 0) w[0] = char(std::toupper(static_cast<unsigned char>(w[0])));
      if (pick(40) == 0) std::transform(w.begin(), w.end(), w.begin(), ::toupper);
      prose += (i ? " " : "") + w;
      if (i + 1 < n && pick(9) == 0) prose += ",;:"[pick(3)];
      if (pick(60) == 0) prose += " (" + std::to_string(pick(2000)) + ")";
    }
    prose += ".!?"[pick(3)];
    if (pick(3) == 0) prose += pick(4) == 0 ? "\"" : "";
    prose += pick(5) == 0 ? "\n\n" : (pick(3) == 0 ? "\n" : " ");
  }
  out += prose;

  // Chinese from common characters and full-width punctuation, with some Latin and digits.
  const std::string hanzi =
      "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下"
      "过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两"
      "体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线"
      "内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并"
      "提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见"
      "计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七"
      "海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安"
      "场";
  std::vector<std::string> han;
  for (size_t i = 0; i < hanzi.size(); i += 3) han.push_back(hanzi.substr(i, 3));
  const char* cpunct[] = {"，", "。", "！", "？", "、", "：", "；",
                          "“",  "”",  "（", "）", "《", "》"};
  std::string zh;
  while (zh.size() < 350000) {
    const size_t n = 5 + pick(30);
    for (size_t i = 0; i < n; ++i) {
      zh += han[pick(han.size())];
      if (pick(12) == 0) zh += cpunct[pick(std::size(cpunct))];
      if (pick(80) == 0) zh += std::string(" ") + words[pick(std::size(words))] + " ";
      if (pick(70) == 0) zh += std::to_string(pick(100000));
    }
    zh += pick(2) ? "。" : "！\n";
  }
  out += zh;

  // Other scripts: Cyrillic, Greek, Arabic, Devanagari, Hiragana/Katakana, Hangul, accents.
  const std::pair<char32_t, char32_t> ranges[] = {
      {0x0410, 0x044F}, {0x0391, 0x03C9}, {0x0621, 0x064A}, {0x0905, 0x0939},
      {0x3041, 0x3096}, {0x30A1, 0x30FA}, {0xAC00, 0xD7A3}, {0x00C0, 0x00FF}};
  std::string other;
  while (other.size() < 200000) {
    const auto [lo, hi] = ranges[pick(std::size(ranges))];
    const size_t n = 1 + pick(10);
    for (size_t i = 0; i < n; ++i) append_codepoint(other, lo + char32_t(pick(hi - lo + 1)));
    other += pick(8) == 0 ? ".\n" : " ";
  }
  out += other;

  // Numbers: integers of every length, decimals, dates, versions, hex, phone-like groups.
  std::string nums;
  while (nums.size() < 200000) {
    switch (pick(7)) {
      case 0:
        nums += std::to_string(rng() >> pick(64));
        break;
      case 1:
        nums += std::to_string(pick(1000)) + "." + std::to_string(pick(100000));
        break;
      case 2:
        nums += std::to_string(1900 + pick(200)) + "-" + std::to_string(1 + pick(12)) + "-" +
                std::to_string(1 + pick(28));
        break;
      case 3: {
        std::ostringstream h;
        h << "0x" << std::hex << rng();
        nums += h.str();
        break;
      }
      case 4:
        nums += "+" + std::to_string(pick(100)) + " " + std::to_string(100 + pick(900)) + " " +
                std::to_string(1000000 + pick(9000000));
        break;
      case 5:
        nums += "v" + std::to_string(pick(10)) + "." + std::to_string(pick(30)) + "." +
                std::to_string(pick(300));
        break;
      default:
        nums += std::to_string(pick(100)) + "%";
        break;
    }
    nums += pick(6) == 0 ? "\n" : (pick(2) ? " " : ", ");
  }
  out += nums;

  // Whitespace runs: spaces, tabs, newlines and CRLF of every length between short words.
  std::string ws;
  const char* wchars[] = {" ", "\t", "\n", "\r\n", "  ", "\u00A0", "\u3000", "\u2003"};
  while (ws.size() < 200000) {
    const size_t n = pick(3) == 0 ? 1 + pick(40) : 1 + pick(4);
    for (size_t i = 0; i < n; ++i) ws += wchars[pick(pick(4) == 0 ? std::size(wchars) : 4)];
    ws += words[pick(std::size(words))];
    if (pick(10) == 0) ws += "{}();"[pick(5)];
  }
  out += ws;

  // Emoji: faces, objects, skin tones, ZWJ families, flags, keycaps and variation selectors.
  std::string emo;
  while (emo.size() < 200000) {
    switch (pick(6)) {
      case 0:
        append_codepoint(emo, 0x1F600 + char32_t(pick(0x50)));
        break;
      case 1:
        append_codepoint(emo, 0x1F300 + char32_t(pick(0x300)));
        break;
      case 2:
        append_codepoint(emo, 0x1F44B + char32_t(pick(8)));
        append_codepoint(emo, 0x1F3FB + char32_t(pick(5)));
        break;
      case 3:  // a ZWJ family
        for (int i = 0; i < 3; ++i) {
          append_codepoint(emo, 0x1F468 + char32_t(pick(4)));
          if (i < 2) append_codepoint(emo, 0x200D);
        }
        break;
      case 4:  // a flag: two regional indicators
        append_codepoint(emo, 0x1F1E6 + char32_t(pick(26)));
        append_codepoint(emo, 0x1F1E6 + char32_t(pick(26)));
        break;
      default:
        append_codepoint(emo, 0x2600 + char32_t(pick(0x100)));
        if (pick(2)) append_codepoint(emo, 0xFE0F);
        break;
    }
    if (pick(4) == 0) emo += pick(3) ? " " : (pick(2) ? "\n" : " ok ");
  }
  out += emo;
  return out;
}

}  // namespace seekforge::data::testing
