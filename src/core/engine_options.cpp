#include "inferlab/engine_options.h"

#include <algorithm>

#include "inferlab/error.h"

namespace inferlab {

namespace {

// "a, b or c", as the one-line errors say it.
std::string choices(const std::vector<std::string>& values) {
  std::string text;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += i + 1 == values.size() ? " or " : ", ";
    text += values[i];
  }
  return text;
}

}  // namespace

const std::vector<EngineOption>& known_engine_options() {
  static const std::vector<EngineOption> options = {
      {"onnxruntime.graph_optimization", "--ort-opt", {"all", "extended", "basic", "disable"}},
      {"onnxruntime.spinning", "--ort-spinning", {"on", "off"}},
      {"openvino.hint", "--ov-hint", {"latency", "throughput"}},
      {"tvm.trials", "--tvm-trials", {}, true},
  };
  return options;
}

void check_engine_option(const std::string& key, const std::string& value) {
  const auto& options = known_engine_options();
  const auto it = std::find_if(options.begin(), options.end(), [&](const EngineOption& o) { return o.key == key; });
  if (it == options.end()) {
    const std::string backend = key.substr(0, key.find('.'));
    std::vector<std::string> keys;
    for (const auto& o : options)
      if (o.key.rfind(backend + ".", 0) == 0) keys.push_back(o.key);
    throw Error(backend + ": unknown engine option '" + key + "'" +
                (keys.empty() ? std::string() : " (known: " + choices(keys) + ")"));
  }
  if (it->count) {
    const bool digits = !value.empty() && value.size() <= 9 &&
                        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) throw Error(it->flag + " " + value + ": expected a whole number >= 0 (at most 9 digits)");
    return;
  }
  if (std::find(it->values.begin(), it->values.end(), value) == it->values.end())
    throw Error(it->flag + " " + value + ": expected " + choices(it->values));
}

void set_engine_option(std::map<std::string, std::string>& options, const std::string& key, const std::string& value) {
  if (value.empty()) return;
  check_engine_option(key, value);
  options[key] = value;
}

}  // namespace inferlab
