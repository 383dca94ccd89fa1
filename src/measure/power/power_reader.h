#pragma once
// The readers EnergyMeter composes (include/inferlab/power.h). Internal to
// src/measure/power/: each reader finds its sensors under a root directory,
// says what it found or why not, and reads either an energy counter or an
// instantaneous power.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inferlab/power.h"

namespace inferlab::power {

namespace fs = std::filesystem;

/// How a reader yields energy.
enum class ReadMethod {
  kCounter,  ///< read_energy_uj(): a cumulative counter, differenced by the meter
  kSampled,  ///< read_power_w(): instantaneous power, integrated by the sampler
};

/// One kind of sensor. Constructed by a make_*_reader() below, which never
/// throws. read_* may be called from any thread (the sampler's included) but
/// not concurrently on one reader: EnergyMeter serialises them.
class PowerReader {
 public:
  virtual ~PowerReader() = default;
  /// "rapl" | "nvml" | "hwmon" | "ina3221".
  virtual std::string name() const = 0;
  /// A sensor was found and read once.
  virtual bool available() const = 0;
  /// The sensors read, or "n/a: <reason>" naming what was looked for.
  virtual std::string describe() const = 0;
  /// Meaningful only when available().
  virtual ReadMethod method() const = 0;
  /// kCounter readers: energy in microjoules accumulated since this reader's
  /// first read, wrap-around undone; nullopt when a read fails.
  virtual std::optional<std::uint64_t> read_energy_uj() { return std::nullopt; }
  /// kSampled readers: power in watts now; nullopt when a read fails.
  virtual std::optional<double> read_power_w() { return std::nullopt; }
};

/// RAPL package domains under root/sys/class/powercap (intel-rapl:N, also
/// used for AMD by the same kernel driver).
std::unique_ptr<PowerReader> make_rapl_reader(const fs::path& root);
/// NVIDIA GPUs through NVML, dlopen'ed from `library` (never linked).
std::unique_ptr<PowerReader> make_nvml_reader(const std::string& library);
/// Jetson INA3221 rails: the legacy ina3221x IIO driver and the hwmon ina3221 driver.
std::unique_ptr<PowerReader> make_ina3221_reader(const fs::path& root);
/// hwmon chips under root/sys/class/hwmon (energy*_input, else power*_input),
/// INA3221 chips excluded (their own reader handles them).
std::unique_ptr<PowerReader> make_hwmon_reader(const fs::path& root);

/// root joined with an absolute sysfs path ("/sys/class/powercap").
fs::path under_root(const fs::path& root, const std::string& absolute);
/// The first whitespace-delimited token of a sysfs file as an unsigned
/// integer; nullopt when the file cannot be opened or holds no number.
std::optional<std::uint64_t> read_sysfs_u64(const fs::path& path);
/// The first line of a sysfs file, trailing whitespace removed; nullopt when unreadable.
std::optional<std::string> read_sysfs_line(const fs::path& path);
/// Why `path` could not be read, in words ("permission denied", "no such file").
std::string unreadable_reason(const fs::path& path);
/// Entries of `dir` whose file name starts with `prefix`, sorted by name
/// with numbers compared numerically ("hwmon2" < "hwmon10"); empty when absent.
std::vector<fs::path> sorted_entries(const fs::path& dir, const std::string& prefix);
/// The decimal number right after `prefix` in `name` ("power12_input" -> 12).
std::optional<int> index_after(const std::string& name, const std::string& prefix);

/// Appends `item` to `list`, with `separator` before it unless `list` is empty.
void append_joined(std::string& list, const char* separator, const std::string& item);

/// Undoes a counter's wrap-around: the energy between two raw readings of a
/// counter that counts from 0 up to `max_range` and then restarts at 0
/// (`max_range` 0: the counter never wraps and a decrease is an error).
/// Pure function.
std::optional<std::uint64_t> counter_delta(std::uint64_t previous, std::uint64_t now, std::uint64_t max_range);

}  // namespace inferlab::power
