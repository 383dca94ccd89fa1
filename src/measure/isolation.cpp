// Spawning a worker per configuration. The child is a fresh exec of the
// backend's own worker executable (not a fork of the parent), so its RSS
// holds no parent state and no engine other than the one it measures.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/worker.h"

extern char** environ;

namespace inferlab {

namespace {

BenchResult failed_result(const WorkerSpec& spec, std::string reason) {
  BenchResult r = result_for(spec);
  r.status = ResultStatus::kFailed;
  r.reason = std::move(reason);
  return r;
}

}  // namespace

std::string current_executable_path() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot locate the inferlab executable (/proc/self/exe): " + ec.message(), ErrorKind::kRuntime);
  return path.string();
}

std::string worker_executable_for(const std::string& backend) {
  const char* override_dir = std::getenv("INFERLAB_WORKER_DIR");
  std::filesystem::path dir = override_dir != nullptr && *override_dir != '\0'
                                  ? std::filesystem::path(override_dir)
                                  : std::filesystem::path(current_executable_path()).parent_path();
  return (dir / ("inferlab-worker-" + backend)).string();
}

BenchResult measure_in_child_process(const WorkerSpec& spec, const std::string& scratch_dir, double timeout_s) {
  const std::string exe = worker_executable_for(spec.backend);
  if (::access(exe.c_str(), X_OK) != 0) {
    return failed_result(spec, "worker executable " + exe + " not found: rebuild inferlab (cmake --build build)");
  }
  static int sequence = 0;
  const std::string stem = scratch_dir + "/worker-" + std::to_string(++sequence);
  const std::string spec_path = stem + ".spec.json";
  const std::string result_path = stem + ".result.json";
  const std::string log_path = stem + ".log";
  write_file_atomically(spec_path, to_json(spec).dump());

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::array<std::string, 3> args{exe, spec_path, result_path};
  std::array<char*, 4> argv{args[0].data(), args[1].data(), args[2].data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return failed_result(spec, std::string("cannot start worker process: ") + std::strerror(rc));

  // Poll rather than block so a hung engine can be killed at the deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int status = 0;
  bool timed_out = false;
  while (true) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return failed_result(spec, std::string("waitpid failed: ") + std::strerror(errno));
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  const std::string tail = last_nonempty_line(log_path);
  if (timed_out) {
    return failed_result(spec, "worker exceeded " + std::to_string(static_cast<int>(timeout_s)) + " s and was killed" +
                                   (tail.empty() ? "" : "; last output: " + tail));
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return failed_result(spec, std::string("engine crashed: worker killed by signal ") + std::to_string(sig) + " (" +
                                   strsignal(sig) + ")" + (tail.empty() ? "" : "; last output: " + tail));
  }
  if (!std::filesystem::exists(result_path)) {
    return failed_result(spec, "worker exited with code " + std::to_string(WEXITSTATUS(status)) + " without a result" +
                                   (tail.empty() ? "" : ": " + tail));
  }
  try {
    return worker_result_from_json(nlohmann::json::parse(read_file(result_path)));
  } catch (const std::exception& e) {
    return failed_result(spec, std::string("unreadable worker result: ") + e.what());
  }
}

}  // namespace inferlab
