// Greedy by size (the heuristic TFLite's and MNN's planners use): large
// tensors are hardest to fit, so they choose first.
#include "memory_plan.h"

#include <algorithm>
#include <numeric>

namespace inferlab::native {

std::int64_t place_in_arena(std::vector<Lifetime>& tensors) {
  constexpr std::int64_t kAlign = 64;
  std::vector<std::size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return tensors[a].bytes > tensors[b].bytes; });
  std::vector<std::size_t> placed;
  std::int64_t arena = 0;
  for (std::size_t i : order) {
    Lifetime& t = tensors[i];
    const std::int64_t size = (t.bytes + kAlign - 1) / kAlign * kAlign;
    // Busy intervals of tensors alive at the same time, by offset.
    std::vector<std::pair<std::int64_t, std::int64_t>> busy;
    for (std::size_t j : placed) {
      const Lifetime& o = tensors[j];
      if (o.first <= t.last && t.first <= o.last)
        busy.emplace_back(o.offset, o.offset + (o.bytes + kAlign - 1) / kAlign * kAlign);
    }
    std::sort(busy.begin(), busy.end());
    std::int64_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (offset + size <= begin) break;
      offset = std::max(offset, end);
    }
    t.offset = offset;
    arena = std::max(arena, offset + size);
    placed.push_back(i);
  }
  return arena;
}

}  // namespace inferlab::native
