#pragma once
/// @file stats_detail.h
/// Internals of stats.cpp shared with run_rules.cpp, which needs the median's
/// CI ranks without sorting the whole sample on every early-stop check.

#include <cstddef>
#include <utility>

namespace inferlab::detail {

/// 0-based ranks (lo, hi) of the order statistics that bound the median's 95%
/// CI in a sample of n values; (0, n - 1) for n < 6. Throws Error for n = 0.
std::pair<std::size_t, std::size_t> median_ci95_ranks(std::size_t n);

}  // namespace inferlab::detail
