// Token labels (viz/tokens.h): whitespace made visible, partial UTF-8 escaped, HTML and JS
// escaping, byte-level prompt encoding and its errors.
#include "viz/tokens.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace seekforge {
namespace {

TEST(InspectTokens, WhitespaceIsVisible) {
  EXPECT_EQ(viz::visible_token(" a\n\t"), "\u2423a\u21B5\u21E5");
  EXPECT_EQ(viz::token_label(32, 256), "\u2423");
  EXPECT_EQ(viz::token_label(10, 300), "\u21B5");
  EXPECT_EQ(viz::token_label(0, 256), "\\x00");
  EXPECT_EQ(viz::token_label(300, 400), "<300>");
  EXPECT_EQ(viz::token_label(5, 32), "<5>");  // not a byte-level model
}

TEST(InspectTokens, ALabelerTakesPrecedence) {
  const viz::TokenLabeler bpe = [](int64_t id) {
    return viz::visible_token(id == 300 ? " the" : "?");
  };
  EXPECT_EQ(viz::label_token(bpe, 300, 400), "\u2423the");
  EXPECT_EQ(viz::label_token(viz::TokenLabeler(), 300, 400), "<300>");
  EXPECT_EQ(viz::label_token(viz::TokenLabeler(), 97, 400), "a");
}

TEST(InspectTokens, PartialUtf8IsEscaped) {
  EXPECT_EQ(viz::visible_token("\xC3\xA9"), "\xC3\xA9");  // é stays
  EXPECT_EQ(viz::visible_token("\xC3"), "\\xC3");         // half of it does not
  EXPECT_EQ(viz::token_label(0xE2, 256), "\\xE2");
  EXPECT_EQ(viz::visible_token("\xED\xA0\x80"), "\\xED\\xA0\\x80");  // a surrogate
}

TEST(InspectTokens, EscapesForHtmlAndScripts) {
  EXPECT_EQ(viz::html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  EXPECT_EQ(viz::js_string("</script>\"\\"), "\"\\u003c/script\\u003e\\\"\\\\\"");
}

TEST(InspectTokens, PromptEncoding) {
  EXPECT_EQ(viz::encode_prompt("hi", 256), (std::vector<int64_t>{104, 105}));
  EXPECT_THROW(viz::encode_prompt("", 256), Error);
  try {
    viz::encode_prompt("hi", 32);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocab_size >= 256"), std::string::npos);
  }
}

}  // namespace
}  // namespace seekforge
