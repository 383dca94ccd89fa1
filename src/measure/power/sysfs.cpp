// Small sysfs helpers shared by the power readers.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <tuple>

#include "power_reader.h"

namespace inferlab::power {

fs::path under_root(const fs::path& root, const std::string& absolute) {
  return root / fs::path(absolute).relative_path();
}

std::optional<std::uint64_t> read_sysfs_u64(const fs::path& path) {
  std::ifstream in(path);
  std::uint64_t value = 0;
  if (!(in >> value)) return std::nullopt;
  return value;
}

std::optional<std::string> read_sysfs_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  return line;
}

std::string unreadable_reason(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::strerror(errno);
  std::string token;
  if (!(in >> token)) return "empty or unreadable";
  return "not a number ('" + token + "')";
}

std::optional<int> index_after(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) return std::nullopt;
  int value = 0;
  std::size_t i = prefix.size();
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    value = value * 10 + (name[i] - '0');
  }
  if (i == prefix.size()) return std::nullopt;
  return value;
}

std::vector<fs::path> sorted_entries(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) out.push_back(entry.path());
  }
  // Numeric-aware order: "hwmon2" before "hwmon10", "intel-rapl:1" before "intel-rapl:10".
  auto key = [](const fs::path& p) {
    const std::string s = p.filename().string();
    std::size_t digits = s.size();
    while (digits > 0 && std::isdigit(static_cast<unsigned char>(s[digits - 1]))) --digits;
    return std::make_tuple(s.substr(0, digits), s.size() - digits, s);
  };
  std::sort(out.begin(), out.end(), [&](const fs::path& a, const fs::path& b) { return key(a) < key(b); });
  return out;
}

void append_joined(std::string& list, const char* separator, const std::string& item) {
  if (!list.empty()) list += separator;
  list += item;
}

std::optional<std::uint64_t> counter_delta(std::uint64_t previous, std::uint64_t now, std::uint64_t max_range) {
  if (now >= previous) return now - previous;
  // The counter passed max_range and restarted at 0 (powercap's documented
  // wrap): what remained to the top plus what was counted after it.
  if (max_range == 0 || previous > max_range) return std::nullopt;
  return (max_range - previous) + now;
}

}  // namespace inferlab::power
