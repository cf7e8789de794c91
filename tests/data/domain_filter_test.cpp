// Tests of the domain scores: TF-IDF cosine and unigram KL divergence rank in-domain text
// (held-out licence text, against a licence reference set) above off-domain text (programming
// documentation), and the degenerate inputs behave.
#include "data/domain_filter.h"

#include <gtest/gtest.h>

#include "data/temp_dir.h"

namespace seekforge::data {
namespace {

const std::vector<std::string> kLegal = {
    "the licensee may copy and distribute the program under the terms of this license",
    "you must give any other recipients of the work a copy of this license",
    "the copyright holder provides the program as is without warranty of any kind",
    "redistribution and use in source and binary forms are permitted provided that the notice "
    "is retained",
};

TEST(Domain, TfidfRanksInDomainHigher) {
  const TfidfDomain d({kLegal.begin(), kLegal.end()});
  const double legal = d.similarity("this license lets you copy the program without warranty");
  const double code = d.similarity("call the function with a pointer and a size; it returns zero");
  const double cooking = d.similarity("fold the flour into the eggs and bake for an hour");
  EXPECT_GT(legal, 0.3);
  EXPECT_GT(legal, code);
  EXPECT_GT(legal, cooking);
  EXPECT_LE(legal, 1.0 + 1e-12);
  EXPECT_EQ(d.similarity(""), 0.0);
  EXPECT_NEAR(TfidfDomain({"a b"}).similarity("A B"), 1.0, 1e-12);  // case-folded
}

TEST(Domain, KlRanksInDomainLower) {
  const KlDomain d({kLegal.begin(), kLegal.end()}, 0.01);
  const double legal = d.divergence("this license lets you copy the program without warranty");
  const double cooking = d.divergence("fold the flour into the eggs and bake for an hour");
  EXPECT_GE(legal, 0.0);
  EXPECT_LT(legal, cooking);
  EXPECT_EQ(d.divergence(""), 0.0);
  testing::expect_error([] { KlDomain({}, 0.01); }, {"reference set is empty"});
  testing::expect_error([] { KlDomain({"a"}, 0.0); }, {"alpha"});
}

}  // namespace
}  // namespace seekforge::data
