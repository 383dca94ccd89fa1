#pragma once
/// @file engine_options.h
/// The engine-specific settings that travel in SessionOptions::engine_options:
/// one table of keys, the CLI flag that sets each and the values it takes, so
/// the CLI (which must refuse a bad value before any work) and the adapter
/// that reads the key check against the same list.

#include <map>
#include <string>
#include <vector>

namespace inferlab {

/// One setting: "<backend>.<setting>", the flag, and the accepted values.
struct EngineOption {
  std::string key;                  ///< e.g. "onnxruntime.graph_optimization"
  std::string flag;                 ///< e.g. "--ort-opt"
  std::vector<std::string> values;  ///< accepted values (unused when `count`)
  bool count = false;               ///< accepts a whole number >= 0 (e.g. --tvm-trials) instead of `values`
};

/// Every engine option inferlab knows. Thread-safe (a constant table).
const std::vector<EngineOption>& known_engine_options();

/// Throws Error naming the flag and the accepted values when `value` is not
/// one of `key`'s, or naming the known keys of its backend when `key` is unknown.
void check_engine_option(const std::string& key, const std::string& value);

/// Sets options[key] = value after check_engine_option(); an empty value
/// (the flag not given) sets nothing.
void set_engine_option(std::map<std::string, std::string>& options, const std::string& key, const std::string& value);

}  // namespace inferlab
