#pragma once
// A Python worker process and its two pipes (commands on its fd 3, replies
// on its fd 4): line-based, blocking, one request at a time.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace inferlab {

/// How a worker process ended, for a "failed" reason: "the <backend> Python
/// worker exited with code N: <last log line>" (or "killed by signal ...").
std::string describe_worker_end(const std::string& backend, int wait_status, const std::string& log_path);

class PythonChannel {
 public:
  /// Starts `argv` with stdout and stderr appended to `log_path`, stdin from
  /// /dev/null. Throws Error when the process cannot be started.
  PythonChannel(const std::vector<std::string>& argv, const std::string& log_path);
  ~PythonChannel();
  PythonChannel(const PythonChannel&) = delete;
  PythonChannel& operator=(const PythonChannel&) = delete;

  void send(const std::string& line);
  /// The next reply line without its newline; false at end of file (the process closed fd 4 or died).
  bool read_line(std::string& line);
  /// Closes the command pipe and waits for the process; returns its wait status.
  int finish();
  /// True when the process has already ended (it is then reaped, as by finish()).
  bool exited();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int command_fd_ = -1;
  int reply_fd_ = -1;
  std::string buffer_;
  bool finished_ = false;
  int status_ = 0;
};

}  // namespace inferlab
