// hwmon power rails under /sys/class/hwmon/hwmonN: energy*_input
// (microjoules, cumulative) where any chip has one, else power*_input
// (microwatts, instantaneous; sampled). INA3221 chips are left to their own
// reader (ina3221_reader.cpp), which knows their rail layout.
#include "power_reader.h"

namespace inferlab::power {

namespace {

constexpr const char* kHwmon = "/sys/class/hwmon";

struct Rail {
  std::string label;  // "hwmon0 (chip) power1 [label]"
  fs::path path;
  std::uint64_t last_uj = 0;  // energy rails only
};

class HwmonReader final : public PowerReader {
 public:
  explicit HwmonReader(const fs::path& root) {
    const fs::path dir = under_root(root, kHwmon);
    std::vector<Rail> energy, power;
    std::vector<std::string> problems;
    int chips = 0;
    for (const fs::path& chip : sorted_entries(dir, "hwmon")) {
      const std::string chip_name = read_sysfs_line(chip / "name").value_or("?");
      if (chip_name == "ina3221") continue;
      ++chips;
      for (const char* kind : {"energy", "power"}) {
        for (const fs::path& file : sorted_entries(chip, kind)) {
          const std::string f = file.filename().string();
          const auto index = index_after(f, kind);
          if (!index || f != std::string(kind) + std::to_string(*index) + "_input") continue;
          Rail rail;
          rail.path = file;
          rail.label = chip.filename().string() + " (" + chip_name + ") " + kind + std::to_string(*index);
          if (auto label = read_sysfs_line(chip / (std::string(kind) + std::to_string(*index) + "_label"))) {
            rail.label += " [" + *label + "]";
          }
          const auto first = read_sysfs_u64(file);
          if (!first) {
            problems.push_back(file.string() + ": " + unreadable_reason(file));
            continue;
          }
          rail.last_uj = *first;
          (std::string(kind) == "energy" ? energy : power).push_back(std::move(rail));
        }
      }
    }
    counter_ = !energy.empty();
    rails_ = counter_ ? std::move(energy) : std::move(power);
    if (!rails_.empty()) {
      std::string list;
      for (const auto& r : rails_) append_joined(list, ", ", r.label);
      describe_ = "hwmon " + list + (counter_ ? " (energy*_input, uJ)" : " (power*_input, uW)");
    } else if (!problems.empty()) {
      describe_ = "n/a: hwmon power rail not readable: " + problems.front();
    } else {
      describe_ = "n/a: no hwmon energy*_input or power*_input under " + dir.string() + " (" + std::to_string(chips) +
                  " chip(s) looked at)";
    }
  }

  std::string name() const override { return "hwmon"; }
  bool available() const override { return !rails_.empty(); }
  std::string describe() const override { return describe_; }
  ReadMethod method() const override { return counter_ ? ReadMethod::kCounter : ReadMethod::kSampled; }

  std::optional<std::uint64_t> read_energy_uj() override {
    if (!counter_ || rails_.empty()) return std::nullopt;
    for (Rail& r : rails_) {
      const auto raw = read_sysfs_u64(r.path);
      if (!raw) return std::nullopt;
      const auto delta = counter_delta(r.last_uj, *raw, 0);  // 64-bit counters: a decrease is an error
      if (!delta) return std::nullopt;
      r.last_uj = *raw;
      total_uj_ += *delta;
    }
    return total_uj_;
  }

  std::optional<double> read_power_w() override {
    if (counter_ || rails_.empty()) return std::nullopt;
    double watts = 0;
    for (const Rail& r : rails_) {
      const auto uw = read_sysfs_u64(r.path);
      if (!uw) return std::nullopt;
      watts += static_cast<double>(*uw) * 1e-6;
    }
    return watts;
  }

 private:
  std::vector<Rail> rails_;
  bool counter_ = false;
  std::string describe_;
  std::uint64_t total_uj_ = 0;
};

}  // namespace

std::unique_ptr<PowerReader> make_hwmon_reader(const fs::path& root) { return std::make_unique<HwmonReader>(root); }

}  // namespace inferlab::power
