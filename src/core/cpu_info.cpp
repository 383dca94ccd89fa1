// The CPU's name and ISA flags from /proc/cpuinfo (cpu_info.h).
#include "inferlab/cpu_info.h"

#include <array>
#include <fstream>
#include <set>
#include <sstream>

namespace inferlab {

namespace {

// ISA extensions that decide which kernels an engine can use, in the order
// results list them. x86 names come from the "flags" line, Arm ones from
// "Features".
constexpr std::array<const char*, 14> kRelevantIsa = {"sse4_2",   "avx",      "avx2",        "fma",         "avx512f",
                                                      "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile",
                                                      "amx_bf16", "amx_int8", "neon",        "asimd"};

std::string trim(const std::string& text) {
  const char* space = " \t\r\n\"'";
  const auto first = text.find_first_not_of(space);
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

// Value of the first "key : value" line of /proc/cpuinfo whose key is `key`.
std::string cpuinfo_value(const std::string& cpuinfo, const std::string& key) {
  std::istringstream lines(cpuinfo);
  std::string line;
  while (std::getline(lines, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(line.substr(0, colon)) == key) return trim(line.substr(colon + 1));
  }
  return "";
}

std::string read_cpuinfo() {
  std::ifstream in("/proc/cpuinfo");
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

CpuInfo read_cpu_info() {
  const std::string cpuinfo = read_cpuinfo();
  CpuInfo cpu;
  // x86 says "model name"; many Arm kernels only give "Hardware" or "Model".
  for (const char* key : {"model name", "Model", "Hardware"}) {
    if (cpu.model = cpuinfo_value(cpuinfo, key); !cpu.model.empty()) break;
  }
  if (cpu.model.empty()) cpu.model = "n/a";

  std::string flags = cpuinfo_value(cpuinfo, "flags");
  if (flags.empty()) flags = cpuinfo_value(cpuinfo, "Features");
  std::set<std::string> present;
  std::istringstream words(flags);
  for (std::string word; words >> word;) present.insert(word);
  for (const char* isa : kRelevantIsa) {
    if (present.count(isa) != 0) cpu.isa.emplace_back(isa);
  }
  return cpu;
}

std::string cpu_model_name() { return read_cpu_info().model; }

}  // namespace inferlab
