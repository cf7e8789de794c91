// Line charts, bar charts and heatmaps on a Canvas: tick choice, measured layout, drawing.
#include "viz/chart.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.h"

namespace seekforge::viz {

namespace {

constexpr Color kText{0.13, 0.13, 0.13, 1};
constexpr Color kMuted{0.4, 0.4, 0.4, 1};
constexpr Color kGrid{0.9, 0.9, 0.9, 1};
constexpr Color kAxis{0.55, 0.55, 0.55, 1};
constexpr Color kMissing{0.82, 0.82, 0.82, 1};
constexpr double kPad = 8;             // space between the parts of a chart
constexpr double kLabelGap = 13;       // least distance between the baselines of stacked labels
constexpr size_t kMaxLabelChars = 18;  // row, column and category labels are cut to this

double pow10i(int e) {
  // Division for negative exponents keeps 0.1, 0.01, ... as close as doubles get.
  return e >= 0 ? std::pow(10.0, e) : 1.0 / std::pow(10.0, -e);
}

std::string tidy_exponent(std::string s) {  // "3e-05" -> "3e-5", "1e+06" -> "1e6"
  const size_t e = s.find('e');
  if (e == std::string::npos) return s;
  std::string mant = s.substr(0, e), exp = s.substr(e + 1);
  const bool neg = !exp.empty() && exp[0] == '-';
  if (!exp.empty() && (exp[0] == '-' || exp[0] == '+')) exp = exp.substr(1);
  while (exp.size() > 1 && exp[0] == '0') exp = exp.substr(1);
  return mant + "e" + (neg ? "-" : "") + exp;
}

// A label for value on an axis whose ticks are `step` apart and reach `magnitude`.
std::string format_value(double v, double step, double magnitude) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  step = std::fabs(step);
  if (step == 0) step = std::fabs(v);
  if (v == 0 || (step > 0 && std::fabs(v) < step * 1e-9)) return "0";
  magnitude = std::max(magnitude, std::fabs(v));
  char buf[64];
  if (magnitude >= 1e4) {
    const double unit = magnitude >= 1e12  ? 1e12
                        : magnitude >= 1e9 ? 1e9
                        : magnitude >= 1e6 ? 1e6
                                           : 1e3;
    const char* suffix = unit == 1e12 ? "T" : unit == 1e9 ? "G" : unit == 1e6 ? "M" : "k";
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step / unit) - 1e-9)));
    std::snprintf(buf, sizeof buf, "%.*f%s", std::min(decimals, 6), v / unit, suffix);
    return buf;
  }
  if (magnitude < 1e-3) {
    const int digits = std::max(1, static_cast<int>(std::floor(std::log10(std::fabs(v)) + 1e-9) -
                                                    std::floor(std::log10(step) + 1e-9)) +
                                       1);
    std::snprintf(buf, sizeof buf, "%.*e", std::min(digits, 6) - 1, v);
    return tidy_exponent(buf);
  }
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  std::snprintf(buf, sizeof buf, "%.*f", std::min(decimals, 8), v);
  return buf;
}

// At most max_chars code points, the cut marked with an ellipsis.
std::string shorten(const std::string& s, size_t max_chars) {
  size_t chars = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (chars == max_chars - 1) {
      size_t rest = 0;  // code points from here to the end
      for (size_t j = i; j < s.size(); ++j)
        if ((static_cast<unsigned char>(s[j]) & 0xC0) != 0x80) ++rest;
      if (rest <= 1) return s;
      return s.substr(0, i) + "\xE2\x80\xA6";
    }
    ++chars;
  }
  return s;
}

// The smallest of 1, 2, 5, 10, 20, ... that is at least need (need >= 1).
int stride_125(double need) {
  for (int mag = 1;; mag *= 10)
    for (int m : {1, 2, 5})
      if (m * mag >= need - 1e-9) return m * mag;
}

Box whole(const Canvas& c, Box b) {
  if (b.w <= 0 || b.h <= 0) return {0, 0, c.width(), c.height()};
  return b;
}

// The title, centred; returns the y just below it.
double draw_title(Canvas& c, const Box& b, const std::string& title) {
  const double base = b.y + kPad + kTitleSize;
  c.text(b.x + b.w / 2, base, title, kTitleSize, kText, Align::center, 0, true);
  return base + 5;
}

void draw_y_label(Canvas& c, double x, double top, double bottom, const std::string& label) {
  c.text(x, (top + bottom) / 2, label, kLabelSize, kText, Align::center, -90);
}

// A linear or log mapping of data values onto a pixel interval.
struct Scale {
  double lo, hi, p0, p1;
  bool log = false;
  double operator()(double v) const {
    const double a = log ? std::log10(lo) : lo, b = log ? std::log10(hi) : hi;
    const double t = ((log ? std::log10(v) : v) - a) / (b - a);
    return p0 + t * (p1 - p0);
  }
};

// Horizontal grid lines and labels, right-aligned left of the plot; a label closer than
// kLabelGap to the previous one drawn is left out.
void draw_y_ticks(Canvas& c, const Box& plot, const Ticks& t, const Scale& s) {
  double last = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < t.values.size(); ++i) {
    const double y = s(t.values[i]);
    c.line(plot.x, y, plot.x + plot.w, y, kGrid, 1);
    if (std::fabs(last - y) < kLabelGap) continue;
    c.text(plot.x - 6, y + kTickSize * 0.36, t.labels[i], kTickSize, kMuted, Align::right);
    last = y;
  }
}

// Vertical grid lines and labels below the plot; a label that would touch the one before it
// is left out.
void draw_x_ticks(Canvas& c, const Box& plot, const Ticks& t, const Scale& s) {
  double right_end = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < t.values.size(); ++i) {
    const double x = s(t.values[i]);
    c.line(x, plot.y, x, plot.y + plot.h, kGrid, 1);
    const double w = c.text_width(t.labels[i], kTickSize);
    if (x - w / 2 < right_end + 6) continue;
    c.text(x, plot.y + plot.h + 5 + kTickSize, t.labels[i], kTickSize, kMuted, Align::center);
    right_end = x + w / 2;
  }
}

double widest(const Canvas& c, const std::vector<std::string>& labels, double size) {
  double w = 0;
  for (const auto& l : labels) w = std::max(w, c.text_width(l, size));
  return w;
}

// Ticks for a horizontal axis whose labels must not collide: fewer ticks until they fit.
Ticks fitting_x_ticks(const Canvas& c, double lo, double hi, double plot_w) {
  Ticks t;
  for (int target = std::max(2, static_cast<int>(plot_w / 70)); target >= 2; --target) {
    t = linear_ticks(lo, hi, target);
    if (t.values.size() < 2) break;
    const double spacing = plot_w / double(t.values.size() - 1);
    if (spacing >= widest(c, t.labels, kTickSize) + 10) break;
  }
  return t;
}

// Right-aligned text on a translucent white backdrop, so a label on top of bars or lines stays
// readable; returns its box.
Box backed_label(Canvas& c, double right, double baseline, const std::string& text, Color col) {
  const double w = c.text_width(text, kTickSize);
  const Box box{right - w - 3, baseline - kTickSize * 0.85, w + 6, kTickSize * 1.15};
  c.fill_rect(box.x, box.y, box.w, box.h, Color{1, 1, 1, 0.8});
  c.text(right, baseline, text, kTickSize, col, Align::right);
  return box;
}

}  // namespace

std::string format_tick(double value, double step) {
  return format_value(value, step, std::fabs(value));
}

Ticks linear_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo <= 1e-12 * std::max(1.0, std::fabs(lo))) {
    const double d = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  target = std::max(target, 1);
  const double raw = (hi - lo) / target;
  const double mag = pow10i(static_cast<int>(std::floor(std::log10(raw))));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw * (1 - 1e-9)) {
      step = m * mag;
      break;
    }
  }
  const double k0 = std::floor(lo / step + 1e-9), k1 = std::ceil(hi / step - 1e-9);
  Ticks t;
  t.lo = k0 * step;
  t.hi = k1 * step;
  const double magnitude = std::max(std::fabs(t.lo), std::fabs(t.hi));
  for (double k = k0; k <= k1 + 0.5; k += 1) {
    const double v = k * step;
    t.values.push_back(v);
    t.labels.push_back(format_value(v, step, magnitude));
  }
  return t;
}

Ticks log_ticks(double lo, double hi) {
  SF_CHECK(lo > 0 && hi > 0 && std::isfinite(lo) && std::isfinite(hi))
      << "a log axis needs a positive finite range, got [" << lo << ", " << hi << "]";
  if (lo > hi) std::swap(lo, hi);
  if (hi / lo < 1 + 1e-9) {
    lo /= 1.5;
    hi *= 1.5;
  }
  const int e0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  const int e1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  // Over many decades, every k-th power of ten so there are at most about eight ticks.
  const int every = std::max(1, (e1 - e0 + 7) / 8);
  const std::vector<std::vector<double>> sets = {{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  Ticks t;
  for (size_t si = 0; si < sets.size(); ++si) {
    std::vector<double> cand;
    for (int e = e0 - every; e <= e1 + every; ++e) {
      if (si == 0 && ((e % every) + every) % every != 0) continue;
      for (double m : sets[si]) cand.push_back(m * pow10i(e));
    }
    double alo = cand.front(), ahi = cand.back();
    for (double v : cand)
      if (v <= lo * (1 + 1e-9)) alo = v;
    for (auto it = cand.rbegin(); it != cand.rend(); ++it)
      if (*it >= hi * (1 - 1e-9)) ahi = *it;
    t = Ticks{alo, ahi, {}, {}};
    for (double v : cand)
      if (v >= alo * (1 - 1e-9) && v <= ahi * (1 + 1e-9)) {
        t.values.push_back(v);
        t.labels.push_back(format_tick(v, v));
      }
    if (t.values.size() >= 3) break;
  }
  return t;
}

std::vector<std::pair<size_t, size_t>> finite_runs(const std::vector<double>& x,
                                                   const std::vector<double>& y,
                                                   bool positive_only) {
  std::vector<std::pair<size_t, size_t>> runs;
  const size_t n = std::min(x.size(), y.size());
  size_t i = 0;
  while (i < n) {
    auto ok = [&](size_t k) {
      return std::isfinite(x[k]) && std::isfinite(y[k]) && (!positive_only || y[k] > 0);
    };
    while (i < n && !ok(i)) ++i;
    if (i == n) break;
    size_t j = i;
    while (j < n && ok(j)) ++j;
    runs.emplace_back(i, j);  // [i, j)
    i = j;
  }
  return runs;
}

Series series(std::string name, std::vector<double> x, std::vector<double> y) {
  Series s;
  s.name = std::move(name);
  s.x = std::move(x);
  s.y = std::move(y);
  return s;
}

void draw(Canvas& c, const LineChart& chart, Box box) {
  const Box b = whole(c, box);
  for (const Series& s : chart.series)
    SF_CHECK(s.x.size() == s.y.size())
        << "chart '" << chart.title << "': series '" << s.name << "' has " << s.x.size()
        << " x values and " << s.y.size() << " y values";
  // Data ranges over what can be drawn; markers and thresholds are part of the picture.
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const Series& s : chart.series)
    for (const auto& [i, j] : finite_runs(s.x, s.y, chart.log_y))
      for (size_t k = i; k < j; ++k) {
        xlo = std::min(xlo, s.x[k]), xhi = std::max(xhi, s.x[k]);
        ylo = std::min(ylo, s.y[k]), yhi = std::max(yhi, s.y[k]);
      }
  for (const Marker& m : chart.markers)
    if (std::isfinite(m.x)) xlo = std::min(xlo, m.x), xhi = std::max(xhi, m.x);
  if (chart.x_span && std::isfinite(chart.x_span->first) && std::isfinite(chart.x_span->second) &&
      xlo <= xhi)
    xlo = std::min(xlo, chart.x_span->first), xhi = std::max(xhi, chart.x_span->second);
  for (const Threshold& t : chart.thresholds)
    if (std::isfinite(t.y) && (!chart.log_y || t.y > 0))
      ylo = std::min(ylo, t.y), yhi = std::max(yhi, t.y);
  const bool empty = !(xlo <= xhi) || !(ylo <= yhi);
  if (!(xlo <= xhi)) xlo = 0, xhi = 1;
  if (!(ylo <= yhi)) ylo = chart.log_y ? 1 : 0, yhi = chart.log_y ? 10 : 1;

  double top = draw_title(c, b, chart.title);
  // Legend: a row (wrapping) of line samples and names under the title.
  const auto named = std::count_if(chart.series.begin(), chart.series.end(),
                                   [](const Series& s) { return !s.name.empty(); });
  if (named > 1) {
    const double row_h = kTickSize + 6;
    double x = b.x + 60, y = top + 4 + kTickSize;
    for (size_t i = 0; i < chart.series.size(); ++i) {
      const Series& s = chart.series[i];
      if (s.name.empty()) continue;  // drawn, but shown in the legend by a named one
      const double w = 22 + c.text_width(s.name, kTickSize) + 18;
      if (x + w > b.x + b.w - 16 && x > b.x + 60) x = b.x + 60, y += row_h;
      const Color col = s.color.value_or(palette(static_cast<int>(i)));
      c.line(x, y - 4, x + 18, y - 4, col, 2, s.dashed);
      if (s.dots) c.circle(x + 9, y - 4, 3, col);
      c.text(x + 22, y, s.name, kTickSize, kText);
      x += w;
    }
    top = y + 4;
  }
  const double plot_top = top + kPad;
  const double plot_bottom = b.y + b.h - (5 + kTickSize + 8 + kLabelSize + 8);
  const double plot_h = std::max(10.0, plot_bottom - plot_top);
  const Ticks yt = chart.log_y
                       ? log_ticks(ylo, yhi)
                       : linear_ticks(ylo, yhi, std::clamp(static_cast<int>(plot_h / 45), 2, 10));
  const double label_x = b.x + kPad + kLabelSize;
  const double plot_left = label_x + kPad + widest(c, yt.labels, kTickSize) + 8;
  const double plot_right = b.x + b.w - 18;
  const Box plot{plot_left, plot_top, std::max(10.0, plot_right - plot_left), plot_h};
  const Ticks xt = fitting_x_ticks(c, xlo, xhi, plot.w);
  const Scale sx{xt.lo, xt.hi, plot.x, plot.x + plot.w};
  const Scale sy{yt.lo, yt.hi, plot.y + plot.h, plot.y, chart.log_y};

  draw_y_ticks(c, plot, yt, sy);
  draw_x_ticks(c, plot, xt, sx);
  c.line(plot.x, plot.y + plot.h, plot.x + plot.w, plot.y + plot.h, kAxis, 1);
  c.line(plot.x, plot.y, plot.x, plot.y + plot.h, kAxis, 1);
  draw_y_label(c, label_x, plot.y, plot.y + plot.h, chart.y_label);
  c.text(plot.x + plot.w / 2, b.y + b.h - 8, chart.x_label, kLabelSize, kText, Align::center);
  if (empty) {
    c.text(plot.x + plot.w / 2, plot.y + plot.h / 2, "no data", kLabelSize, kMuted, Align::center);
  }

  std::vector<Box> threshold_labels;
  for (const Threshold& t : chart.thresholds) {
    if (!std::isfinite(t.y) || (chart.log_y && t.y <= 0)) continue;
    const double y = sy(t.y);
    c.line(plot.x, y, plot.x + plot.w, y, t.color, 1.2);
    if (!t.label.empty())
      threshold_labels.push_back(backed_label(c, plot.x + plot.w - 4, y - 4, t.label, t.color));
  }
  // Marker labels run down the left of their line from the top; one closer than a line of
  // text to a marker labelled before it (earlier in the list) keeps its line but not its label.
  std::vector<double> labelled_x;
  for (const Marker& m : chart.markers) {
    if (!std::isfinite(m.x)) continue;
    const double x = sx(m.x);
    c.line(x, plot.y, x, plot.y + plot.h, m.color, 1.2, true);
    const bool crowded = std::any_of(labelled_x.begin(), labelled_x.end(),
                                     [&](double lx) { return std::fabs(x - lx) < kLabelGap; });
    if (!m.label.empty() && !crowded && x - kTickSize - 2 > plot.x) {
      // Below any threshold label it would cross.
      const double len = c.text_width(m.label, kTickSize);
      double y0 = plot.y + 4;
      for (const Box& tb : threshold_labels)
        if (x - 4 - kTickSize < tb.x + tb.w && x - 4 > tb.x && y0 < tb.y + tb.h && y0 + len > tb.y)
          y0 = tb.y + tb.h + 3;
      if (y0 + len <= plot.y + plot.h) {
        c.text(x - 4, y0, m.label, kTickSize, m.color, Align::right, -90);
        labelled_x.push_back(x);
      }
    }
  }
  for (size_t si = 0; si < chart.series.size(); ++si) {
    const Series& s = chart.series[si];
    const Color col = s.color.value_or(palette(static_cast<int>(si)));
    for (const auto& [i, j] : finite_runs(s.x, s.y, chart.log_y)) {
      std::vector<std::pair<double, double>> pts;
      for (size_t k = i; k < j; ++k) pts.emplace_back(sx(s.x[k]), sy(s.y[k]));
      if (pts.size() == 1 && !s.dots) c.circle(pts[0].first, pts[0].second, 2, col);
      c.polyline(pts, col, 1.6, s.dashed);
      if (s.dots)
        for (const auto& [px, py] : pts) c.circle(px, py, 3, col);
    }
  }
}

void draw(Canvas& c, const BarChart& chart, Box box) {
  const Box b = whole(c, box);
  SF_CHECK(chart.categories.size() == chart.values.size())
      << "bar chart '" << chart.title << "': " << chart.categories.size() << " categories and "
      << chart.values.size() << " values";
  const size_t n = chart.values.size();
  double lo = 0, hi = 0;
  for (double v : chart.values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (chart.reference && std::isfinite(*chart.reference))
    lo = std::min(lo, *chart.reference), hi = std::max(hi, *chart.reference);
  if (lo == hi) hi = 1;

  double top = draw_title(c, b, chart.title);
  const Color red{0.84, 0.15, 0.16, 1};
  const bool has_reference = chart.reference && std::isfinite(*chart.reference);
  if (has_reference && !chart.reference_label.empty()) {
    // In a legend line under the title: inside the plot it would sit on the bars' values.
    const double y = top + 4 + kTickSize;
    c.line(b.x + 60, y - 4, b.x + 78, y - 4, red, 1.2, true);
    c.text(b.x + 82, y, chart.reference_label, kTickSize, kText);
    top = y + 4;
  }
  const double plot_top = top + kPad;
  std::vector<std::string> cats;
  for (const auto& s : chart.categories) cats.push_back(shorten(s, kMaxLabelChars));
  const double label_x = b.x + kPad + kLabelSize;
  // The y ticks need the plot height, which needs the category labels' height: take the
  // horizontal case first, then check the labels fit.
  const double plot_right = b.x + b.w - 18;
  const double cat_w = widest(c, cats, kTickSize);
  double bottom_room = 5 + kTickSize + 8 + kLabelSize + 8;
  Ticks yt = linear_ticks(lo, hi, 5);
  double plot_left = label_x + kPad + widest(c, yt.labels, kTickSize) + 8;
  const double slot = n ? (plot_right - plot_left) / double(n) : 1;
  const bool rotated = cat_w + 6 > slot && slot < 40;
  if (rotated) bottom_room = 6 + cat_w + 8 + kLabelSize + 8;
  const double plot_bottom = b.y + b.h - bottom_room;
  const double plot_h = std::max(10.0, plot_bottom - plot_top);
  yt = linear_ticks(lo, hi, std::clamp(static_cast<int>(plot_h / 45), 2, 10));
  plot_left = label_x + kPad + widest(c, yt.labels, kTickSize) + 8;
  const Box plot{plot_left, plot_top, std::max(10.0, plot_right - plot_left), plot_h};
  const Scale sy{yt.lo, yt.hi, plot.y + plot.h, plot.y};
  draw_y_ticks(c, plot, yt, sy);
  draw_y_label(c, label_x, plot.y, plot.y + plot.h, chart.y_label);
  c.text(plot.x + plot.w / 2, b.y + b.h - 8, chart.x_label, kLabelSize, kText, Align::center);

  const double sw = n ? plot.w / double(n) : plot.w;
  const int stride =
      rotated ? stride_125(kLabelGap / sw) : stride_125((cat_w + 6) / std::max(sw, 1e-9));
  const double zero = sy(0);
  struct ValueLabel {
    double x, y, w;
    std::string text;
  };
  std::vector<ValueLabel> values;  // drawn after the reference line, on a backdrop
  for (size_t i = 0; i < n; ++i) {
    const double cx = plot.x + (double(i) + 0.5) * sw;
    const double v = chart.values[i];
    if (std::isfinite(v)) {
      const double y = sy(v);
      c.fill_rect(cx - sw * 0.35, std::min(y, zero), sw * 0.7, std::fabs(zero - y), chart.color);
      // Three significant figures of the axis: 49.9k on an axis of 10k steps.
      const double tick_step = yt.values.size() > 1 ? yt.values[1] - yt.values[0] : 1;
      const std::string vl =
          format_value(v, tick_step / 100, std::max(std::fabs(yt.lo), std::fabs(yt.hi)));
      const double vw = c.text_width(vl, kTickSize);
      if (vw + 4 <= sw && y - 4 > plot.y + kTickSize) values.push_back({cx, y - 4, vw, vl});
    }
    if (i % static_cast<size_t>(stride) != 0) continue;
    if (rotated)
      c.text(cx + kTickSize * 0.36, plot.y + plot.h + 6, cats[i], kTickSize, kMuted, Align::right,
             -90);
    else
      c.text(cx, plot.y + plot.h + 5 + kTickSize, cats[i], kTickSize, kMuted, Align::center);
  }
  c.line(plot.x, zero, plot.x + plot.w, zero, kAxis, 1);
  c.line(plot.x, plot.y, plot.x, plot.y + plot.h, kAxis, 1);
  if (has_reference) {
    const double y = sy(*chart.reference);
    c.line(plot.x, y, plot.x + plot.w, y, red, 1.2, true);
  }
  for (const ValueLabel& v : values) backed_label(c, v.x + v.w / 2, v.y, v.text, kMuted);
}

void draw(Canvas& c, const Heatmap& chart, Box box) {
  const Box b = whole(c, box);
  SF_CHECK(chart.rows > 0 && chart.cols > 0 &&
           chart.values.size() == size_t(chart.rows) * size_t(chart.cols))
      << "heatmap '" << chart.title << "': " << chart.values.size() << " values for " << chart.rows
      << " x " << chart.cols << " cells";
  SF_CHECK(chart.row_labels.empty() || chart.row_labels.size() == size_t(chart.rows))
      << "heatmap '" << chart.title << "': " << chart.row_labels.size() << " row labels for "
      << chart.rows << " rows";
  SF_CHECK(chart.col_labels.empty() || chart.col_labels.size() == size_t(chart.cols))
      << "heatmap '" << chart.title << "': " << chart.col_labels.size() << " column labels for "
      << chart.cols << " columns";
  double vmin = INFINITY, vmax = -INFINITY;
  for (double v : chart.values)
    if (std::isfinite(v)) vmin = std::min(vmin, v), vmax = std::max(vmax, v);
  if (chart.vmin) vmin = *chart.vmin;
  if (chart.vmax) vmax = *chart.vmax;
  if (!(vmin <= vmax)) vmin = 0, vmax = 1;
  const double span = vmax > vmin ? vmax - vmin : 1;

  std::vector<std::string> rl, cl;
  for (const auto& s : chart.row_labels) rl.push_back(shorten(s, kMaxLabelChars));
  for (const auto& s : chart.col_labels) cl.push_back(shorten(s, kMaxLabelChars));

  // Colour bar ticks: the two ends, and round values between them that leave room.
  Ticks bar = linear_ticks(vmin, vmax, 4);
  const double step = bar.values.size() > 1 ? bar.values[1] - bar.values[0] : span;
  std::vector<std::pair<double, std::string>> bar_labels = {
      {vmin, format_value(vmin, step / 10, std::max(std::fabs(vmin), std::fabs(vmax)))},
      {vmax, format_value(vmax, step / 10, std::max(std::fabs(vmin), std::fabs(vmax)))}};
  if (vmax == vmin) bar_labels.pop_back();
  double bar_label_w = 0;
  for (const auto& [v, l] : bar_labels)
    bar_label_w = std::max(bar_label_w, c.text_width(l, kTickSize));
  bar_label_w = std::max(bar_label_w, widest(c, bar.labels, kTickSize));

  const double top = draw_title(c, b, chart.title) + kPad;
  const double label_x = b.x + kPad + kLabelSize;
  const double left = label_x + kPad + (rl.empty() ? 0 : widest(c, rl, kTickSize) + 6);
  const double bar_w = 14;
  const double right_room =
      12 + bar_w + 5 + bar_label_w + 8 + (chart.value_label.empty() ? 0 : kLabelSize + 4) + kPad;
  const double plot_w = std::max(10.0, b.x + b.w - right_room - left);
  const double cell_w = plot_w / chart.cols;
  const double col_w = widest(c, cl, kTickSize);
  const int stride_flat = stride_125((col_w + 8) / cell_w);
  const int stride_turned = stride_125(kLabelGap / cell_w);
  // Short labels (step numbers) stay level and thin out; long ones (tokens) turn when level
  // ones would have to skip more than twice as many.
  const bool rotated = !cl.empty() && col_w > 3 * kTickSize && stride_flat > 2 * stride_turned;
  const double col_room = cl.empty() ? 0 : rotated ? 6 + col_w : 5 + kTickSize;
  const double bottom = b.y + b.h - (col_room + 8 + kLabelSize + 8);
  const Box plot{left, top, plot_w, std::max(10.0, bottom - top)};
  const double cell_h = plot.h / chart.rows;

  auto colour_of = [&](double v) {
    return std::isfinite(v) ? viridis((v - vmin) / span) : kMissing;
  };
  if (size_t(chart.rows) * size_t(chart.cols) <= 4096) {
    // One rectangle per cell: sharp in the SVG too. Each overlaps its right and lower
    // neighbours by a fraction of a pixel so antialiasing leaves no light seams.
    for (int r = 0; r < chart.rows; ++r)
      for (int k = 0; k < chart.cols; ++k) {
        const double ox = k + 1 < chart.cols ? 0.6 : 0, oy = r + 1 < chart.rows ? 0.6 : 0;
        c.fill_rect(plot.x + k * cell_w, plot.y + r * cell_h, cell_w + ox, cell_h + oy,
                    colour_of(chart.values[size_t(r) * size_t(chart.cols) + size_t(k)]));
      }
  } else {
    std::vector<Color> cells(chart.values.size());
    for (size_t i = 0; i < cells.size(); ++i) cells[i] = colour_of(chart.values[i]);
    c.image(plot.x, plot.y, plot.w, plot.h, chart.rows, chart.cols, cells);
  }
  c.stroke_rect(plot.x, plot.y, plot.w, plot.h, kAxis, 0.8);

  if (!rl.empty()) {
    const int stride = stride_125(kLabelGap / cell_h);
    for (int r = 0; r < chart.rows; r += stride)
      c.text(plot.x - 6, plot.y + (r + 0.5) * cell_h + kTickSize * 0.36, rl[size_t(r)], kTickSize,
             kMuted, Align::right);
  }
  if (!cl.empty()) {
    const int stride = rotated ? stride_turned : stride_flat;
    for (int k = 0; k < chart.cols; k += stride) {
      const double cx = plot.x + (k + 0.5) * cell_w;
      if (rotated)
        c.text(cx + kTickSize * 0.36, plot.y + plot.h + 6, cl[size_t(k)], kTickSize, kMuted,
               Align::right, -90);
      else
        c.text(cx, plot.y + plot.h + 5 + kTickSize, cl[size_t(k)], kTickSize, kMuted,
               Align::center);
    }
  }
  draw_y_label(c, label_x, plot.y, plot.y + plot.h, chart.y_label);
  c.text(plot.x + plot.w / 2, b.y + b.h - 8, chart.x_label, kLabelSize, kText, Align::center);

  // The colour bar: vmax at the top.
  const double bx = plot.x + plot.w + 12;
  std::vector<Color> ramp(64);
  for (size_t i = 0; i < ramp.size(); ++i)
    ramp[i] = viridis(1 - double(i) / double(ramp.size() - 1));
  c.image(bx, plot.y, bar_w, plot.h, static_cast<int>(ramp.size()), 1, ramp);
  c.stroke_rect(bx, plot.y, bar_w, plot.h, kAxis, 0.8);
  const Scale sv{vmin, vmax > vmin ? vmax : vmin + 1, plot.y + plot.h, plot.y};
  for (const auto& [v, l] : bar_labels)
    c.text(bx + bar_w + 5, sv(v) + kTickSize * 0.36, l, kTickSize, kMuted);
  for (size_t i = 0; i < bar.values.size(); ++i) {
    const double v = bar.values[i];
    if (v <= vmin || v >= vmax) continue;
    const double y = sv(v);
    if (std::fabs(y - sv(vmin)) < kLabelGap || std::fabs(y - sv(vmax)) < kLabelGap) continue;
    c.line(bx + bar_w - 4, y, bx + bar_w, y, kText, 0.8);
    c.text(bx + bar_w + 5, y + kTickSize * 0.36, bar.labels[i], kTickSize, kMuted);
  }
  if (!chart.value_label.empty())
    c.text(bx + bar_w + 5 + bar_label_w + 8 + kLabelSize, plot.y + plot.h / 2, chart.value_label,
           kLabelSize, kText, Align::center, -90);
}

}  // namespace seekforge::viz
