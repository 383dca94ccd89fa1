#include "serve/event_stream.h"

namespace inferlab {

void EventStream::publish(const std::string& name, const std::string& data) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    events_.push_back({next_id_++, name, data});
    while (events_.size() > history_) events_.pop_front();
  }
  changed_.notify_all();
}

void EventStream::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool EventStream::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::vector<StreamEvent> EventStream::wait_after(std::uint64_t after_id, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return closed_ || next_id_ - 1 > after_id; });
  std::vector<StreamEvent> out;
  for (const auto& e : events_) {
    if (e.id > after_id) out.push_back(e);
  }
  return out;
}

std::uint64_t EventStream::last_id() const {
  std::lock_guard lock(mutex_);
  return next_id_ - 1;
}

std::string EventStream::format(const StreamEvent& event) {
  // One data line: the payload is single-line JSON; a stray newline would
  // split it into two fields, so it is folded into a space.
  std::string data = event.data;
  for (char& c : data) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return "event: " + event.name + "\nid: " + std::to_string(event.id) + "\ndata: " + data + "\n\n";
}

}  // namespace inferlab
