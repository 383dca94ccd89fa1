#pragma once
// A fan-out of server-sent events: one publisher (the live telemetry
// sampler), any number of readers (each SSE connection's httplib worker),
// with a short history so a page that connects late can draw what it missed.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace inferlab {

/// One event: `name` is the SSE `event:` field, `data` a single line (JSON).
struct StreamEvent {
  std::uint64_t id = 0;  ///< 1, 2, ... in publication order
  std::string name, data;
};

/// Thread-safe. Keeps the last `history` events; readers poll with the id of
/// the last event they saw.
class EventStream {
 public:
  explicit EventStream(std::size_t history = 240) : history_(history < 1 ? 1 : history) {}

  /// Appends an event and wakes every waiting reader. Ignored after close().
  void publish(const std::string& name, const std::string& data);
  /// Ends the stream: waiting readers wake and see closed().
  void close();
  bool closed() const;
  /// The events after `after_id` still in the history (all of them for 0),
  /// waiting up to `timeout` for one; empty on timeout or once closed with
  /// nothing left.
  std::vector<StreamEvent> wait_after(std::uint64_t after_id, std::chrono::milliseconds timeout) const;
  /// Id of the newest event, 0 before the first.
  std::uint64_t last_id() const;

  /// `event: NAME\nid: ID\ndata: DATA\n\n`, the text/event-stream framing.
  static std::string format(const StreamEvent& event);

 private:
  const std::size_t history_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<StreamEvent> events_;
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
};

}  // namespace inferlab
