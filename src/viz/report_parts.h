// What the two run reports share (report.cpp for training runs, rl_report.cpp for RL runs):
// metrics.jsonl read line by line under one set of rules, numbers taken from a line, the
// checkpoints on disk, number formatting, and the page itself (each chart written as PNG and
// SVG, all of them embedded in one self-contained report.html).
//
// Internal to viz/: the reports' public API is report.h and rl_report.h.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "viz/chart.h"
#include "viz/report.h"

namespace seekforge::viz::report_parts {

// Calls each(line, where) for every non-blank line of a metrics.jsonl, in file order; `where`
// is "path:line". The rules: a line must be a JSON object with an integer "step", else it is an
// error naming path:line; the last line alone may be torn (a crash mid-write), and is then
// skipped with a warning appended to warnings. Returns the number of lines up to the last
// non-blank one, for messages about an empty file.
size_t read_metrics_lines(
    const std::string& path,
    const std::function<void(const nlohmann::json& line, const std::string& where)>& each,
    std::vector<std::string>& warnings);

// The number under key, NaN when absent or null; any other type is an error naming `where`.
double number(const nlohmann::json& line, const char* key, const std::string& where);

// "n/a" for NaN and inf, else the value with that many decimals.
std::string fixed(double v, int decimals);
// "42.0s", "3m 05s", "1h 02m 03s"; "n/a" for NaN.
std::string duration(double seconds);

// Steps of the complete checkpoints (step-NNNNNN/ holding state.json), ascending.
std::vector<int64_t> checkpoint_steps(const std::string& run_dir);
// "step-000123".
std::string checkpoint_name(int64_t step);

// A chart drawn at the default size.
std::unique_ptr<Canvas> drawn(const LineChart& chart);

// The summary table of a page: rows of a key and a value, both escaped.
class SummaryTable {
 public:
  void row(const std::string& key, const std::string& value);
  std::string html() const { return rows_.str(); }

 private:
  std::ostringstream rows_;
};

// Creates out_dir (run_dir when empty) and returns it; throws naming it when it cannot.
std::string report_dir(const std::string& run_dir, const std::string& out_dir);

// Writes each figure as out_dir/NAME.png and .svg, then out_dir/report.html: the heading, the
// table, the warnings, and every figure embedded as a PNG data: URI. Warnings also go to
// stderr. The result lists every file written, report.html last.
ReportResult write_page(const std::string& out_dir, const std::string& title,
                        const std::string& heading, const SummaryTable& table,
                        const std::vector<ReportFigure>& figures,
                        const std::vector<std::string>& warnings);

}  // namespace seekforge::viz::report_parts
