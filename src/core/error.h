// Errors: the one exception type seekforge throws, and the SF_CHECK macro that raises it.
//
// SF_CHECK(cond) << "what went wrong, with the shapes"; throws seekforge::Error carrying
// file:line, the failed condition and the streamed message. Kernels never throw: checks live
// in the op and io layers, before any raw pointer is touched.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace seekforge {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {

// Collects a message with operator<< and throws when the full expression ends.
class ErrorBuilder {
 public:
  ErrorBuilder(const char* file, int line, const char* condition) {
    stream_ << file << ":" << line << ": ";
    if (condition != nullptr) stream_ << "check failed: " << condition << ": ";
  }
  ErrorBuilder(const ErrorBuilder&) = delete;
  ErrorBuilder& operator=(const ErrorBuilder&) = delete;
  template <typename T>
  ErrorBuilder& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }
  [[noreturn]] ~ErrorBuilder() noexcept(false) { throw Error(stream_.str()); }

 private:
  std::ostringstream stream_;
};

}  // namespace detail
}  // namespace seekforge

#define SF_CHECK(cond) \
  if (cond) {          \
  } else               \
    ::seekforge::detail::ErrorBuilder(__FILE__, __LINE__, #cond)

#define SF_FAIL() ::seekforge::detail::ErrorBuilder(__FILE__, __LINE__, nullptr)
