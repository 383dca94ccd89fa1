#include "inferlab/environment.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "inferlab/cpu_info.h"

#if __has_include(<onnx/common/version.h>) && defined(ONNX_NAMESPACE)
#include <onnx/common/version.h>
#define INFERLAB_HAVE_ONNX_VERSION 1
#endif

namespace inferlab {
namespace {

constexpr const char* kUnknown = "n/a";

// Strips quotes as well as blanks: os-release values may be quoted.
std::string trim(const std::string& text) {
  const char* space = " \t\r\n\"'";
  const auto first = text.find_first_not_of(space);
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  return trim(line);
}

std::string read_file(const char* path) {
  std::ifstream in(path);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::int64_t memory_total_bytes() {
  const std::string meminfo = read_file("/proc/meminfo");
  std::istringstream lines(meminfo);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("MemTotal:", 0) != 0) continue;
    std::istringstream fields(line.substr(9));
    std::int64_t kib = 0;
    if (fields >> kib && kib > 0) return kib * 1024;
  }
  return 0;
}

std::string os_description() {
  std::string pretty;
  std::istringstream lines(read_file("/etc/os-release"));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("PRETTY_NAME=", 0) == 0) pretty = trim(line.substr(12));
  }
  std::string kernel;
  utsname names{};
  if (::uname(&names) == 0) kernel = std::string(names.sysname) + " " + names.release;
  if (pretty.empty() && kernel.empty()) return kUnknown;
  if (pretty.empty()) return kernel;
  if (kernel.empty()) return pretty;
  return pretty + ", " + kernel;
}

// Runs a shell command, capturing its stdout; false when it cannot run or
// exits non-zero, so a missing git or a tarball checkout reads as "n/a".
bool run_command(const std::string& command, std::string* out) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return false;
  std::array<char, 4096> buffer{};
  out->clear();
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out->append(buffer.data(), got);
  return ::pclose(pipe) == 0;
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string git_revision() {
#ifdef INFERLAB_SOURCE_DIR
  const std::string git = "git -C " + shell_quote(INFERLAB_SOURCE_DIR);
  std::string revision;
  if (!run_command(git + " rev-parse --short HEAD 2>/dev/null", &revision)) return kUnknown;
  revision = trim(revision);
  if (revision.empty()) return kUnknown;
  // Local edits make the revision alone irreproducible, so say so.
  std::string changes;
  if (run_command(git + " status --porcelain 2>/dev/null", &changes) && !trim(changes).empty()) revision += "-dirty";
  return revision;
#else
  return kUnknown;
#endif
}

}  // namespace

std::string iso8601_utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  if (::gmtime_r(&now, &utc) == nullptr) return kUnknown;
  char buffer[32];
  if (std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0) return kUnknown;
  return buffer;
}

Environment capture_environment() {
  Environment env;
  // Every fact is best effort: a result without, say, a governor is still a
  // result, so nothing here may escape as an exception.
  try {
    env.started_at = iso8601_utc_now();
    CpuInfo cpu = read_cpu_info();
    env.cpu_model = std::move(cpu.model);
    env.isa = std::move(cpu.isa);
    const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    env.cores = online > 0 ? static_cast<int>(online) : 0;
    env.memory_total_bytes = memory_total_bytes();
    env.governor = read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
    if (env.governor.empty()) env.governor = kUnknown;
    env.os = os_description();
#ifdef INFERLAB_COMPILER
    env.compiler = INFERLAB_COMPILER;
#else
    env.compiler = kUnknown;
#endif
#ifdef INFERLAB_HAVE_ONNX_VERSION
    env.libraries["onnx"] = ONNX_NAMESPACE::LAST_RELEASE_VERSION;
#endif
    env.git_revision = git_revision();
  } catch (...) {
    if (env.cpu_model.empty()) env.cpu_model = kUnknown;
    if (env.governor.empty()) env.governor = kUnknown;
    if (env.os.empty()) env.os = kUnknown;
    if (env.compiler.empty()) env.compiler = kUnknown;
    if (env.git_revision.empty()) env.git_revision = kUnknown;
    if (env.started_at.empty()) env.started_at = kUnknown;
  }
  return env;
}

}  // namespace inferlab
