#pragma once
/// @file memory.h
/// Process memory readings from /proc/self/status.

#include <cstdint>

namespace inferlab {

/// Current resident set size of this process in bytes (VmRSS); 0 when unreadable.
std::int64_t current_rss_bytes();
/// Peak resident set size of this process in bytes (VmHWM); 0 when unreadable.
std::int64_t peak_rss_bytes();

}  // namespace inferlab
