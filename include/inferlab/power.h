#pragma once
/// @file power.h
/// Energy readings from real sensors only (RAPL via powercap). Where no
/// sensor exists the reading is absent and says why: never an estimate.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace inferlab {

/// A cumulative energy counter (package domains of /sys/class/powercap/intel-rapl*).
class EnergyMeter {
 public:
  /// Finds the sensors. Never throws.
  EnergyMeter();
  /// True when at least one readable counter exists.
  bool available() const { return !counter_paths_.empty(); }
  /// Why no reading is available ("n/a: ..."), or the sensor used.
  const std::string& description() const { return description_; }
  /// Sum of all package counters in microjoules; nullopt when unavailable.
  std::optional<std::uint64_t> read_energy_uj() const;

 private:
  std::string description_;
  std::vector<std::string> counter_paths_;
};

}  // namespace inferlab
