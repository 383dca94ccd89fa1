// NVIDIA GPUs through NVML, opened with dlopen() at run time: inferlab never
// links libnvidia-ml and includes none of NVIDIA's headers. Only the few
// entry points below are declared, by their documented C signatures (NVML
// API reference): nvmlInit_v2, nvmlDeviceGetCount_v2,
// nvmlDeviceGetHandleByIndex_v2, nvmlDeviceGetTotalEnergyConsumption
// (millijoules since the driver loaded; Volta and newer),
// nvmlDeviceGetPowerUsage (milliwatts now; the fallback, sampled) and
// nvmlShutdown. nvmlReturn_t is a C enum (0 = NVML_SUCCESS) and
// nvmlDevice_t an opaque pointer.
#include <dlfcn.h>

#include "power_reader.h"

namespace inferlab::power {

namespace {

using NvmlReturn = int;    // nvmlReturn_t
using NvmlDevice = void*;  // nvmlDevice_t
constexpr NvmlReturn kNvmlSuccess = 0;
using InitFn = NvmlReturn (*)();                                      // nvmlInit_v2
using ShutdownFn = NvmlReturn (*)();                                  // nvmlShutdown
using GetCountFn = NvmlReturn (*)(unsigned int*);                     // nvmlDeviceGetCount_v2
using GetHandleFn = NvmlReturn (*)(unsigned int, NvmlDevice*);        // nvmlDeviceGetHandleByIndex_v2
using GetEnergyFn = NvmlReturn (*)(NvmlDevice, unsigned long long*);  // nvmlDeviceGetTotalEnergyConsumption
using GetPowerFn = NvmlReturn (*)(NvmlDevice, unsigned int*);         // nvmlDeviceGetPowerUsage

class NvmlReader final : public PowerReader {
 public:
  explicit NvmlReader(const std::string& library) {
    if (library.empty()) {
      describe_ = "n/a: NVML not looked for (no library named)";
      return;
    }
    dlerror();
    handle_ = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      const char* why = dlerror();
      describe_ = "n/a: dlopen(" + library + ") failed: " + (why ? why : "unknown error");
      return;
    }
    auto init = symbol<InitFn>("nvmlInit_v2");
    shutdown_ = symbol<ShutdownFn>("nvmlShutdown");
    auto count_fn = symbol<GetCountFn>("nvmlDeviceGetCount_v2");
    auto handle_fn = symbol<GetHandleFn>("nvmlDeviceGetHandleByIndex_v2");
    energy_fn_ = symbol<GetEnergyFn>("nvmlDeviceGetTotalEnergyConsumption");
    power_fn_ = symbol<GetPowerFn>("nvmlDeviceGetPowerUsage");
    if (!init || !shutdown_ || !count_fn || !handle_fn || (!energy_fn_ && !power_fn_)) {
      describe_ = "n/a: " + library + " lacks " + missing_;
      return;
    }
    if (NvmlReturn rc = init(); rc != kNvmlSuccess) {
      describe_ = "n/a: nvmlInit_v2 returned " + std::to_string(rc) + " (" + library + ")";
      shutdown_ = nullptr;
      return;
    }
    unsigned int count = 0;
    if (NvmlReturn rc = count_fn(&count); rc != kNvmlSuccess || count == 0) {
      describe_ =
          rc != kNvmlSuccess ? "n/a: nvmlDeviceGetCount_v2 returned " + std::to_string(rc) : "n/a: NVML reports no GPU";
      return;
    }
    for (unsigned int i = 0; i < count; ++i) {
      NvmlDevice device = nullptr;
      if (handle_fn(i, &device) == kNvmlSuccess) devices_.push_back({i, device, 0});
    }
    if (devices_.empty()) {
      describe_ = "n/a: nvmlDeviceGetHandleByIndex_v2 failed for all " + std::to_string(count) + " GPU(s)";
      return;
    }
    // The energy counter when every GPU has one (Volta and newer); else
    // every GPU's power usage, sampled.
    counter_ = energy_fn_ != nullptr;
    for (Device& d : devices_) {
      unsigned long long mj = 0;
      if (!counter_ || energy_fn_(d.handle, &mj) != kNvmlSuccess) {
        counter_ = false;
        break;
      }
      d.last_mj = mj;
    }
    if (!counter_) {
      unsigned int mw = 0;
      if (!power_fn_ || power_fn_(devices_.front().handle, &mw) != kNvmlSuccess) {
        describe_ = "n/a: NVML GPU 0 reports neither nvmlDeviceGetTotalEnergyConsumption nor nvmlDeviceGetPowerUsage";
        devices_.clear();
        return;
      }
    }
    std::string list;
    for (const Device& d : devices_) append_joined(list, ",", std::to_string(d.index));
    describe_ = "NVML GPU " + list + (counter_ ? " nvmlDeviceGetTotalEnergyConsumption" : " nvmlDeviceGetPowerUsage") +
                " (" + library + ")";
  }

  ~NvmlReader() override {
    if (shutdown_) shutdown_();
    if (handle_) dlclose(handle_);
  }
  NvmlReader(const NvmlReader&) = delete;
  NvmlReader& operator=(const NvmlReader&) = delete;

  std::string name() const override { return "nvml"; }
  bool available() const override { return !devices_.empty(); }
  std::string describe() const override { return describe_; }
  ReadMethod method() const override { return counter_ ? ReadMethod::kCounter : ReadMethod::kSampled; }

  std::optional<std::uint64_t> read_energy_uj() override {
    if (!counter_ || devices_.empty()) return std::nullopt;
    for (Device& d : devices_) {
      unsigned long long mj = 0;
      if (energy_fn_(d.handle, &mj) != kNvmlSuccess || mj < d.last_mj) return std::nullopt;
      total_uj_ += (mj - d.last_mj) * 1000ULL;
      d.last_mj = mj;
    }
    return total_uj_;
  }

  std::optional<double> read_power_w() override {
    if (counter_ || devices_.empty()) return std::nullopt;
    double watts = 0;
    for (const Device& d : devices_) {
      unsigned int mw = 0;
      if (power_fn_(d.handle, &mw) != kNvmlSuccess) return std::nullopt;
      watts += mw / 1000.0;
    }
    return watts;
  }

 private:
  struct Device {
    unsigned int index;
    NvmlDevice handle;
    unsigned long long last_mj;
  };

  template <typename Fn>
  Fn symbol(const char* name) {
    void* p = dlsym(handle_, name);
    if (!p) append_joined(missing_, ", ", std::string(name));
    return reinterpret_cast<Fn>(p);
  }

  void* handle_ = nullptr;
  ShutdownFn shutdown_ = nullptr;
  GetEnergyFn energy_fn_ = nullptr;
  GetPowerFn power_fn_ = nullptr;
  std::vector<Device> devices_;
  bool counter_ = false;
  std::string describe_;
  std::string missing_;
  std::uint64_t total_uj_ = 0;
};

}  // namespace

std::unique_ptr<PowerReader> make_nvml_reader(const std::string& library) {
  return std::make_unique<NvmlReader>(library);
}

}  // namespace inferlab::power
