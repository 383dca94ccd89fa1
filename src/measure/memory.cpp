#include "inferlab/memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace inferlab {
namespace {

// /proc/self/status is a few KiB; a larger process (many groups) only pushes
// the VmRSS/VmHWM lines further, and they sit in the first part anyway.
constexpr std::size_t kStatusBufferBytes = 16384;
constexpr std::int64_t kBytesPerKib = 1024;

// Value of a "Key:   1234 kB" line of a /proc/<pid>/status file, in bytes; 0 when the
// file or the key cannot be read. Raw read(2) into a stack buffer keeps this
// allocation-free so it can be called around a measured run.
std::int64_t read_status_kib_field(const char* path, const char* key) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buffer[kStatusBufferBytes];
  std::size_t used = 0;
  while (used + 1 < sizeof buffer) {
    const ssize_t got = ::read(fd, buffer + used, sizeof buffer - 1 - used);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    used += static_cast<std::size_t>(got);
  }
  ::close(fd);
  buffer[used] = '\0';

  const std::size_t key_length = std::strlen(key);
  for (const char* line = buffer; line != nullptr && *line != '\0';) {
    if (std::strncmp(line, key, key_length) == 0 && line[key_length] == ':') {
      char* end = nullptr;
      const long long kib = std::strtoll(line + key_length + 1, &end, 10);
      if (end == line + key_length + 1 || kib < 0) return 0;
      return static_cast<std::int64_t>(kib) * kBytesPerKib;
    }
    line = std::strchr(line, '\n');
    if (line != nullptr) ++line;
  }
  return 0;
}

}  // namespace

std::int64_t current_rss_bytes() { return read_status_kib_field("/proc/self/status", "VmRSS"); }

std::int64_t peak_rss_bytes() { return read_status_kib_field("/proc/self/status", "VmHWM"); }

std::int64_t process_rss_bytes(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  return read_status_kib_field(path.c_str(), "VmRSS");
}

std::int64_t process_peak_rss_bytes(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  return read_status_kib_field(path.c_str(), "VmHWM");
}

}  // namespace inferlab
