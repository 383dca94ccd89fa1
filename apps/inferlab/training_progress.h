#pragma once
// How `optimize` shows its progress lines: training's "progress:" ticks as a
// bar redrawn in place on a terminal (dropped otherwise: logs keep only the
// per-epoch lines), everything else as lines prefixed "optimize: ".

#include <string>

namespace inferlab::cli {

/// Writes to stderr. Not thread-safe (one per verb, called on its thread).
class OptimizeProgress {
 public:
  /// `quiet`: only training lines (they are minutes long) and the bar show.
  explicit OptimizeProgress(bool quiet);
  /// Shows one progress line.
  void operator()(const std::string& line);

 private:
  void clear_bar();
  bool quiet_;
  bool tty_;
  bool bar_shown_ = false;
};

}  // namespace inferlab::cli
