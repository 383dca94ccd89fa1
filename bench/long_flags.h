#pragma once
// The bench programs' command lines: "--name N" pairs, and a main() that
// turns an exception into one line and exit 2.
#include <exception>
#include <iostream>
#include <map>
#include <string>

namespace inferlab::bench {

/// Reads "--name N" pairs from argv[first..] into `values`, whose keys are
/// the accepted names (without "--") and whose values are the defaults.
/// Prints one line naming the problem and returns false on an unknown flag,
/// a missing value or a value that is not a positive integer.
inline bool parse_long_flags(int argc, char** argv, int first, std::map<std::string, long>& values,
                             const std::string& program) {
  for (int i = first; i < argc; i += 2) {
    const std::string flag = argv[i];
    auto it = flag.rfind("--", 0) == 0 ? values.find(flag.substr(2)) : values.end();
    if (it == values.end()) {
      std::cerr << program << ": unknown flag " << flag << '\n';
      return false;
    }
    if (i + 1 >= argc) {
      std::cerr << program << ": " << flag << " needs a value\n";
      return false;
    }
    try {
      std::size_t used = 0;
      const long value = std::stol(argv[i + 1], &used);
      if (used != std::string(argv[i + 1]).size() || value < 1) throw std::invalid_argument(argv[i + 1]);
      it->second = value;
    } catch (const std::exception&) {
      std::cerr << program << ": " << flag << " " << argv[i + 1] << ": expected a positive integer\n";
      return false;
    }
  }
  return true;
}

/// Runs `run` and turns any exception into "program: message" on stderr and
/// exit 2, so every bench program fails the same way on bad input.
inline int main_reporting_errors(const char* program, int (*run)(int, char**), int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << '\n';
    return 2;
  }
}

}  // namespace inferlab::bench
