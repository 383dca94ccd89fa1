#pragma once
/// @file environment.h
/// The environment every result records: machine, OS, compiler, libraries, revision.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace inferlab {

/// Facts about the machine and build, captured once per run.
struct Environment {
  std::string cpu_model;
  std::vector<std::string> isa;  ///< relevant ISA flags present (avx2, avx512f, avx512_vnni, ...)
  int cores = 0;                 ///< online logical CPUs
  int threads = 0;               ///< intra-op threads the run gave each engine (0: not a run)
  std::int64_t memory_total_bytes = 0;
  std::string governor;  ///< cpufreq governor or "n/a"
  std::string os;
  std::string compiler;
  std::map<std::string, std::string> libraries;  ///< library -> version
  std::string git_revision;
  std::string started_at;  ///< ISO-8601 UTC
};

/// Reads /proc, /sys and the build facts. Never throws; unknown facts are "n/a".
/// cpu_model and isa are read_cpu_info()'s (cpu_info.h).
Environment capture_environment();

/// Now as ISO-8601 UTC with seconds, e.g. "2026-11-24T13:40:00Z".
std::string iso8601_utc_now();

}  // namespace inferlab
