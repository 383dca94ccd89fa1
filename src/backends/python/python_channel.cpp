#include "python_channel.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "inferlab/error.h"
#include "inferlab/files.h"

extern char** environ;

namespace inferlab {

namespace {

// Pipe ends are moved above the standard and protocol descriptors (0-4) so
// that the spawn's dup2 onto 3 and 4 never targets the same descriptor,
// which would keep its close-on-exec flag.
constexpr int kFirstHighFd = 10;
constexpr int kCommandFd = 3;
constexpr int kReplyFd = 4;

int high_fd(int fd) {
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, kFirstHighFd);
  ::close(fd);
  if (moved < 0) throw Error(std::string("cannot move a pipe descriptor: ") + std::strerror(errno));
  return moved;
}

}  // namespace

std::string describe_worker_end(const std::string& backend, int wait_status, const std::string& log_path) {
  const std::string how = WIFSIGNALED(wait_status) ? "killed by signal " + std::to_string(WTERMSIG(wait_status)) +
                                                         " (" + strsignal(WTERMSIG(wait_status)) + ")"
                                                   : "exited with code " + std::to_string(WEXITSTATUS(wait_status));
  const std::string tail = last_nonempty_line(log_path);
  return "the " + backend + " Python worker " + how + (tail.empty() ? "" : ": " + tail);
}

PythonChannel::PythonChannel(const std::vector<std::string>& argv, const std::string& log_path) {
  int command[2], reply[2];
  if (::pipe2(command, O_CLOEXEC) != 0 || ::pipe2(reply, O_CLOEXEC) != 0)
    throw Error(std::string("cannot create pipes for the Python worker: ") + std::strerror(errno));
  const int child_command = high_fd(command[0]);
  command_fd_ = high_fd(command[1]);
  reply_fd_ = high_fd(reply[0]);
  const int child_reply = high_fd(reply[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_adddup2(&actions, child_command, kCommandFd);
  posix_spawn_file_actions_adddup2(&actions, child_reply, kReplyFd);
  std::vector<std::string> args = argv;
  std::vector<char*> raw;
  for (auto& a : args) raw.push_back(a.data());
  raw.push_back(nullptr);
  const int rc = posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(child_command);
  ::close(child_reply);
  if (rc != 0) {
    ::close(command_fd_);
    ::close(reply_fd_);
    throw Error("cannot start " + args[0] + ": " + std::strerror(rc));
  }
}

PythonChannel::~PythonChannel() {
  if (!finished_) {
    ::kill(pid_, SIGKILL);
    finish();
  }
}

void PythonChannel::send(const std::string& line) {
  const std::string text = line + "\n";
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(command_fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error("the Python worker stopped reading commands (" + std::string(std::strerror(errno)) + ")");
    done += static_cast<std::size_t>(n);
  }
}

bool PythonChannel::read_line(std::string& line) {
  for (;;) {
    const auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return true;
    }
    char chunk[4096];
    const ssize_t n = ::read(reply_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

int PythonChannel::finish() {
  if (finished_) return status_;
  finished_ = true;
  ::close(command_fd_);  // end of file on fd 3 tells the worker to exit
  ::close(reply_fd_);
  while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
  }
  return status_;
}

bool PythonChannel::exited() {
  if (finished_) return true;
  if (::waitpid(pid_, &status_, WNOHANG) != pid_) return false;
  finished_ = true;
  ::close(command_fd_);
  ::close(reply_fd_);
  return true;
}

}  // namespace inferlab
