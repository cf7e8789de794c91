// The pieces both run reports are made of: metrics.jsonl lines, checkpoints, the HTML page.
#include "viz/report_parts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "viz/canvas.h"
#include "viz/tokens.h"

namespace seekforge::viz::report_parts {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string base64(const std::vector<uint8_t>& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t n = (uint32_t(bytes[i]) << 16) |
                       (i + 1 < bytes.size() ? uint32_t(bytes[i + 1]) << 8 : 0) |
                       (i + 2 < bytes.size() ? uint32_t(bytes[i + 2]) : 0);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

}  // namespace

size_t read_metrics_lines(
    const std::string& path,
    const std::function<void(const nlohmann::json& line, const std::string& where)>& each,
    std::vector<std::string>& warnings) {
  std::ifstream in(path, std::ios::binary);
  SF_CHECK(in.is_open()) << "cannot open metrics file '" << path << "'";
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  SF_CHECK(!in.bad()) << "cannot read metrics file '" << path << "'";
  size_t last = lines.size();
  while (last > 0 && lines[last - 1].find_first_not_of(" \t\r") == std::string::npos) --last;

  for (size_t i = 0; i < last; ++i) {
    const std::string& text = lines[i];
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(i + 1);
    json j;
    try {
      j = json::parse(text);
    } catch (const json::parse_error& e) {
      if (i + 1 == last) {  // a crash mid-write tears the last line only
        warnings.push_back(where + ": skipped the incomplete last line (" +
                           std::to_string(text.size()) + " bytes; the run stopped mid-write?)");
        break;
      }
      SF_FAIL() << where << ": not a JSON line: " << e.what();
    }
    SF_CHECK(j.is_object()) << where << ": expected a JSON object, got " << j.type_name();
    SF_CHECK(j.contains("step") && j["step"].is_number_integer())
        << where << ": expected an integer \"step\"";
    each(j, where);
  }
  return last;
}

double number(const json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::numeric_limits<double>::quiet_NaN();
  SF_CHECK(it->is_number()) << where << ": \"" << key << "\" must be a number, got " << it->dump();
  return it->get<double>();
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds)) return "n/a";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  char buf[64];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh %02lldm %02llds", (long long)(s / 3600),
                  (long long)(s / 60 % 60), (long long)(s % 60));
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%lldm %02llds", (long long)(s / 60), (long long)(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  return buf;
}

std::vector<int64_t> checkpoint_steps(const std::string& run_dir) {
  std::vector<int64_t> steps;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) != 0 || !e.is_directory()) continue;
    if (!fs::exists(e.path() / "state.json")) continue;
    const std::string digits = name.substr(5);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    steps.push_back(std::stoll(digits));
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

std::string checkpoint_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%06lld", static_cast<long long>(step));
  return name;
}

std::unique_ptr<Canvas> drawn(const LineChart& ch) {
  auto c = std::make_unique<Canvas>(kChartWidth, kChartHeight);
  draw(*c, ch);
  return c;
}

void SummaryTable::row(const std::string& key, const std::string& value) {
  rows_ << "<tr><th>" << html_escape(key) << "</th><td>" << html_escape(value) << "</td></tr>\n";
}

std::string report_dir(const std::string& run_dir, const std::string& out_dir_arg) {
  const std::string out_dir = out_dir_arg.empty() ? run_dir : out_dir_arg;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  SF_CHECK(!ec && fs::is_directory(out_dir))
      << "cannot create report directory '" << out_dir << "': " << ec.message();
  return out_dir;
}

ReportResult write_page(const std::string& out_dir, const std::string& title,
                        const std::string& heading, const SummaryTable& table,
                        const std::vector<ReportFigure>& figures,
                        const std::vector<std::string>& warnings) {
  ReportResult result;
  result.warnings = warnings;
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<title>" << html_escape(title) << "</title>\n"
       << "<style>\nbody{font-family:\"DejaVu Sans\",Verdana,sans-serif;color:#222;max-width:760px;"
          "margin:24px auto;padding:0 12px;line-height:1.4}\n"
          "table{border-collapse:collapse;margin:12px 0}\n"
          "th,td{text-align:left;padding:3px 12px 3px 0;border-bottom:1px solid #e4e4e4;"
          "vertical-align:top}\nth{font-weight:normal;color:#666}\n"
          "img{width:100%;max-width:720px;height:auto;display:block}\n"
          "figure{margin:8px 0 28px 0}\nfigcaption{color:#555;font-size:90%}\n"
          ".warn{color:#a33}\n</style>\n</head>\n<body>\n"
       << "<h1>" << html_escape(heading) << "</h1>\n<table>\n";
  html << table.html();
  html << "</table>\n";
  if (!warnings.empty()) {
    html << "<ul class=\"warn\">\n";
    for (const auto& w : warnings) html << "<li>" << html_escape(w) << "</li>\n";
    html << "</ul>\n";
  }
  for (const ReportFigure& f : figures) {
    const std::string base = out_dir + "/" + f.name;
    const std::vector<uint8_t> png = f.canvas->png();
    write_file_atomically(base + ".png", std::string(png.begin(), png.end()));
    write_file_atomically(base + ".svg", f.canvas->svg());
    result.files.push_back(base + ".png");
    result.files.push_back(base + ".svg");
    html << "<h2>" << html_escape(f.heading) << "</h2>\n<figure>\n<img alt=\""
         << html_escape(f.heading) << "\" src=\"data:image/png;base64," << base64(png)
         << "\">\n<figcaption>" << html_escape(f.caption) << " (" << html_escape(f.name) << ".png, "
         << html_escape(f.name) << ".svg)</figcaption>\n</figure>\n";
  }
  html << "</body>\n</html>\n";
  result.html = out_dir + "/report.html";
  write_file_atomically(result.html, html.str());
  result.files.push_back(result.html);
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  return result;
}

}  // namespace seekforge::viz::report_parts
