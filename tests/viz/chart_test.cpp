// Tests for the charts: tick values and labels on known ranges (linear and log), NaN gaps, and
// every chart kind drawn to PNG and SVG with its title and axis labels among the text drawn.
#include "viz/chart.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"

namespace seekforge::viz {
namespace {

bool drew(const Canvas& c, const std::string& text) {
  for (const TextItem& t : c.texts())
    if (t.text == text) return true;
  return false;
}

// No two horizontal texts of the same baseline overlap (a check on label thinning).
void expect_no_overlap(const Canvas& c) {
  const auto& t = c.texts();
  for (size_t i = 0; i < t.size(); ++i)
    for (size_t j = i + 1; j < t.size(); ++j) {
      if (t[i].rotate_deg != t[j].rotate_deg || std::fabs(t[i].y - t[j].y) > 1) continue;
      if (t[i].rotate_deg != 0) continue;
      auto span = [&](const TextItem& a) {
        const double w = c.text_width(a.text, a.size, a.bold);
        const double x0 = a.align == Align::left     ? a.x
                          : a.align == Align::center ? a.x - w / 2
                                                     : a.x - w;
        return std::pair{x0, x0 + w};
      };
      const auto [a0, a1] = span(t[i]);
      const auto [b0, b1] = span(t[j]);
      EXPECT_TRUE(a1 <= b0 || b1 <= a0) << "'" << t[i].text << "' overlaps '" << t[j].text << "'";
    }
}

TEST(ChartTicks, LinearOnKnownRanges) {
  Ticks t = linear_ticks(0, 300, 6);
  EXPECT_EQ(t.values, (std::vector<double>{0, 50, 100, 150, 200, 250, 300}));
  EXPECT_EQ(t.labels.front(), "0");
  EXPECT_EQ(t.labels.back(), "300");

  t = linear_ticks(0.23, 3.47, 7);  // step 0.5, range widened to whole steps
  EXPECT_DOUBLE_EQ(t.lo, 0);
  EXPECT_DOUBLE_EQ(t.hi, 3.5);
  EXPECT_EQ(t.labels[1], "0.5");
  EXPECT_EQ(t.values.size(), 8u);

  t = linear_ticks(1, 9, 4);  // step 2
  EXPECT_EQ(t.values, (std::vector<double>{0, 2, 4, 6, 8, 10}));

  t = linear_ticks(-0.03, 0.07, 5);  // step 0.02
  EXPECT_EQ(t.labels,
            (std::vector<std::string>{"-0.04", "-0.02", "0", "0.02", "0.04", "0.06", "0.08"}));

  t = linear_ticks(5, 5, 6);  // a flat line still gets an axis around it
  EXPECT_LT(t.lo, 5);
  EXPECT_GT(t.hi, 5);

  t = linear_ticks(0, 60000, 4);
  EXPECT_EQ(t.labels, (std::vector<std::string>{"0", "20k", "40k", "60k"}));
  t = linear_ticks(0, 3e-3, 6);
  EXPECT_EQ(t.labels[1], "0.0005");
  t = linear_ticks(0, 4e-5, 4);
  EXPECT_EQ(t.labels[1], "1e-5");
}

TEST(ChartTicks, LogOnKnownRanges) {
  Ticks t = log_ticks(0.5, 200);  // several decades: powers of ten
  EXPECT_EQ(t.labels, (std::vector<std::string>{"0.1", "1", "10", "100", "1000"}));

  t = log_ticks(2, 9);  // under a decade: 1-2-5
  EXPECT_EQ(t.labels, (std::vector<std::string>{"2", "5", "10"}));

  t = log_ticks(2.1, 3.4);  // very small: every integer multiple
  EXPECT_EQ(t.labels, (std::vector<std::string>{"2", "3", "4"}));

  t = log_ticks(1e-6, 1e10);  // many decades: thinned to about eight
  EXPECT_LE(t.values.size(), 10u);
  EXPECT_GE(t.values.size(), 5u);
  EXPECT_LE(t.lo, 1e-6);
  EXPECT_GE(t.hi, 1e10);

  EXPECT_THROW(log_ticks(0, 10), Error);
}

TEST(ChartTicks, FormatTick) {
  EXPECT_EQ(format_tick(0, 0.5), "0");
  EXPECT_EQ(format_tick(2.5, 0.5), "2.5");
  EXPECT_EQ(format_tick(1500, 500), "1500");
  EXPECT_EQ(format_tick(2e6, 1e6), "2M");
  EXPECT_EQ(format_tick(1e-4, 1e-4), "1e-4");
}

TEST(ChartLine, NanMakesGaps) {
  const double nan = std::nan("");
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7};
  const std::vector<double> y = {1, 2, nan, 4, 5, nan, 7};
  const auto runs = finite_runs(x, y);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0], (std::pair<size_t, size_t>{0, 2}));
  EXPECT_EQ(runs[1], (std::pair<size_t, size_t>{3, 5}));
  EXPECT_EQ(runs[2], (std::pair<size_t, size_t>{6, 7}));
  EXPECT_EQ(finite_runs(x, {0, 1, 1, -1, 1, 1, 1}, true).size(), 2u);
  EXPECT_TRUE(finite_runs(x, std::vector<double>(7, nan)).empty());
}

LineChart loss_chart() {
  LineChart ch;
  ch.title = "Loss";
  ch.x_label = "step";
  ch.y_label = "loss (nats/token)";
  Series train = series("train loss", {}, {});
  for (int s = 1; s <= 300; ++s) {
    train.x.push_back(s);
    train.y.push_back(s == 120 ? std::nan("") : 3.5 * std::exp(-s / 80.0) + 0.3);
  }
  Series val = series("val loss", {50, 100, 150, 200, 250, 300}, {2.0, 1.1, 0.7, 0.55, 0.5, 0.52});
  val.dots = true;
  ch.series = {train, val};
  ch.markers = {{100, "checkpoint"}, {200, "checkpoint"}, {250, "best val"}};
  ch.thresholds = {{3.0, "alarm threshold"}};
  return ch;
}

TEST(ChartLine, DrawsToPngAndSvgWithItsWords) {
  for (bool log_y : {false, true}) {
    LineChart ch = loss_chart();
    ch.log_y = log_y;
    Canvas c(kChartWidth, kChartHeight);
    draw(c, ch);
    EXPECT_TRUE(drew(c, "Loss"));
    EXPECT_TRUE(drew(c, "step"));
    EXPECT_TRUE(drew(c, "loss (nats/token)"));
    EXPECT_TRUE(drew(c, "train loss"));  // the legend: two series
    EXPECT_TRUE(drew(c, "val loss"));
    EXPECT_TRUE(drew(c, "checkpoint"));
    EXPECT_TRUE(drew(c, "alarm threshold"));
    for (const TextItem& t : c.texts()) EXPECT_GE(t.size, 11) << t.text;
    expect_no_overlap(c);
    EXPECT_GT(c.png().size(), 1000u);
    EXPECT_NE(c.svg().find("</svg>"), std::string::npos);
  }
}

TEST(ChartLine, OneSeriesHasNoLegendAndEmptyChartsDraw) {
  LineChart ch;
  ch.title = "Learning rate";
  ch.x_label = "step";
  ch.y_label = "lr";
  ch.series = {series("lr", {1, 2, 3}, {1e-3, 2e-3, 3e-3})};
  Canvas c(kChartWidth, kChartHeight);
  draw(c, ch);
  size_t lr_count = 0;
  for (const TextItem& t : c.texts()) lr_count += t.text == "lr";
  EXPECT_EQ(lr_count, 1u);  // the axis label, no legend entry

  LineChart empty;
  empty.title = "nothing yet";
  Canvas e(400, 300);
  draw(e, empty);
  EXPECT_TRUE(drew(e, "no data"));

  ch.series[0].y.pop_back();
  Canvas bad(400, 300);
  EXPECT_THROW(draw(bad, ch), Error);
}

TEST(ChartLine, UnnamedSeriesStayOutOfTheLegendAndXSpanWidensTheAxis) {
  LineChart ch;
  ch.title = "Reward";
  ch.x_label = "step";
  ch.y_label = "reward";
  ch.series = {series("mean", {0, 1, 2}, {0.5, 0.6, 0.7}), series("band", {0, 1, 2}, {1, 1, 1}),
               series("", {0, 1, 2}, {0, 0, 0})};
  Canvas c(kChartWidth, kChartHeight);
  draw(c, ch);
  EXPECT_TRUE(drew(c, "mean"));
  EXPECT_TRUE(drew(c, "band"));
  for (const TextItem& t : c.texts()) EXPECT_FALSE(t.text.empty());  // no legend entry for ""
  EXPECT_FALSE(drew(c, "40"));

  ch.x_span = std::pair{0.0, 40.0};
  Canvas wide(kChartWidth, kChartHeight);
  draw(wide, ch);
  EXPECT_TRUE(drew(wide, "40"));  // the axis reaches the end of the run, past the data
}

TEST(ChartBar, DrawsWithReferenceAndThinsLabels) {
  BarChart ch;
  ch.title = "Tokens per expert";
  ch.x_label = "expert";
  ch.y_label = "tokens";
  for (int e = 0; e < 64; ++e) {
    ch.categories.push_back("expert " + std::to_string(e));
    ch.values.push_back(1000 + 37 * ((e * 17) % 23));
  }
  ch.reference = 1400;
  ch.reference_label = "balanced load";
  Canvas c(kChartWidth, kChartHeight);
  draw(c, ch);
  EXPECT_TRUE(drew(c, "Tokens per expert"));
  EXPECT_TRUE(drew(c, "expert"));
  EXPECT_TRUE(drew(c, "tokens"));
  EXPECT_TRUE(drew(c, "balanced load"));
  size_t cat_labels = 0;
  for (const TextItem& t : c.texts()) cat_labels += t.text.rfind("expert ", 0) == 0;
  EXPECT_GT(cat_labels, 4u);
  EXPECT_LT(cat_labels, 64u);  // 64 rotated labels do not fit in 650 px
  expect_no_overlap(c);
  EXPECT_GT(c.png().size(), 1000u);
  EXPECT_NE(c.svg().find("</svg>"), std::string::npos);
}

TEST(ChartHeatmap, DrawsSmallAndLargeMatrices) {
  for (int n : {6, 300}) {
    Heatmap h;
    h.title = "Expert load, layer 1";
    h.x_label = "step";
    h.y_label = "expert";
    h.value_label = "share of tokens";
    h.rows = 8;
    h.cols = n;
    for (int r = 0; r < h.rows; ++r) {
      h.row_labels.push_back(std::to_string(r));
      for (int k = 0; k < n; ++k)
        h.values.push_back(r == 3 && k == 1 ? std::nan("") : (r + k % 7) / 20.0);
    }
    for (int k = 0; k < n; ++k) h.col_labels.push_back(std::to_string(k + 1));
    Canvas c(kChartWidth, kChartHeight);
    draw(c, h);
    EXPECT_TRUE(drew(c, "Expert load, layer 1"));
    EXPECT_TRUE(drew(c, "step"));
    EXPECT_TRUE(drew(c, "expert"));
    EXPECT_TRUE(drew(c, "share of tokens"));
    expect_no_overlap(c);
    size_t col_labels = 0;
    for (const TextItem& t : c.texts()) col_labels += t.rotate_deg == 0 && t.y > 330;
    if (n == 300) {
      EXPECT_LT(col_labels, 40u);
    }
    EXPECT_GT(c.png().size(), 1000u);
    EXPECT_NE(c.svg().find("</svg>"), std::string::npos);
  }
}

TEST(ChartHeatmap, LongColumnLabelsTurnAndBadShapesThrow) {
  Heatmap h;
  h.title = "Attention, layer 0 head 1";
  h.x_label = "key token";
  h.y_label = "query token";
  h.rows = h.cols = 24;
  for (int i = 0; i < 24; ++i) {
    h.row_labels.push_back("token\xE2\x82" + std::to_string(i));  // a partial character too
    h.col_labels.push_back("tokenword" + std::to_string(i));
  }
  h.values.assign(24 * 24, 0.5);
  Canvas c(kChartWidth, 520);
  draw(c, h);
  bool turned = false;
  for (const TextItem& t : c.texts())
    turned |= t.rotate_deg == -90 && t.text.rfind("tokenword", 0) == 0;
  EXPECT_TRUE(turned);
  expect_no_overlap(c);
  EXPECT_GT(c.png().size(), 1000u);

  h.values.pop_back();
  Canvas bad(400, 300);
  EXPECT_THROW(draw(bad, h), Error);
}

}  // namespace
}  // namespace seekforge::viz
