// Charts drawn on a Canvas: line charts (training curves), bar charts (tokens per expert) and
// heatmaps (expert load over steps, attention maps). Each chart is a plain struct describing
// the data and its words; draw() lays it out inside a box of the canvas (the whole canvas by
// default) with a title, labelled axes and, for more than one series, a legend.
//
// Layout is measured, not guessed: margins follow the widest tick label, tick counts follow
// the room there is, and labels that would overlap are left out rather than drawn on top of
// each other. Not an interactive plotting library: no zoom, no hover, no animation.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "viz/canvas.h"

namespace seekforge::viz {

// A rectangle of the canvas, in CSS pixels.
struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

// Axis ticks: the values, their labels, and the axis range they span (lo <= every value <= hi).
struct Ticks {
  double lo = 0, hi = 1;
  std::vector<double> values;
  std::vector<std::string> labels;
};

// About `target` ticks at multiples of 1, 2 or 5 times a power of ten; the range is widened
// outward to whole steps. A degenerate range (lo == hi) is widened around the value.
Ticks linear_ticks(double lo, double hi, int target = 6);
// Ticks for a log axis over [lo, hi] (lo > 0): powers of ten when the range spans several
// decades, 1-2-5 multiples (and then 1..9) when it is small; the range widens to ticks.
Ticks log_ticks(double lo, double hi);
// A tick label: "0", "0.25", "1500", "12k", "3.5M", "1e-5", with as many decimals as step needs.
std::string format_tick(double value, double step);

// The runs of consecutive indices where both x[i] and y[i] are finite (and, for a log axis,
// y[i] > 0): the pieces a line is drawn in, with gaps at NaN.
std::vector<std::pair<size_t, size_t>> finite_runs(const std::vector<double>& x,
                                                   const std::vector<double>& y,
                                                   bool positive_only = false);

struct Series {
  std::string name;            // empty: left out of the legend (the lower line of a band)
  std::vector<double> x, y;    // same length; NaN or inf in y leaves a gap
  std::optional<Color> color;  // default palette(index)
  bool dashed = false;
  bool dots = false;  // a dot at each point (for sparse series such as validation loss)
};

// A series with the default colour and style.
Series series(std::string name, std::vector<double> x, std::vector<double> y);

// A dashed vertical line at x with a label along it ("checkpoint", "early stop").
struct Marker {
  double x = 0;
  std::string label;
  Color color{0.35, 0.35, 0.35, 1};
};

// A horizontal line at y with a label above its right end ("alarm threshold").
struct Threshold {
  double y = 0;
  std::string label;
  Color color{0.84, 0.15, 0.16, 1};
};

struct LineChart {
  std::string title, x_label, y_label;  // axis labels carry units: "loss (nats/token)"
  std::vector<Series> series;
  std::vector<Marker> markers;  // earlier ones keep their label when two are too close
  std::vector<Threshold> thresholds;
  bool log_y = false;  // values <= 0 are gaps on a log axis
  // The x axis spans at least [first, second] (and the data): charts of one run line up.
  std::optional<std::pair<double, double>> x_span;
};

struct BarChart {
  std::string title, x_label, y_label;
  std::vector<std::string> categories;
  std::vector<double> values;       // one per category
  std::optional<double> reference;  // a dashed line across, e.g. the balanced load
  std::string reference_label;
  Color color = palette(0);
};

struct Heatmap {
  std::string title, x_label, y_label;
  std::string value_label;  // what the colour means, beside the colour bar: "share of tokens"
  int rows = 0, cols = 0;
  std::vector<double> values;                       // row-major, rows * cols; NaN cells are grey
  std::vector<std::string> row_labels, col_labels;  // empty, or one per row / column
  std::optional<double> vmin, vmax;                 // colour range; default the finite min and max
};

// Default chart size, and the text sizes every chart uses at it.
constexpr double kChartWidth = 720, kChartHeight = 400;
constexpr double kTitleSize = 15, kLabelSize = 12, kTickSize = 11;

// Draw into box (a zero box means the whole canvas). Throw seekforge::Error naming the chart's
// title when the data is inconsistent (series x and y lengths, values vs rows x cols, ...).
void draw(Canvas& canvas, const LineChart& chart, Box box = {});
void draw(Canvas& canvas, const BarChart& chart, Box box = {});
void draw(Canvas& canvas, const Heatmap& chart, Box box = {});

}  // namespace seekforge::viz
