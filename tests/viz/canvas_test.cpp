// Tests for the drawing surface: PNG bytes decode to the right size and colours, the SVG is a
// whole document of the right size, save() is atomic and names the path it could not write,
// and text that is not UTF-8 draws.
#include "viz/canvas.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/temp_dir.h"

namespace seekforge::viz {
namespace {

using data::testing::TempDir;

// Cairo and fontconfig keep fonts and glyphs in process-wide caches that are never freed; at the
// end of the test program they are released so the leak checker sees only real leaks.
class ReleaseFontCaches : public ::testing::Environment {
 public:
  void TearDown() override {
    cairo_debug_reset_static_data();
    FcFini();
  }
};
[[maybe_unused]] ::testing::Environment* const kReleaseFontCaches =
    ::testing::AddGlobalTestEnvironment(new ReleaseFontCaches);

struct Reader {
  const std::vector<uint8_t>* bytes;
  size_t pos = 0;
};

cairo_status_t read_bytes(void* closure, unsigned char* out, unsigned int length) {
  auto* r = static_cast<Reader*>(closure);
  if (r->pos + length > r->bytes->size()) return CAIRO_STATUS_READ_ERROR;
  std::memcpy(out, r->bytes->data() + r->pos, length);
  r->pos += length;
  return CAIRO_STATUS_SUCCESS;
}

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) |
         uint32_t(b[at + 3]);
}

// The 0xRRGGBB of the decoded PNG's device pixel (px, py).
uint32_t pixel(const std::vector<uint8_t>& png, int px, int py) {
  Reader r{&png};
  cairo_surface_t* img = cairo_image_surface_create_from_png_stream(read_bytes, &r);
  EXPECT_EQ(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
  cairo_surface_flush(img);
  const unsigned char* data = cairo_image_surface_get_data(img);
  const int stride = cairo_image_surface_get_stride(img);
  const uint32_t v = reinterpret_cast<const uint32_t*>(data + py * stride)[px] & 0xffffff;
  cairo_surface_destroy(img);
  return v;
}

TEST(Canvas, PngHasSignatureSizeAndColours) {
  Canvas c(120, 80);
  c.fill_rect(10, 10, 30, 20, Color{1, 0, 0, 1});
  c.fill_rect(60, 40, 20, 20, palette(0));
  const std::vector<uint8_t> png = c.png();
  ASSERT_GT(png.size(), 33u);
  const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  EXPECT_EQ(std::memcmp(png.data(), sig, 8), 0);
  EXPECT_EQ(std::string(png.begin() + 12, png.begin() + 16), "IHDR");
  EXPECT_EQ(be32(png, 16), 240u);  // twice the CSS size
  EXPECT_EQ(be32(png, 20), 160u);
  EXPECT_EQ(pixel(png, 2 * 25, 2 * 20), 0xff0000u);
  EXPECT_EQ(pixel(png, 2 * 70, 2 * 50), 0x1f77b4u);
  EXPECT_EQ(pixel(png, 2 * 100, 2 * 5), 0xffffffu);  // white background
}

TEST(Canvas, SvgIsAWholeDocumentOfTheRightSize) {
  Canvas c(300, 200);
  c.line(0, 0, 300, 200, palette(1), 2, true);
  c.polyline({{0, 10}, {50, 60}, {100, 20}}, palette(2));
  c.circle(50, 50, 4, palette(3));
  c.stroke_rect(5, 5, 100, 50, Color{0, 0, 0, 1});
  c.text(150, 100, "loss", 12, Color{}, Align::center, -90, true);
  const std::string svg = c.svg();
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u) << svg.substr(0, 80);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("width=\"300"), std::string::npos) << svg.substr(0, 300);
  EXPECT_NE(svg.find("height=\"200"), std::string::npos) << svg.substr(0, 300);
  const size_t end = svg.rfind("</svg>");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(svg.find_first_not_of(" \n", end + 6), std::string::npos);
}

TEST(Canvas, SaveWritesByExtensionAndLeavesNoTemporary) {
  TempDir dir;
  Canvas c(40, 30);
  c.fill_rect(0, 0, 20, 20, viridis(0.5));
  c.save(dir.file("a.png"));
  c.save(dir.file("a.svg"));
  EXPECT_EQ(data::testing::read_bytes(dir.file("a.png")).substr(1, 3), "PNG");
  EXPECT_NE(data::testing::read_bytes(dir.file("a.svg")).find("<svg"), std::string::npos);
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++n;
  }
  EXPECT_EQ(n, 2u);
}

TEST(Canvas, SaveToAMissingDirectoryNamesThePath) {
  TempDir dir;
  Canvas c(40, 30);
  const std::string bad = dir.path() + "/no/such/dir/chart.png";
  data::testing::expect_error([&] { c.save(bad); }, {bad});
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/no"));
  data::testing::expect_error([&] { c.save(dir.file("chart.jpg")); }, {"chart.jpg", ".png"});
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Canvas, InvalidUtf8IsReplacedAndDraws) {
  EXPECT_EQ(valid_utf8("abc"), "abc");
  EXPECT_EQ(valid_utf8("h\xC3\xA9"), "h\xC3\xA9");                // é
  EXPECT_EQ(valid_utf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");  // an emoji
  EXPECT_EQ(valid_utf8("a\xC3"), "a\xEF\xBF\xBD");                // a cut-off é
  EXPECT_EQ(valid_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(valid_utf8("\xFF"), "\xEF\xBF\xBD");

  Canvas c(200, 50);
  const std::string bad = "tok\xE2\x82 \xFF\xC3";
  c.text(10, 30, bad, 14, Color{}, Align::left);
  EXPECT_GT(c.text_width(bad, 14), 0);
  ASSERT_EQ(c.texts().size(), 1u);
  EXPECT_EQ(c.texts()[0].text, valid_utf8(bad));
  EXPECT_GT(c.png().size(), 100u);
  EXPECT_NE(c.svg().find("</svg>"), std::string::npos);
}

TEST(Canvas, TextWidthGrowsWithLengthSizeAndWeight) {
  Canvas c(100, 100);
  const double w = c.text_width("step", 12);
  EXPECT_GT(w, 10);
  EXPECT_LT(w, 40);
  EXPECT_GT(c.text_width("steps", 12), w);
  EXPECT_NEAR(c.text_width("step", 24), 2 * w, 0.5);
  EXPECT_GT(c.text_width("step", 12, true), w);
  EXPECT_EQ(c.text_width("", 12), 0);
}

// Han characters come from the CJK face, whose glyphs are one em wide (DejaVu has none and would
// draw narrower missing-glyph boxes); mixed text is the sum of its runs.
TEST(Canvas, CjkTextIsDrawnFromTheCjkFace) {
  Canvas c(200, 100);
  EXPECT_NEAR(c.text_width("人生", 20), 40, 1.0);
  EXPECT_NEAR(c.text_width("ab人生cd", 20), c.text_width("ab", 20) + 40 + c.text_width("cd", 20),
              0.5);
  c.text(10, 50, "ab人生cd", 20, {0, 0, 0, 1});
  EXPECT_GT(c.png().size(), 8u);
  EXPECT_NE(c.svg().find("</svg>"), std::string::npos);
}

TEST(Canvas, ImageCellsAreSharpBlocks) {
  Canvas c(40, 20);
  c.image(0, 0, 40, 20, 1, 2, {Color{1, 0, 0, 1}, Color{0, 0, 1, 1}});
  const std::vector<uint8_t> png = c.png();
  EXPECT_EQ(pixel(png, 10, 20), 0xff0000u);
  EXPECT_EQ(pixel(png, 70, 20), 0x0000ffu);
  EXPECT_THROW(c.image(0, 0, 10, 10, 2, 2, {Color{}}), Error);
}

TEST(Canvas, ColoursAndCss) {
  EXPECT_EQ(css(palette(0)), "#1f77b4");
  EXPECT_EQ(css(viridis(0)), "#440154");
  EXPECT_EQ(css(viridis(1)), "#fde725");
  EXPECT_EQ(css(viridis(7)), "#fde725");
  EXPECT_EQ(css(viridis(-1)), "#440154");
  EXPECT_EQ(css(Color{1, 0, 0, 0.5}), "rgba(255,0,0,0.5)");
  EXPECT_NE(css(palette(0)), css(palette(1)));
  EXPECT_NE(css(palette(0)), css(palette(10)));
  EXPECT_THROW(Canvas(0, 10), Error);
}

}  // namespace
}  // namespace seekforge::viz
