// Words for TOML values in error messages, shared by every reader of a TOML file (the model and
// training config, the cleaning pipeline).
#pragma once

#include <toml++/toml.h>

namespace seekforge {

// "a string", "an integer", "a float", ... for the node's type.
const char* toml_type_name(const toml::node& node);

}  // namespace seekforge
