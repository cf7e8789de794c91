// The message of the seekforge::Error a callable throws, for tests that check what a user is told.
#pragma once

#include <functional>
#include <string>

#include "core/error.h"

namespace seekforge::testing {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace seekforge::testing
