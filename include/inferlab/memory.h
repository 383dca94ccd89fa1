#pragma once
/// @file memory.h
/// Process memory readings from /proc/<pid>/status.

#include <cstdint>

namespace inferlab {

/// Current resident set size of this process in bytes (VmRSS); 0 when unreadable.
std::int64_t current_rss_bytes();
/// Peak resident set size of this process in bytes (VmHWM); 0 when unreadable.
std::int64_t peak_rss_bytes();
/// The same two figures of another process `pid` (a worker's child), in
/// bytes; 0 when unreadable (the process has gone).
std::int64_t process_rss_bytes(int pid);
std::int64_t process_peak_rss_bytes(int pid);

}  // namespace inferlab
