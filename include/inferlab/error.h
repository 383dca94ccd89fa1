#pragma once
/// @file error.h
/// Errors thrown by library code. Only the CLI's main turns them into exit codes.

#include <stdexcept>
#include <string>

namespace inferlab {

/// What kind of failure an Error reports; the CLI maps it to an exit code.
enum class ErrorKind {
  kBadInput,     ///< bad usage or bad input (a file, a flag): exit 2
  kCheckFailed,  ///< the run finished but a check failed (accuracy, mismatch): exit 1
  kRuntime,      ///< an engine or the system failed while working: exit 2 at the CLI
  kUnsupported,  ///< a valid model or setting the engine deliberately does not implement: exit 2 at the CLI
};

/// The one exception type library code throws. The message is a single line a
/// user can act on: it names the file or flag and what is wrong.
/// Thread-safety: immutable after construction.
class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, ErrorKind kind = ErrorKind::kBadInput)
      : std::runtime_error(std::move(message)), kind_(kind) {}

  /// The kind of failure, for the exit-code mapping.
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace inferlab
