// A stand-in for libnvidia-ml.so.1 that test_power.cpp dlopen()s: the entry
// points NVML's documented C API names, with two fake GPUs whose readings
// come from files in $FAKE_NVML_DIR (energy_mj: the counter in millijoules;
// power_mw: the power in milliwatts; no_energy: present -> the energy counter
// is "not supported", as on GPUs older than Volta).
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

constexpr int kSuccess = 0;
constexpr int kErrorNotSupported = 3;
constexpr int kErrorInvalidArgument = 2;
int fake_devices[2];

std::string path(const char* name) {
  const char* dir = std::getenv("FAKE_NVML_DIR");
  return std::string(dir ? dir : "/nonexistent") + "/" + name;
}

bool read_number(const char* name, unsigned long long& value) {
  std::ifstream in(path(name));
  return static_cast<bool>(in >> value);
}

}  // namespace

extern "C" {

int nvmlInit_v2() { return kSuccess; }
int nvmlShutdown() { return kSuccess; }
int nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = 2;
  return kSuccess;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  if (index >= 2) return kErrorInvalidArgument;
  *device = &fake_devices[index];
  return kSuccess;
}
int nvmlDeviceGetTotalEnergyConsumption(void*, unsigned long long* energy_mj) {
  std::ifstream marker(path("no_energy"));
  if (marker) return kErrorNotSupported;
  return read_number("energy_mj", *energy_mj) ? kSuccess : kErrorNotSupported;
}
int nvmlDeviceGetPowerUsage(void*, unsigned int* power_mw) {
  unsigned long long value = 0;
  if (!read_number("power_mw", value)) return kErrorNotSupported;
  *power_mw = static_cast<unsigned int>(value);
  return kSuccess;
}

}  // extern "C"
