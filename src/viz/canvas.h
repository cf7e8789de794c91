// A drawing surface for charts and pictures: one drawing, written as PNG or SVG.
//
// The drawing is recorded into a Cairo recording surface, replayed onto an image surface for
// the PNG (at twice the size so text stays crisp on high-density screens), and its operations
// are kept and played again onto an SVG surface for the SVG, so both files show one picture.
// Coordinates are CSS pixels, origin top left, y down. Text is DejaVu Sans; text that is not valid
// UTF-8 (a byte-level BPE token can be part of a character) is drawn with U+FFFD in place of each
// invalid byte.
//
// It is not a layout engine: charts (chart.h) place every item themselves. A Canvas owns its
// Cairo objects and is not thread-safe; use one per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

// Cairo's handles, declared so this header does not pull cairo.h into every user.
typedef struct _cairo cairo_t;
typedef struct _cairo_surface cairo_surface_t;

namespace seekforge::viz {

// Components in [0, 1]; a is opacity.
struct Color {
  double r = 0, g = 0, b = 0, a = 1;
};

// Distinct categorical colours for series i = 0, 1, 2, ... (Tableau 10; repeats darker after 10).
Color palette(int i);
// The viridis sequential colour map (dark purple at 0, yellow at 1); t is clamped to [0, 1].
Color viridis(double t);
// "#rrggbb" for an opaque colour, "rgba(r,g,b,a)" otherwise, for HTML and SVG written by hand.
std::string css(Color c);

// `s` with every byte that does not belong to a well-formed UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF included) replaced by U+FFFD.
std::string valid_utf8(const std::string& s);

// Writes bytes to a temporary name beside path, then renames it over path, so a reader never
// sees half a file. Throws naming the path when it cannot; no temporary is left behind.
void write_file_atomically(const std::string& path, const std::string& bytes);

enum class Align { left, center, right };

// One piece of text as it was drawn (already made valid UTF-8): the model tests and callers
// inspect, since the SVG holds glyph outlines rather than the characters.
struct TextItem {
  double x = 0, y = 0;
  std::string text;
  double size = 0;
  Align align = Align::left;
  double rotate_deg = 0;
  bool bold = false;
};

class Canvas {
 public:
  // Size in CSS pixels (each in (0, 8192]); the background is white.
  Canvas(double width, double height);
  ~Canvas();
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  double width() const { return width_; }
  double height() const { return height_; }

  void fill_rect(double x, double y, double w, double h, Color c);
  void stroke_rect(double x, double y, double w, double h, Color c, double line_width = 1);
  void line(double x0, double y0, double x1, double y1, Color c, double line_width = 1,
            bool dashed = false);
  // Joined segments through the points; fewer than two points draw nothing.
  void polyline(const std::vector<std::pair<double, double>>& points, Color c,
                double line_width = 1.5, bool dashed = false);
  void circle(double x, double y, double r, Color fill);
  // UTF-8 text with its baseline at y; align places x at its left, centre or right end;
  // rotate_deg turns it about (x, y) (e.g. -90 for a y-axis label).
  void text(double x, double y, const std::string& utf8, double size, Color c,
            Align align = Align::left, double rotate_deg = 0, bool bold = false);
  // The advance width of the text at that size, in CSS pixels.
  double text_width(const std::string& utf8, double size, bool bold = false) const;
  // A raster of rows x cols cells (row-major colours) stretched over the rectangle, each cell a
  // sharp-edged block: for matrices too large to draw as one rectangle per cell.
  void image(double x, double y, double w, double h, int rows, int cols,
             const std::vector<Color>& cells);

  // Everything text() drew, in order.
  const std::vector<TextItem>& texts() const { return texts_; }

  std::vector<uint8_t> png() const;  // encoded PNG bytes, 2 device pixels per CSS pixel
  std::string svg() const;           // a complete SVG document, width and height in px
  // Writes .png or .svg (by the extension) to a temporary name beside the path, then renames
  // it over the path. Throws naming the path when the extension is neither or writing fails.
  void save(const std::string& path) const;

 private:
  // Draws op into the recording (what png() replays) and keeps it for svg().
  void add(std::function<void(cairo_t*)> op);

  double width_, height_;
  cairo_surface_t* recording_ = nullptr;
  cairo_t* cr_ = nullptr;
  std::vector<std::function<void(cairo_t*)>> ops_;
  std::vector<TextItem> texts_;
};

}  // namespace seekforge::viz
