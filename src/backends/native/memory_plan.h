#pragma once
// Arena placement by liveness: tensors whose lifetimes (in steps) overlap
// never share bytes; the rest reuse the same offsets.

#include <cstdint>
#include <vector>

namespace inferlab::native {

/// One tensor to place: live from step `first` to step `last`, inclusive.
struct Lifetime {
  int value = -1;
  int first = 0;
  int last = 0;
  std::int64_t bytes = 0;
  std::int64_t offset = 0;  ///< set by place_in_arena
};

/// Assigns offsets (64-byte aligned), largest tensors first, each at the
/// lowest offset free of every overlapping-lifetime tensor already placed.
/// Returns the arena size in bytes.
std::int64_t place_in_arena(std::vector<Lifetime>& tensors);

}  // namespace inferlab::native
