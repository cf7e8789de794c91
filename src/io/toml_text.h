// Text for TOML values, shared by every reader and writer of a TOML file (the model and training
// config, the RL config, the cleaning pipeline): the words for a value's type, the value as it is
// written back, and the "did you mean" hint for a misspelt key. One copy, so a config file and
// its error messages look the same whichever part of seekforge wrote them.
//
// What this is not: a TOML writer (each config writes its own tables and key order) or a parser
// (toml++ reads). All functions are pure and thread-safe.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <vector>

namespace seekforge {

// "a string", "an integer", "a float", ... for the node's type.
const char* toml_type_name(const toml::node& node);

// The shortest text that reads back as the same double, in TOML float syntax: always a '.' or an
// exponent (so it parses as a float, not an integer), the exponent without leading zeros
// ("1e-6", not "1e-06"), and nan / inf / -inf.
std::string format_double(double v);

// A TOML basic string: quotes, backslashes and control characters escaped; UTF-8 kept as is.
std::string quote(const std::string& s);

// A scalar as it is written in a TOML file: integers in decimal, doubles by format_double,
// true / false, strings by quote.
std::string format_value(int64_t v);
std::string format_value(uint64_t v);
std::string format_value(double v);
std::string format_value(bool v);
std::string format_value(const std::string& v);

// " (did you mean '<prefix><pick>'?)" where pick is the candidate closest to name (edit distance,
// ignoring case) within 2 edits and fewer edits than name has characters; "" when none is.
// The first of equally close candidates wins.
std::string suggestion(const std::string& name, const std::vector<std::string>& candidates,
                       const std::string& prefix = "");

}  // namespace seekforge
