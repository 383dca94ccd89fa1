#include "cli_util.h"

#include <unistd.h>

#include <algorithm>

#include "inferlab/error.h"
#include "inferlab/registry.h"

namespace inferlab::cli {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::string current;
  auto flush = [&] {
    auto begin = current.find_first_not_of(" \t");
    auto end = current.find_last_not_of(" \t");
    if (begin != std::string::npos) items.push_back(current.substr(begin, end - begin + 1));
    current.clear();
  };
  for (char c : text) {
    if (c == ',') {
      flush();
    } else {
      current += c;
    }
  }
  flush();
  return items;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

std::vector<std::int64_t> parse_positive_list(const std::string& text, const std::string& flag) {
  std::vector<std::int64_t> values;
  for (const auto& item : split_list(text)) {
    std::size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || used == 0) throw Error(flag + " " + text + ": '" + item + "' is not an integer");
    if (value < 1) throw Error(flag + " " + text + ": must be >= 1 (got " + item + ")");
    values.push_back(value);
  }
  if (values.empty()) throw Error(flag + ": give at least one value");
  return values;
}

std::map<std::string, Shape> parse_shapes(const std::vector<std::string>& items) {
  std::map<std::string, Shape> shapes;
  for (const auto& item : items) {
    auto eq = item.find('=');
    std::string name = eq == std::string::npos ? "" : item.substr(0, eq);
    Shape shape = shape_from_string(eq == std::string::npos ? item : item.substr(eq + 1));
    if (!shape_is_static(shape) || std::any_of(shape.begin(), shape.end(), [](auto d) { return d < 1; })) {
      throw Error("--shape " + item + ": every dimension must be a positive integer");
    }
    shapes[name] = shape;
  }
  return shapes;
}

Environment environment_with_engines(int threads) {
  Environment env = capture_environment();
  for (const auto& entry : known_backends()) {
    if (!entry.compiled_in || entry.name == "null") continue;
    try {
      env.libraries[entry.name] = shared_backend(entry.name).version();
    } catch (const std::exception& e) {
      env.libraries[entry.name] = std::string("unavailable: ") + e.what();
    }
  }
  env.threads = threads;
  return env;
}

int default_thread_count() {
  long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 ? static_cast<int>(cores) : 1;
}

}  // namespace inferlab::cli
