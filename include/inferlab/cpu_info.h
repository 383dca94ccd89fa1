#pragma once
/// @file cpu_info.h
/// The CPU as /proc/cpuinfo describes it: its name and the ISA extensions
/// that decide which kernels an engine can use. Every result records it
/// (environment.h); the native engine keys its timing cache on the name.

#include <string>
#include <vector>

namespace inferlab {

/// The CPU's name and relevant ISA flags. Value type.
struct CpuInfo {
  /// "model name" (x86), else "Model" or "Hardware" (Arm); "n/a" when none is given.
  std::string model;
  /// The relevant ISA flags present (sse4_2, avx, avx2, fma, avx512f, avx512bw,
  /// avx512vl, avx512_vnni, avx512_bf16, amx_tile, amx_bf16, amx_int8, neon,
  /// asimd), in that order; from the "flags" line (x86) or "Features" (Arm).
  std::vector<std::string> isa;
};

/// Reads /proc/cpuinfo. Never throws for a missing or odd file: the model is
/// then "n/a" and the ISA list empty.
CpuInfo read_cpu_info();

/// read_cpu_info().model: the value capture_environment() records as cpu_model.
std::string cpu_model_name();

}  // namespace inferlab
