// EnergyMeter (include/inferlab/power.h): composes the readers, differences
// the counters, and integrates the power-only sensors on a background thread.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "power_reader.h"

namespace inferlab {

using power::append_joined;
using power::PowerReader;
using power::ReadMethod;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::string without_na(const std::string& s) { return s.rfind("n/a: ", 0) == 0 ? s.substr(5) : s; }

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

}  // namespace

struct EnergyMeter::Impl {
  EnergyMeterOptions options;
  std::vector<std::unique_ptr<PowerReader>> readers;  // rapl, nvml, ina3221, hwmon
  std::vector<PowerReaderStatus> statuses;
  std::vector<PowerReader*> used;
  std::string description, reason;
  std::optional<EnergySource> source;

  std::mutex mutex;  // guards everything below, and every read of a reader
  bool started = false, failed = false, stopping = false;
  std::vector<std::uint64_t> counter_last_uj;  // per used reader (counters only)
  std::uint64_t counter_total_uj = 0;
  double sampled_j = 0, last_power_w = 0;
  std::int64_t last_sample_ns = 0;
  std::condition_variable wake;
  std::thread thread;

  explicit Impl(EnergyMeterOptions o) : options(std::move(o)) {
    if (options.sample_interval_ms < 1) options.sample_interval_ms = 1;
    readers.push_back(power::make_rapl_reader(options.root));
    readers.push_back(power::make_nvml_reader(options.nvml_library));
    readers.push_back(power::make_ina3221_reader(options.root));
    readers.push_back(power::make_hwmon_reader(options.root));
    bool specific = false;  // a reader with known, disjoint domains works
    for (const auto& r : readers) specific = specific || (r->name() != "hwmon" && r->available());
    std::string sensors, na;
    bool any_counter = false, any_sampled = false;
    for (const auto& r : readers) {
      PowerReaderStatus s{r->name(), r->available(), false, "", r->describe()};
      if (r->available()) {
        s.method = r->method() == ReadMethod::kCounter ? "counter" : "sampled";
        if (r->name() == "hwmon" && specific) {
          s.detail += "; not used: hwmon drivers often re-export RAPL or a GPU already counted";
        } else {
          s.used = true;
          used.push_back(r.get());
          (r->method() == ReadMethod::kCounter ? any_counter : any_sampled) = true;
          append_joined(sensors, " + ", r->describe() + " [" + s.method + "]");
        }
      } else {
        append_joined(na, "; ", without_na(r->describe()));
      }
      statuses.push_back(std::move(s));
    }
    if (used.empty()) {
      reason = "n/a: no power sensor readable: " + na;
      description = reason;
      return;
    }
    description = sensors;
    source = EnergySource{sensors,
                          any_counter && any_sampled ? "counter+sampled"
                          : any_counter              ? "counter"
                                                     : "sampled",
                          any_sampled ? options.sample_interval_ms : 0};
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    if (thread.joinable()) thread.join();
  }

  bool has_sampled() const {
    for (const PowerReader* r : used) {
      if (r->method() == ReadMethod::kSampled) return true;
    }
    return false;
  }

  // Reads every used reader once: counters are differenced against their
  // previous value, power is integrated (trapezoid) since the previous sample.
  void poll_locked() {
    if (failed) return;
    const std::int64_t t = now_ns();
    double power_w = 0;
    for (std::size_t i = 0; i < used.size(); ++i) {
      PowerReader* r = used[i];
      if (r->method() == ReadMethod::kCounter) {
        const auto uj = r->read_energy_uj();
        if (!uj || *uj < counter_last_uj[i]) {
          failed = true;
          return;
        }
        if (started) counter_total_uj += *uj - counter_last_uj[i];
        counter_last_uj[i] = *uj;
      } else {
        const auto w = r->read_power_w();
        if (!w) {
          failed = true;
          return;
        }
        power_w += *w;
      }
    }
    if (started) sampled_j += 0.5 * (last_power_w + power_w) * static_cast<double>(t - last_sample_ns) * 1e-9;
    last_power_w = power_w;
    last_sample_ns = t;
  }

  void run_sampler() {
    // Sampled sensors at the stated interval; counters alone once a second,
    // often enough that no counter wraps twice between two reads.
    const auto interval = std::chrono::milliseconds(has_sampled() ? options.sample_interval_ms : 1000);
    std::unique_lock lock(mutex);
    while (!stopping && !failed) {
      if (wake.wait_for(lock, interval, [&] { return stopping; })) break;
      poll_locked();
    }
  }

  std::optional<std::uint64_t> read(std::int64_t* read_at_ns = nullptr) {
    if (used.empty()) return std::nullopt;
    std::lock_guard lock(mutex);
    if (!started) {
      counter_last_uj.assign(used.size(), 0);
      poll_locked();  // the baseline
      started = true;
      if (failed) return std::nullopt;
      thread = std::thread([this] { run_sampler(); });
      if (read_at_ns) *read_at_ns = last_sample_ns;
      return 0;
    }
    poll_locked();
    if (failed) return std::nullopt;
    if (read_at_ns) *read_at_ns = last_sample_ns;
    return counter_total_uj + static_cast<std::uint64_t>(sampled_j * 1e6 + 0.5);
  }
};

EnergyMeter::EnergyMeter() : EnergyMeter(EnergyMeterOptions{}) {}
EnergyMeter::EnergyMeter(EnergyMeterOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
EnergyMeter::~EnergyMeter() = default;
EnergyMeter::EnergyMeter(EnergyMeter&&) noexcept = default;
EnergyMeter& EnergyMeter::operator=(EnergyMeter&&) noexcept = default;

bool EnergyMeter::available() const { return !impl_->used.empty(); }
const std::string& EnergyMeter::description() const { return impl_->description; }
const std::string& EnergyMeter::reason() const { return impl_->reason; }
const std::vector<PowerReaderStatus>& EnergyMeter::readers() const { return impl_->statuses; }
std::optional<EnergySource> EnergyMeter::source() const { return impl_->source; }
std::optional<std::uint64_t> EnergyMeter::read_energy_uj() const { return impl_->read(); }
std::optional<std::uint64_t> EnergyMeter::read_energy_uj(std::int64_t& read_at_ns) const {
  return impl_->read(&read_at_ns);
}

EnergyFigure energy_figure(std::optional<std::uint64_t> start_uj, std::optional<std::uint64_t> end_uj,
                           double duration_s, std::int64_t inferences) {
  EnergyFigure f;
  if (!start_uj || !end_uj || *end_uj < *start_uj || !(duration_s > 0) || inferences <= 0) return f;
  const double joules = static_cast<double>(*end_uj - *start_uj) * 1e-6;
  f.power_w_avg = joules / duration_s;
  f.energy_mj_per_inference = joules * 1000.0 / static_cast<double>(inferences);
  return f;
}

// Energy and time come from the same poll: under load, a clock read after
// the call drifted up to 5% from the energy's own interval (tests/unit's
// constant 5 W rail read 5.27 W).
PowerRate::PowerRate(const EnergyMeter& meter) : meter_(meter) { last_uj_ = meter.read_energy_uj(last_ns_); }

std::optional<double> PowerRate::update_w() {
  std::int64_t t = 0;
  const auto uj = meter_.read_energy_uj(t);
  std::optional<double> watts;
  if (uj && last_uj_ && *uj >= *last_uj_ && t > last_ns_) {
    watts = static_cast<double>(*uj - *last_uj_) * 1e-6 / (static_cast<double>(t - last_ns_) * 1e-9);
  }
  last_uj_ = uj;
  last_ns_ = t;
  return watts;
}

}  // namespace inferlab
