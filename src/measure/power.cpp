#include "inferlab/power.h"

#include <filesystem>
#include <fstream>

namespace inferlab {

namespace fs = std::filesystem;

EnergyMeter::EnergyMeter() {
  std::error_code ec;
  const fs::path powercap = "/sys/class/powercap";
  if (fs::is_directory(powercap, ec)) {
    for (const auto& entry : fs::directory_iterator(powercap, ec)) {
      // Top-level package domains only ("intel-rapl:0"); sub-domains
      // ("intel-rapl:0:0") are already included in their package's counter.
      std::string name = entry.path().filename().string();
      if (name.rfind("intel-rapl:", 0) != 0 || name.find(':', 11) != std::string::npos) continue;
      fs::path counter = entry.path() / "energy_uj";
      std::ifstream in(counter);
      std::uint64_t value = 0;
      if (in >> value) counter_paths_.push_back(counter.string());
    }
  }
  description_ = counter_paths_.empty()
                     ? "n/a: no power sensor readable (no RAPL under /sys/class/powercap, no hwmon power rail)"
                     : "RAPL package energy (" + std::to_string(counter_paths_.size()) + " domain(s))";
}

std::optional<std::uint64_t> EnergyMeter::read_energy_uj() const {
  if (counter_paths_.empty()) return std::nullopt;
  std::uint64_t total = 0;
  for (const auto& path : counter_paths_) {
    std::ifstream in(path);
    std::uint64_t value = 0;
    if (!(in >> value)) return std::nullopt;
    total += value;
  }
  return total;
}

}  // namespace inferlab
