#include "live_monitor.h"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "commands.h"
#include "inferlab/error.h"
#include "inferlab/live_json.h"

namespace inferlab::cli {

namespace {

// Signal handlers may only touch lock-free atomics; the monitor loop polls them.
std::atomic<int> g_switch_signals{0};
std::atomic<bool> g_stop_signal{false};

void on_switch_signal(int) { g_switch_signals.fetch_add(1); }
void on_stop_signal(int) { g_stop_signal.store(true); }

// Raw, non-echoing keyboard input for the TUI, restored on every exit path.
class RawTerminal {
 public:
  RawTerminal() {
    if (::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  /// A pending key, or 0.
  char key() const {
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    char c = 0;
    if (active_ && ::poll(&fd, 1, 0) > 0 && ::read(STDIN_FILENO, &c, 1) == 1) return c;
    return 0;
  }

 private:
  termios saved_{};
  bool active_ = false;
};

void draw_tui(const LiveSnapshot& s, double fps_now) {
  std::string screen = "\x1b[H\x1b[2J";
  char line[256];
  screen += "inferlab live: Timing Monitor   [b] switch backend  [q] quit\n\n";
  std::snprintf(line, sizeof line, "source   %s\nbackend  %s%s   method %s\n", s.source.c_str(), s.backend.c_str(),
                s.switching ? " (switching...)" : "", s.method.c_str());
  screen += line;
  std::snprintf(line, sizeof line, "time %.1f s   FPS %.1f   frames %lld   dropped %lld   face %s\n", s.elapsed_s,
                fps_now, static_cast<long long>(s.frames_processed), static_cast<long long>(s.dropped_frames),
                s.face ? "yes" : "no");
  screen += line;
  if (s.bpm && s.bpm->bpm) {
    std::snprintf(line, sizeof line, "BPM %.1f   confidence (SNR) %.1f dB\n", *s.bpm->bpm, s.bpm->snr_db.value_or(0));
  } else {
    std::snprintf(line, sizeof line, "BPM n/a (%s)\n", s.bpm ? s.bpm->unavailable_reason.c_str() : "warming up");
  }
  screen += line;
  std::snprintf(line, sizeof line, "RSS %.1f MB   power %s\n\n%-12s %10s %10s\n", s.rss_bytes / 1e6,
                s.power_w ? (std::to_string(*s.power_w) + " W").c_str() : ("n/a (" + s.power_note + ")").c_str(),
                "stage", "p50 ms", "p99 ms");
  screen += line;
  for (const auto& st : s.stages) {
    std::snprintf(line, sizeof line, "%-12s %10.3f %10.3f\n", st.name.c_str(), st.p50_ms, st.p99_ms);
    screen += line;
  }
  for (const auto& sw : s.switches) {
    std::snprintf(line, sizeof line, "switch at %.1f s: %s -> %s in %.1f ms%s\n", sw.at_s, sw.from.c_str(),
                  sw.to.c_str(), sw.switch_ms, sw.error.empty() ? "" : (" FAILED: " + sw.error).c_str());
    screen += line;
  }
  std::cout << screen << std::flush;
}

}  // namespace

MonitorMode monitor_mode_from_name(const std::string& name) {
  if (name == "tui") return MonitorMode::kTui;
  if (name == "plain") return MonitorMode::kPlain;
  if (name == "none") return MonitorMode::kNone;
  throw Error("--monitor " + name + ": expected tui, plain or none");
}

void install_live_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_switch_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGUSR1, &action, nullptr);
  action.sa_handler = on_stop_signal;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

void run_monitor(LivePipeline& pipeline, MonitorMode mode) {
  if (mode == MonitorMode::kTui && !(::isatty(STDOUT_FILENO) && ::isatty(STDIN_FILENO))) {
    std::cout << "note: --monitor tui needs a terminal; showing the plain monitor instead\n";
    mode = MonitorMode::kPlain;
  }
  std::optional<RawTerminal> terminal;
  if (mode == MonitorMode::kTui) terminal.emplace();
  int switches_seen = 0;  // requests that arrived while the pipeline was loading count too
  auto last_draw = std::chrono::steady_clock::now();
  std::int64_t frames_at_last_draw = 0;
  const auto draw_every = std::chrono::milliseconds(mode == MonitorMode::kTui ? 500 : 1000);
  while (!pipeline.finished()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (g_stop_signal.load()) pipeline.request_stop();
    for (int now = g_switch_signals.load(); switches_seen != now; ++switches_seen) pipeline.request_switch();
    if (terminal) {
      const char key = terminal->key();
      if (key == 'b' || key == 'B') pipeline.request_switch();
      if (key == 'q' || key == 'Q') pipeline.request_stop();
    }
    const auto now = std::chrono::steady_clock::now();
    if (mode == MonitorMode::kNone || now - last_draw < draw_every) continue;
    const LiveSnapshot snapshot = pipeline.snapshot();
    const double seconds = std::chrono::duration<double>(now - last_draw).count();
    const double fps_now = static_cast<double>(snapshot.frames_processed - frames_at_last_draw) / seconds;
    frames_at_last_draw = snapshot.frames_processed;
    last_draw = now;
    if (mode == MonitorMode::kTui) {
      draw_tui(snapshot, fps_now);
    } else {
      std::cout << monitor_line(snapshot, fps_now) << '\n' << std::flush;
    }
  }
}

}  // namespace inferlab::cli
