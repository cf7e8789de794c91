// The Cairo drawing surface behind every chart: record once, replay as PNG or SVG.
#include "viz/canvas.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "core/error.h"

namespace seekforge::viz {

namespace {

constexpr double kPngScale = 2.0;  // device pixels per CSS pixel in the PNG
constexpr double kMaxSide = 8192;  // 2x that is still below Cairo's 32767-pixel image limit
constexpr const char* kFont = "DejaVu Sans";
constexpr const char* kCjkFont = "Droid Sans Fallback";

Color hex(uint32_t rgb) {
  return {((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0, (rgb & 0xff) / 255.0, 1};
}

void set_color(cairo_t* cr, Color c) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a); }

void set_dash(cairo_t* cr, bool dashed, double line_width) {
  if (dashed) {
    const double d[2] = {4 * std::max(1.0, line_width), 3 * std::max(1.0, line_width)};
    cairo_set_dash(cr, d, 2, 0);
  } else {
    cairo_set_dash(cr, nullptr, 0, 0);
  }
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  auto* out = static_cast<std::string*>(closure);
  out->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void check_surface(cairo_surface_t* s, const char* what) {
  const cairo_status_t st = cairo_surface_status(s);
  SF_CHECK(st == CAIRO_STATUS_SUCCESS) << what << ": " << cairo_status_to_string(st);
}

// Paints the recording onto a target through a fresh context scaled by `scale`.
void replay(cairo_surface_t* recording, cairo_surface_t* target, double scale) {
  cairo_t* cr = cairo_create(target);
  cairo_scale(cr, scale, scale);
  cairo_set_source_surface(cr, recording, 0, 0);
  cairo_paint(cr);
  const cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  SF_CHECK(st == CAIRO_STATUS_SUCCESS) << "replaying a drawing: " << cairo_status_to_string(st);
}

}  // namespace

Color palette(int i) {
  static constexpr std::array<uint32_t, 10> kTableau = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728,
                                                        0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f,
                                                        0xbcbd22, 0x17becf};
  if (i < 0) i = -(i + 1);
  Color c = hex(kTableau[static_cast<size_t>(i) % kTableau.size()]);
  // Past the first ten, each round is darker so neighbours in a long legend stay apart.
  const double shade = std::pow(0.7, static_cast<double>(static_cast<size_t>(i) / kTableau.size()));
  c.r *= shade;
  c.g *= shade;
  c.b *= shade;
  return c;
}

Color viridis(double t) {
  // matplotlib's viridis sampled at 0, 1/8, ..., 1; linear between samples.
  static constexpr std::array<uint32_t, 9> kStops = {
      0x440154, 0x472d7b, 0x3b528b, 0x2c728e, 0x21918c, 0x28ae80, 0x5ec962, 0xaddc30, 0xfde725};
  if (!(t >= 0)) t = 0;  // NaN goes to the low end too
  if (t > 1) t = 1;
  const double pos = t * double(kStops.size() - 1);
  const size_t i = std::min(static_cast<size_t>(pos), kStops.size() - 2);
  const double f = pos - double(i);
  const Color a = hex(kStops[i]), b = hex(kStops[i + 1]);
  return {a.r + (b.r - a.r) * f, a.g + (b.g - a.g) * f, a.b + (b.b - a.b) * f, 1};
}

std::string css(Color c) {
  auto byte = [](double v) { return static_cast<int>(std::lround(std::clamp(v, 0.0, 1.0) * 255)); };
  char buf[64];
  if (c.a >= 1) {
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", byte(c.r), byte(c.g), byte(c.b));
  } else {
    std::snprintf(buf, sizeof buf, "rgba(%d,%d,%d,%.3g)", byte(c.r), byte(c.g), byte(c.b),
                  std::clamp(c.a, 0.0, 1.0));
  }
  return buf;
}

std::string valid_utf8(const std::string& s) {
  static const std::string kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    size_t len = 0;
    uint32_t cp = 0;
    if (b < 0x80) {
      len = 1;
      cp = b;
    } else if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
      cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      cp = b & 0x07;
    }
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong 3- and 4-byte forms, UTF-16 surrogates and values past U+10FFFF.
    if (ok && len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (ok && len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ok = false;
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

namespace {

// Every context a drawing is played onto gets the same settings, so text lays out the same.
void prepare(cairo_t* cr) {
  // Unhinted metrics: a text's width does not depend on the scale it is drawn at.
  cairo_font_options_t* fo = cairo_font_options_create();
  cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
  cairo_set_font_options(cr, fo);
  cairo_font_options_destroy(fo);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
}

void select_font(cairo_t* cr, const char* face, double size, bool bold) {
  cairo_select_font_face(cr, face, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

// Cairo's text API draws every glyph from one face and does no fallback, and DejaVu has no
// CJK: Han, kana, hangul and full-width forms (the Chinese of the default data) are drawn from
// the CJK face instead, run by run.
bool wants_cjk_face(char32_t cp) {
  return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
         (cp >= 0xFF00 && cp <= 0xFFEF) || (cp >= 0x20000 && cp <= 0x3FFFF);
}

struct FontRun {
  const char* face;
  std::string text;
};

// `s` is valid UTF-8 (valid_utf8 ran first).
std::vector<FontRun> font_runs(const std::string& s) {
  std::vector<FontRun> runs;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t cp = n == 1 ? b : b & (0x3F >> (n - 1));
    for (size_t k = 1; k < n && i + k < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    const char* face = wants_cjk_face(cp) ? kCjkFont : kFont;
    if (runs.empty() || runs.back().face != face) runs.push_back({face, {}});
    runs.back().text.append(s, i, n);
    i += n;
  }
  return runs;
}

double advance(cairo_t* cr, const std::vector<FontRun>& runs, double size, bool bold) {
  double w = 0;
  for (const FontRun& r : runs) {
    select_font(cr, r.face, size, bold);
    cairo_text_extents_t ext;
    cairo_text_extents(cr, r.text.c_str(), &ext);
    w += ext.x_advance;
  }
  return w;
}

}  // namespace

Canvas::Canvas(double width, double height) : width_(width), height_(height) {
  SF_CHECK(width > 0 && height > 0 && width <= kMaxSide && height <= kMaxSide)
      << "canvas size " << width << " x " << height << " must be in (0, " << kMaxSide << "]";
  const cairo_rectangle_t extents = {0, 0, width, height};
  recording_ = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents);
  cr_ = cairo_create(recording_);
  if (cairo_status(cr_) != CAIRO_STATUS_SUCCESS) {
    const std::string msg = cairo_status_to_string(cairo_status(cr_));
    cairo_destroy(cr_);
    cairo_surface_destroy(recording_);
    SF_FAIL() << "cannot create a " << width << " x " << height << " drawing: " << msg;
  }
  prepare(cr_);
  fill_rect(0, 0, width, height, {1, 1, 1, 1});
}

Canvas::~Canvas() {
  ops_.clear();  // releases the rasters the operations hold
  cairo_destroy(cr_);
  cairo_surface_destroy(recording_);
}

void Canvas::add(std::function<void(cairo_t*)> op) {
  op(cr_);
  ops_.push_back(std::move(op));
}

void Canvas::fill_rect(double x, double y, double w, double h, Color c) {
  add([=](cairo_t* cr) {
    set_color(cr, c);
    cairo_rectangle(cr, x, y, w, h);
    cairo_fill(cr);
  });
}

void Canvas::stroke_rect(double x, double y, double w, double h, Color c, double line_width) {
  add([=](cairo_t* cr) {
    set_color(cr, c);
    set_dash(cr, false, line_width);
    cairo_set_line_width(cr, line_width);
    cairo_rectangle(cr, x, y, w, h);
    cairo_stroke(cr);
  });
}

void Canvas::line(double x0, double y0, double x1, double y1, Color c, double line_width,
                  bool dashed) {
  add([=](cairo_t* cr) {
    set_color(cr, c);
    set_dash(cr, dashed, line_width);
    cairo_set_line_width(cr, line_width);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
  });
}

void Canvas::polyline(const std::vector<std::pair<double, double>>& points, Color c,
                      double line_width, bool dashed) {
  if (points.size() < 2) return;
  add([=](cairo_t* cr) {
    set_color(cr, c);
    set_dash(cr, dashed, line_width);
    cairo_set_line_width(cr, line_width);
    cairo_move_to(cr, points[0].first, points[0].second);
    for (size_t i = 1; i < points.size(); ++i) cairo_line_to(cr, points[i].first, points[i].second);
    cairo_stroke(cr);
  });
}

void Canvas::circle(double x, double y, double r, Color fill) {
  add([=](cairo_t* cr) {
    set_color(cr, fill);
    cairo_new_sub_path(cr);
    cairo_arc(cr, x, y, r, 0, 2 * std::numbers::pi);
    cairo_fill(cr);
  });
}

void Canvas::text(double x, double y, const std::string& utf8, double size, Color c, Align align,
                  double rotate_deg, bool bold) {
  std::string s = valid_utf8(utf8);
  texts_.push_back({x, y, s, size, align, rotate_deg, bold});
  if (s.empty() || !(size > 0)) return;
  add([=, runs = font_runs(s)](cairo_t* cr) {
    const double w = advance(cr, runs, size, bold);
    const double dx = align == Align::left ? 0 : align == Align::center ? -w / 2 : -w;
    cairo_save(cr);
    cairo_translate(cr, x, y);
    if (rotate_deg != 0) cairo_rotate(cr, rotate_deg * std::numbers::pi / 180);
    set_color(cr, c);
    cairo_move_to(cr, dx, 0);
    for (const FontRun& r : runs) {  // show_text leaves the current point after its text
      select_font(cr, r.face, size, bold);
      cairo_show_text(cr, r.text.c_str());
    }
    cairo_new_path(cr);
    cairo_restore(cr);
  });
}

double Canvas::text_width(const std::string& utf8, double size, bool bold) const {
  const std::string s = valid_utf8(utf8);
  if (s.empty() || !(size > 0)) return 0;
  cairo_save(cr_);
  const double w = advance(cr_, font_runs(s), size, bold);
  cairo_restore(cr_);
  return w;
}

void Canvas::image(double x, double y, double w, double h, int rows, int cols,
                   const std::vector<Color>& cells) {
  SF_CHECK(rows > 0 && cols > 0 && cells.size() == size_t(rows) * size_t(cols))
      << "image of " << rows << " x " << cols << " cells given " << cells.size() << " colours";
  std::shared_ptr<cairo_surface_t> img(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, cols, rows),
                                       cairo_surface_destroy);
  SF_CHECK(cairo_surface_status(img.get()) == CAIRO_STATUS_SUCCESS)
      << "cannot create a " << cols << " x " << rows
      << " image: " << cairo_status_to_string(cairo_surface_status(img.get()));
  cairo_surface_flush(img.get());
  unsigned char* data = cairo_image_surface_get_data(img.get());
  const int stride = cairo_image_surface_get_stride(img.get());
  for (int r = 0; r < rows; ++r) {
    auto* row = reinterpret_cast<uint32_t*>(data + size_t(r) * size_t(stride));
    for (int c = 0; c < cols; ++c) {
      const Color& k = cells[size_t(r) * size_t(cols) + size_t(c)];
      const double a = std::clamp(k.a, 0.0, 1.0);
      auto ch = [a](double v) {  // premultiplied, as Cairo stores ARGB32
        return static_cast<uint32_t>(std::lround(std::clamp(v, 0.0, 1.0) * a * 255));
      };
      row[c] = (static_cast<uint32_t>(std::lround(a * 255)) << 24) | (ch(k.r) << 16) |
               (ch(k.g) << 8) | ch(k.b);
    }
  }
  cairo_surface_mark_dirty(img.get());
  add([=](cairo_t* cr) {
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_clip(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, w / cols, h / rows);
    cairo_set_source_surface(cr, img.get(), 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
  });
}

std::vector<uint8_t> Canvas::png() const {
  const int w = static_cast<int>(std::ceil(width_ * kPngScale));
  const int h = static_cast<int>(std::ceil(height_ * kPngScale));
  cairo_surface_flush(recording_);
  cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  std::string bytes;
  try {
    check_surface(img, "creating the PNG image");
    replay(recording_, img, kPngScale);
    const cairo_status_t st = cairo_surface_write_to_png_stream(img, append_bytes, &bytes);
    SF_CHECK(st == CAIRO_STATUS_SUCCESS) << "encoding PNG: " << cairo_status_to_string(st);
  } catch (...) {
    cairo_surface_destroy(img);
    throw;
  }
  cairo_surface_destroy(img);
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::string Canvas::svg() const {
  // The operations are played onto the SVG surface directly: Cairo 1.16 leaks when a recording
  // that holds text is painted onto an SVG surface.
  std::string out;
  cairo_surface_t* svg = cairo_svg_surface_create_for_stream(append_bytes, &out, width_, height_);
  cairo_t* cr = nullptr;
  try {
    check_surface(svg, "creating the SVG document");
    cairo_svg_surface_set_document_unit(svg, CAIRO_SVG_UNIT_PX);
    cr = cairo_create(svg);
    prepare(cr);
    for (const auto& op : ops_) op(cr);
    const cairo_status_t st = cairo_status(cr);
    SF_CHECK(st == CAIRO_STATUS_SUCCESS) << "drawing the SVG: " << cairo_status_to_string(st);
    cairo_destroy(cr);
    cr = nullptr;
    cairo_surface_finish(svg);  // writes the document's end
    check_surface(svg, "writing SVG");
  } catch (...) {
    if (cr != nullptr) cairo_destroy(cr);
    cairo_surface_destroy(svg);
    throw;
  }
  cairo_surface_destroy(svg);
  return out;
}

void Canvas::save(const std::string& path) const {
  namespace fs = std::filesystem;
  const std::string ext = fs::path(path).extension().string();
  std::string bytes;
  if (ext == ".png") {
    const std::vector<uint8_t> b = png();
    bytes.assign(b.begin(), b.end());
  } else if (ext == ".svg") {
    bytes = svg();
  } else {
    SF_FAIL() << "cannot save a drawing as '" << path << "': the name must end in .png or .svg";
  }
  write_file_atomically(path, bytes);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out.is_open()) {
      SF_FAIL() << "cannot write '" << path << "': cannot create '" << tmp << "'";
    }
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      SF_FAIL() << "cannot write '" << path << "' (" << bytes.size() << " bytes)";
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    SF_FAIL() << "cannot rename '" << tmp << "' to '" << path << "': " << ec.message();
  }
}

}  // namespace seekforge::viz
