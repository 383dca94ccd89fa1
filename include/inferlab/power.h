#pragma once
/// @file power.h
/// Energy and power from real sensors only: RAPL (powercap), NVIDIA NVML
/// (dlopen'ed at run time), hwmon power/energy rails and Jetson INA3221 rails.
/// Where no sensor exists the reading is absent and says why: never an estimate.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace inferlab {

/// Where EnergyMeter looks for sensors. Value type.
struct EnergyMeterOptions {
  /// Prefix of every sysfs path ("/sys/class/powercap" is read as
  /// root/"sys/class/powercap"); tests point it at a fake tree.
  std::filesystem::path root = "/";
  /// What dlopen() is asked for to reach NVML; empty skips NVML.
  std::string nvml_library = "libnvidia-ml.so.1";
  /// How often power-only sensors (hwmon power*_input, INA3221, NVML power
  /// usage) are sampled by the background thread, in milliseconds (>= 1).
  int sample_interval_ms = 20;
};

/// One reader's status on this machine (for `inferlab info` and results).
/// Value type.
struct PowerReaderStatus {
  std::string name;        ///< "rapl" | "nvml" | "hwmon" | "ina3221"
  bool available = false;  ///< a sensor was found and read once
  bool used = false;       ///< the meter's energy figure includes this reader
  std::string method;      ///< "counter" (energy counter) | "sampled" (power integrated over time) | "" when n/a
  /// The sensors read (paths, rail labels, GPU indices), or "n/a: <reason>"
  /// naming what was looked for; when available but unused, why it is unused.
  std::string detail;
};

/// Which sensor and method produced an energy figure. Value type.
struct EnergySource {
  std::string sensor;          ///< e.g. "RAPL package-0 (.../intel-rapl:0/energy_uj)"
  std::string method;          ///< "counter" | "sampled" | "counter+sampled"
  int sample_interval_ms = 0;  ///< the sampling interval when any part is sampled, else 0
  bool operator==(const EnergySource&) const = default;
};

/// Total energy of the machine's measurable domains, from every reader that
/// works here: RAPL packages and NVML GPUs (disjoint domains, summed), a
/// Jetson INA3221 (the module-input rail where one is labelled, else every
/// rail), and hwmon only when none of those exist (hwmon drivers often
/// re-export RAPL or a GPU, which would count twice). Counters are read as
/// differences with wrap-around undone (RAPL's max_energy_range_uj);
/// power-only sensors are integrated (trapezoidal, E = integral of P dt) by a
/// background thread started at the first read_energy_uj() and stopped by the
/// destructor.
/// Thread-safety: every member function may be called from any thread.
/// Movable, not copyable.
class EnergyMeter {
 public:
  /// Finds the sensors under "/" with the default options. Never throws.
  EnergyMeter();
  /// Finds the sensors as `options` says. Never throws.
  explicit EnergyMeter(EnergyMeterOptions options);
  ~EnergyMeter();
  EnergyMeter(EnergyMeter&&) noexcept;
  EnergyMeter& operator=(EnergyMeter&&) noexcept;

  /// True when at least one reader contributes to the energy figure.
  bool available() const;
  /// The sensor(s) used ("RAPL package-0 (counter)"), or "n/a: <reason>".
  const std::string& description() const;
  /// Why there is no figure ("n/a: no RAPL under /sys/class/powercap, ..."),
  /// naming every place looked in; empty when available().
  const std::string& reason() const;
  /// Every reader with its status, in a fixed order (rapl, nvml, ina3221, hwmon).
  const std::vector<PowerReaderStatus>& readers() const;
  /// Which sensor and method a figure from this meter comes from; nullopt
  /// when !available().
  std::optional<EnergySource> source() const;
  /// Energy in microjoules accumulated since this meter's first call (the
  /// first call returns 0 and starts the sampler, if any). Monotonic: only
  /// differences between two calls mean anything. nullopt when unavailable or
  /// when a sensor stopped answering (the figure is then not trustworthy).
  std::optional<std::uint64_t> read_energy_uj() const;
  /// The same reading and, in `read_at_ns`, the steady-clock time (ns) it
  /// covers up to: a rate computed against this time, not the caller's own
  /// clock read after the call, stays exact when the caller is preempted.
  std::optional<std::uint64_t> read_energy_uj(std::int64_t& read_at_ns) const;

  struct Impl;  ///< implementation detail (src/measure/power/)

 private:
  std::unique_ptr<Impl> impl_;
};

/// An energy figure over one measured window. Value type.
struct EnergyFigure {
  std::optional<double> power_w_avg;              ///< joules / seconds; null without a reading
  std::optional<double> energy_mj_per_inference;  ///< millijoules per sample (inference x batch)
};

/// The figure from two read_energy_uj() results around a window of
/// `duration_s` seconds in which `inferences` samples ran. Any missing input,
/// a non-positive duration or count, or end < start gives an empty figure.
/// Thread-safe (pure function).
EnergyFigure energy_figure(std::optional<std::uint64_t> start_uj, std::optional<std::uint64_t> end_uj,
                           double duration_s, std::int64_t inferences);

/// Average power over successive intervals, for gauges that are read
/// repeatedly (`serve` /metrics, `live`): each update_w() returns the mean
/// power since the previous call (or since construction). Holds a reference
/// to the meter, which must outlive it. Not thread-safe: one caller at a time.
class PowerRate {
 public:
  /// Starts the first interval now.
  explicit PowerRate(const EnergyMeter& meter);
  /// Mean power in watts since the previous call; nullopt when the meter has
  /// no reading or no time has passed.
  std::optional<double> update_w();

 private:
  const EnergyMeter& meter_;
  std::optional<std::uint64_t> last_uj_;
  std::int64_t last_ns_ = 0;
};

}  // namespace inferlab
