// Jetson INA3221 rails, in either driver's layout:
//  - legacy IIO driver (L4T <= 32): /sys/bus/i2c/drivers/ina3221x/*/iio:device*/
//    in_power<K>_input (milliwatts) named by rail_name_<K>;
//  - hwmon driver (L4T >= 34): /sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*/
//    in<K>_label, in<K>_input (bus millivolts), curr<K>_input (milliamps).
// Rails on one board overlap (VDD_IN feeds the others), so when a
// module-input rail is labelled (VDD_IN, POM_5V_IN, VIN_SYS_5V0) it alone is
// the figure; otherwise every rail found is added, and the description says which.
#include <algorithm>
#include <cctype>

#include "power_reader.h"

namespace inferlab::power {

namespace {

struct Rail {
  std::string label;
  fs::path power_mw;    // legacy: in_power<K>_input
  fs::path voltage_mv;  // hwmon: in<K>_input
  fs::path current_ma;  // hwmon: curr<K>_input
};

bool is_module_input(std::string label) {
  std::transform(label.begin(), label.end(), label.begin(), [](unsigned char c) { return std::toupper(c); });
  const bool ends_in = label.size() >= 3 && label.compare(label.size() - 3, 3, "_IN") == 0;
  return ends_in || label.rfind("VIN", 0) == 0;
}

std::optional<double> rail_power_w(const Rail& r) {
  if (!r.power_mw.empty()) {
    const auto mw = read_sysfs_u64(r.power_mw);
    return mw ? std::optional<double>(static_cast<double>(*mw) * 1e-3) : std::nullopt;
  }
  const auto mv = read_sysfs_u64(r.voltage_mv);
  const auto ma = read_sysfs_u64(r.current_ma);
  if (!mv || !ma) return std::nullopt;
  return static_cast<double>(*mv) * static_cast<double>(*ma) * 1e-6;
}

void find_legacy(const fs::path& root, std::vector<Rail>& rails) {
  for (const fs::path& dev : sorted_entries(under_root(root, "/sys/bus/i2c/drivers/ina3221x"), "")) {
    for (const fs::path& iio : sorted_entries(dev, "iio:device")) {
      for (const fs::path& file : sorted_entries(iio, "in_power")) {
        const std::string f = file.filename().string();
        const auto k = index_after(f, "in_power");
        if (!k || f != "in_power" + std::to_string(*k) + "_input") continue;
        Rail r;
        r.label = read_sysfs_line(iio / ("rail_name_" + std::to_string(*k))).value_or("channel " + std::to_string(*k));
        r.power_mw = file;
        rails.push_back(std::move(r));
      }
    }
  }
}

void find_hwmon(const fs::path& root, std::vector<Rail>& rails) {
  for (const fs::path& dev : sorted_entries(under_root(root, "/sys/bus/i2c/drivers/ina3221"), "")) {
    for (const fs::path& hw : sorted_entries(dev / "hwmon", "hwmon")) {
      for (const fs::path& file : sorted_entries(hw, "curr")) {
        const std::string f = file.filename().string();
        const auto k = index_after(f, "curr");
        if (!k || f != "curr" + std::to_string(*k) + "_input") continue;
        const std::string n = std::to_string(*k);
        auto label = read_sysfs_line(hw / ("in" + n + "_label"));
        if (!label || *label == "NC") continue;  // unconnected channel
        Rail r;
        r.label = *label;
        r.voltage_mv = hw / ("in" + n + "_input");
        r.current_ma = file;
        rails.push_back(std::move(r));
      }
    }
  }
}

class Ina3221Reader final : public PowerReader {
 public:
  explicit Ina3221Reader(const fs::path& root) {
    std::vector<Rail> found;
    find_legacy(root, found);
    find_hwmon(root, found);
    std::vector<std::string> problems;
    std::vector<Rail> readable;
    for (Rail& r : found) {
      if (rail_power_w(r)) {
        readable.push_back(std::move(r));
      } else {
        const fs::path p = r.power_mw.empty() ? r.current_ma : r.power_mw;
        problems.push_back(r.label + " (" + p.string() + "): " + unreadable_reason(p));
      }
    }
    for (const Rail& r : readable) {
      if (is_module_input(r.label)) rails_.push_back(r);
    }
    const bool total = !rails_.empty();
    if (!total) rails_ = readable;
    if (!rails_.empty()) {
      std::string list;
      for (const auto& r : rails_) append_joined(list, " + ", r.label);
      describe_ = "INA3221 " + list + (total ? " (module input rail)" : " (every rail found, added)");
    } else if (!problems.empty()) {
      describe_ = "n/a: INA3221 rail not readable: " + problems.front();
    } else {
      describe_ = "n/a: no INA3221 under " + under_root(root, "/sys/bus/i2c/drivers/ina3221x").string() +
                  "/*/iio:device*/in_power*_input or " + under_root(root, "/sys/bus/i2c/drivers/ina3221").string() +
                  "/*/hwmon/hwmon*/curr*_input";
    }
  }

  std::string name() const override { return "ina3221"; }
  bool available() const override { return !rails_.empty(); }
  std::string describe() const override { return describe_; }
  ReadMethod method() const override { return ReadMethod::kSampled; }

  std::optional<double> read_power_w() override {
    if (rails_.empty()) return std::nullopt;
    double watts = 0;
    for (const Rail& r : rails_) {
      const auto w = rail_power_w(r);
      if (!w) return std::nullopt;
      watts += *w;
    }
    return watts;
  }

 private:
  std::vector<Rail> rails_;
  std::string describe_;
};

}  // namespace

std::unique_ptr<PowerReader> make_ina3221_reader(const fs::path& root) { return std::make_unique<Ina3221Reader>(root); }

}  // namespace inferlab::power
