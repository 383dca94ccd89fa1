// The power readers against fake sysfs trees (RAPL with a wrapping counter,
// hwmon, INA3221 in both driver layouts) and a fake NVML library; and the
// n/a path, which must say what was looked for.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "inferlab/power.h"
#include "inferlab/result.h"
#include "inferlab/worker.h"

namespace inferlab {
namespace {

namespace fs = std::filesystem;

class FakeTree {
 public:
  FakeTree() {
    root_ =
        fs::temp_directory_path() / ("inferlab-power-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~FakeTree() { fs::remove_all(root_); }
  const fs::path& root() const { return root_; }
  void write(const std::string& relative, const std::string& text) const {
    // Whole-file replacement, as a sysfs read sees it: the sampler thread
    // never reads a half-written file.
    const fs::path p = root_ / relative;
    fs::create_directories(p.parent_path());
    const fs::path tmp = p.string() + ".tmp";
    std::ofstream(tmp) << text << '\n';
    fs::rename(tmp, p);
  }
  EnergyMeter meter(int interval_ms = 5) const {
    EnergyMeterOptions o;
    o.root = root_;
    o.nvml_library = "";
    o.sample_interval_ms = interval_ms;
    return EnergyMeter(o);
  }

 private:
  fs::path root_;
  static inline int counter_ = 0;
};

const PowerReaderStatus& status_of(const EnergyMeter& m, const std::string& name) {
  for (const auto& s : m.readers()) {
    if (s.name == name) return s;
  }
  throw std::runtime_error("no reader " + name);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST(Power, RaplCounterWrapsBetweenReads) {
  FakeTree t;
  const std::string zone = "sys/class/powercap/intel-rapl:0/";
  t.write(zone + "name", "package-0");
  t.write(zone + "energy_uj", "1000");
  t.write(zone + "max_energy_range_uj", "10000");
  // A sub-domain (inside the package's counter) and psys (the platform
  // total): neither may be added to the package.
  t.write("sys/class/powercap/intel-rapl:0:0/name", "core");
  t.write("sys/class/powercap/intel-rapl:0:0/energy_uj", "777777");
  t.write("sys/class/powercap/intel-rapl:1/name", "psys");
  t.write("sys/class/powercap/intel-rapl:1/energy_uj", "888888");
  EnergyMeter m = t.meter();
  ASSERT_TRUE(m.available()) << m.description();
  EXPECT_NE(m.description().find("package-0 (intel-rapl:0)"), std::string::npos) << m.description();
  ASSERT_TRUE(m.source());
  EXPECT_EQ(m.source()->method, "counter");
  EXPECT_EQ(m.source()->sample_interval_ms, 0);
  EXPECT_TRUE(status_of(m, "rapl").used);

  ASSERT_EQ(m.read_energy_uj(), 0u);
  t.write(zone + "energy_uj", "9000");
  EXPECT_EQ(m.read_energy_uj(), 8000u);
  t.write(zone + "energy_uj", "500");  // wrapped: 1000 to the top, then 500
  EXPECT_EQ(m.read_energy_uj(), 9500u);
  const EnergyFigure f = energy_figure(0, 9500, 0.5, 10);
  ASSERT_TRUE(f.power_w_avg && f.energy_mj_per_inference);
  EXPECT_DOUBLE_EQ(*f.power_w_avg, 0.0095 / 0.5);
  EXPECT_DOUBLE_EQ(*f.energy_mj_per_inference, 9.5 / 10);
}

TEST(Power, RaplUnreadableCounterIsNaWithTheReason) {
  FakeTree t;
  t.write("sys/class/powercap/intel-rapl:0/name", "package-0");
  t.write("sys/class/powercap/intel-rapl:0/energy_uj", "garbage");
  EnergyMeter m = t.meter();
  EXPECT_FALSE(m.available());
  const auto& s = status_of(m, "rapl");
  EXPECT_FALSE(s.available);
  EXPECT_NE(s.detail.find("intel-rapl:0/energy_uj"), std::string::npos) << s.detail;
  EXPECT_NE(s.detail.find("not a number"), std::string::npos) << s.detail;
  EXPECT_FALSE(m.read_energy_uj());
}

TEST(Power, HwmonPowerRailIsSampledAndIntegrated) {
  FakeTree t;
  t.write("sys/class/hwmon/hwmon0/name", "acpi_power_meter");
  t.write("sys/class/hwmon/hwmon0/power1_input", "5000000");  // 5 W in microwatts
  t.write("sys/class/hwmon/hwmon0/power1_label", "system");
  EnergyMeter m = t.meter(5);
  ASSERT_TRUE(m.available()) << m.description();
  ASSERT_TRUE(m.source());
  EXPECT_EQ(m.source()->method, "sampled");
  EXPECT_EQ(m.source()->sample_interval_ms, 5);
  EXPECT_NE(m.description().find("power1 [system]"), std::string::npos) << m.description();

  const auto start = std::chrono::steady_clock::now();
  const auto e0 = m.read_energy_uj();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto e1 = m.read_energy_uj();
  const double elapsed_s = seconds_since(start);
  ASSERT_TRUE(e0 && e1);
  // Constant power: the integral is exactly 5 W x the time between the reads.
  EXPECT_NEAR(static_cast<double>(*e1 - *e0) * 1e-6 / elapsed_s, 5.0, 0.25);

  // A step from 2 W to 8 W: the integral lies strictly between the two.
  t.write("sys/class/hwmon/hwmon0/power1_input", "2000000");
  const auto s2 = std::chrono::steady_clock::now();
  const auto e2 = m.read_energy_uj();
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  t.write("sys/class/hwmon/hwmon0/power1_input", "8000000");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  const auto e3 = m.read_energy_uj();
  ASSERT_TRUE(e2 && e3);
  const double w = static_cast<double>(*e3 - *e2) * 1e-6 / seconds_since(s2);
  EXPECT_GT(w, 2.5);
  EXPECT_LT(w, 7.5);

  // The sensor vanishes: no figure from then on, never a guess.
  fs::remove(t.root() / "sys/class/hwmon/hwmon0/power1_input");
  EXPECT_FALSE(m.read_energy_uj());
}

TEST(Power, HwmonEnergyInputIsACounter) {
  FakeTree t;
  t.write("sys/class/hwmon/hwmon3/name", "amd_energy");
  t.write("sys/class/hwmon/hwmon3/energy1_input", "100");
  t.write("sys/class/hwmon/hwmon3/power1_input", "123");  // ignored: the counter is better
  EnergyMeter m = t.meter();
  ASSERT_TRUE(m.source());
  EXPECT_EQ(m.source()->method, "counter");
  ASSERT_EQ(m.read_energy_uj(), 0u);
  t.write("sys/class/hwmon/hwmon3/energy1_input", "2600");
  EXPECT_EQ(m.read_energy_uj(), 2500u);
}

TEST(Power, HwmonIsNotAddedToRapl) {
  FakeTree t;
  t.write("sys/class/powercap/intel-rapl:0/name", "package-0");
  t.write("sys/class/powercap/intel-rapl:0/energy_uj", "10");
  t.write("sys/class/hwmon/hwmon0/name", "some_psu");
  t.write("sys/class/hwmon/hwmon0/power1_input", "1000000");
  EnergyMeter m = t.meter();
  EXPECT_TRUE(status_of(m, "rapl").used);
  const auto& hw = status_of(m, "hwmon");
  EXPECT_TRUE(hw.available);
  EXPECT_FALSE(hw.used);
  EXPECT_NE(hw.detail.find("not used"), std::string::npos) << hw.detail;
  EXPECT_EQ(m.source()->method, "counter");
}

TEST(Power, Ina3221LegacyUsesTheModuleInputRail) {
  FakeTree t;
  const std::string iio = "sys/bus/i2c/drivers/ina3221x/0-0040/iio:device0/";
  t.write(iio + "rail_name_0", "VDD_IN");
  t.write(iio + "in_power0_input", "5000");  // milliwatts
  t.write(iio + "rail_name_1", "VDD_CPU_GPU_CV");
  t.write(iio + "in_power1_input", "2000");
  t.write(iio + "rail_name_2", "VDD_SOC");
  t.write(iio + "in_power2_input", "1000");
  EnergyMeter m = t.meter(5);
  ASSERT_TRUE(m.available()) << m.description();
  const auto& s = status_of(m, "ina3221");
  EXPECT_TRUE(s.used);
  EXPECT_EQ(s.method, "sampled");
  EXPECT_NE(s.detail.find("VDD_IN (module input rail)"), std::string::npos) << s.detail;
  EXPECT_EQ(s.detail.find("VDD_SOC"), std::string::npos) << s.detail;
  PowerRate rate(m);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto w = rate.update_w();
  ASSERT_TRUE(w);
  EXPECT_NEAR(*w, 5.0, 0.25);  // VDD_IN alone: the other rails are inside it
}

TEST(Power, Ina3221HwmonLayoutAddsEveryConnectedRail) {
  FakeTree t;
  const std::string hw = "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon2/";
  t.write(hw + "name", "ina3221");
  t.write(hw + "in1_label", "VDD_GPU_SOC");
  t.write(hw + "in1_input", "5000");    // millivolts
  t.write(hw + "curr1_input", "1000");  // milliamps: 5 W
  t.write(hw + "in2_label", "VDD_CPU_CV");
  t.write(hw + "in2_input", "5000");
  t.write(hw + "curr2_input", "400");  // 2 W
  t.write(hw + "in3_label", "NC");     // not connected
  t.write(hw + "in3_input", "5000");
  t.write(hw + "curr3_input", "9999");
  EnergyMeter m = t.meter(5);
  const auto& s = status_of(m, "ina3221");
  ASSERT_TRUE(s.used) << s.detail;
  EXPECT_NE(s.detail.find("VDD_GPU_SOC + VDD_CPU_CV"), std::string::npos) << s.detail;
  const auto start = std::chrono::steady_clock::now();
  const auto e0 = m.read_energy_uj();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto e1 = m.read_energy_uj();
  ASSERT_TRUE(e0 && e1);
  EXPECT_NEAR(static_cast<double>(*e1 - *e0) * 1e-6 / seconds_since(start), 7.0, 0.35);
}

TEST(Power, NothingFoundIsNaNamingWhatWasLookedFor) {
  FakeTree t;
  EnergyMeterOptions o;
  o.root = t.root();
  o.nvml_library = "/nonexistent/libnvidia-ml.so.1";
  EnergyMeter m(o);
  EXPECT_FALSE(m.available());
  EXPECT_FALSE(m.source());
  EXPECT_FALSE(m.read_energy_uj());
  EXPECT_EQ(m.description(), m.reason());
  EXPECT_EQ(m.reason().rfind("n/a: ", 0), 0u) << m.reason();
  for (const char* looked : {"powercap", "hwmon", "ina3221x", "dlopen(/nonexistent/libnvidia-ml.so.1)"}) {
    EXPECT_NE(m.reason().find(looked), std::string::npos) << looked << " missing from: " << m.reason();
  }
  const auto& nvml = status_of(m, "nvml");
  EXPECT_FALSE(nvml.available);
  // dlerror()'s own words, not ours.
  EXPECT_NE(nvml.detail.find("No such file or directory"), std::string::npos) << nvml.detail;
  ASSERT_EQ(m.readers().size(), 4u);
  for (const auto& s : m.readers()) EXPECT_FALSE(s.used || s.available) << s.name;
}

class FakeNvml : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("FAKE_NVML_DIR", tree_.root().c_str(), 1);
    tree_.write("energy_mj", "1000");
    tree_.write("power_mw", "40000");
  }
  void TearDown() override { ::unsetenv("FAKE_NVML_DIR"); }
  EnergyMeter meter() const {
    EnergyMeterOptions o;
    o.root = tree_.root();  // no sysfs sensors in it
    o.nvml_library = INFERLAB_FAKE_NVML;
    o.sample_interval_ms = 5;
    return EnergyMeter(o);
  }
  FakeTree tree_;
};

TEST_F(FakeNvml, EnergyCounterOfEveryGpu) {
  EnergyMeter m = meter();
  ASSERT_TRUE(m.available()) << m.description();
  EXPECT_NE(m.description().find("NVML GPU 0,1 nvmlDeviceGetTotalEnergyConsumption"), std::string::npos)
      << m.description();
  EXPECT_EQ(m.source()->method, "counter");
  ASSERT_EQ(m.read_energy_uj(), 0u);
  tree_.write("energy_mj", "1600");
  EXPECT_EQ(m.read_energy_uj(), 2u * 600u * 1000u);  // two GPUs, 600 mJ each
}

TEST_F(FakeNvml, PowerUsageIsSampledWithoutTheCounter) {
  tree_.write("no_energy", "1");
  EnergyMeter m = meter();
  ASSERT_TRUE(m.available()) << m.description();
  EXPECT_NE(m.description().find("nvmlDeviceGetPowerUsage"), std::string::npos) << m.description();
  EXPECT_EQ(m.source()->method, "sampled");
  const auto start = std::chrono::steady_clock::now();
  const auto e0 = m.read_energy_uj();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto e1 = m.read_energy_uj();
  ASSERT_TRUE(e0 && e1);
  EXPECT_NEAR(static_cast<double>(*e1 - *e0) * 1e-6 / seconds_since(start), 80.0, 4.0);  // 2 x 40 W
}

TEST(Power, WorkerRecordsTheFigureWithItsSourceOrTheReason) {
  FakeTree t;
  t.write("sys/class/powercap/intel-rapl:0/name", "package-0");
  t.write("sys/class/powercap/intel-rapl:0/energy_uj", "5000");
  EnergyMeter m = t.meter();
  const auto start = m.read_energy_uj();
  t.write("sys/class/powercap/intel-rapl:0/energy_uj", "2005000");  // 2 J over the run
  const auto end = m.read_energy_uj();
  WorkerSpec spec;
  spec.batch = 4;
  BenchResult r;
  r.count = 50;  // 200 samples
  r.duration_ms = 500;
  record_energy(m, start, end, spec, r);
  ASSERT_TRUE(r.power_w_avg && r.energy_mj_per_inference && r.energy_source);
  EXPECT_DOUBLE_EQ(*r.power_w_avg, 4.0);
  EXPECT_DOUBLE_EQ(*r.energy_mj_per_inference, 10.0);
  EXPECT_EQ(r.energy_source->method, "counter");
  EXPECT_EQ(r.power_note, m.description());

  FakeTree empty;
  EnergyMeter none = empty.meter();
  BenchResult n;
  n.count = 50;
  n.duration_ms = 500;
  record_energy(none, none.read_energy_uj(), none.read_energy_uj(), spec, n);
  EXPECT_FALSE(n.power_w_avg || n.energy_mj_per_inference || n.energy_source);
  EXPECT_EQ(n.power_note, none.reason());
}

TEST(Power, EnergyFigureNeedsBothReadingsTimeAndCount) {
  EXPECT_FALSE(energy_figure(std::nullopt, 10, 1, 1).power_w_avg);
  EXPECT_FALSE(energy_figure(10, std::nullopt, 1, 1).power_w_avg);
  EXPECT_FALSE(energy_figure(20, 10, 1, 1).power_w_avg);
  EXPECT_FALSE(energy_figure(0, 10, 0, 1).power_w_avg);
  EXPECT_FALSE(energy_figure(0, 10, 1, 0).energy_mj_per_inference);
}

TEST(Power, ResultJsonCarriesTheEnergySourceOrNull) {
  BenchResult r;
  r.power_w_avg = 12.0;
  r.energy_mj_per_inference = 3.0;
  r.energy_source = EnergySource{"RAPL package-0", "counter", 0};
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["energy_source"]["sensor"], "RAPL package-0");
  EXPECT_EQ(j["energy_source"]["method"], "counter");
  const BenchResult back = bench_result_from_json(j);
  ASSERT_TRUE(back.energy_source);
  EXPECT_EQ(back.energy_source->sensor, "RAPL package-0");
  EXPECT_EQ(back.energy_source->method, "counter");

  BenchResult none;
  none.power_note = "n/a: no power sensor readable: ...";
  const nlohmann::json n = to_json(none);
  EXPECT_TRUE(n["energy_source"].is_null());
  EXPECT_TRUE(n["power_w"].is_null());
  EXPECT_FALSE(bench_result_from_json(n).energy_source);
}

}  // namespace
}  // namespace inferlab
