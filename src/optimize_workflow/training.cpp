// Spawns models/train.py and relays its progress. Its stderr and stdout come
// through a pipe (not inherited) so that a rejection ("error: ...") becomes
// the one stderr line of an inferlab Error instead of being printed twice.
#include "inferlab/training.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "inferlab/error.h"
#include "inferlab/files.h"

extern char** environ;

namespace inferlab {

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// Owns a spawned process's read end and reaps the child even when a
// progress callback throws.
struct Child {
  pid_t pid = 0;
  FILE* out = nullptr;
  int wait() {
    if (out) std::fclose(out);
    out = nullptr;
    int status = 0;
    if (pid > 0) ::waitpid(pid, &status, 0);
    pid = 0;
    return status;
  }
  ~Child() { wait(); }
};

}  // namespace

nlohmann::json run_training_worker(nlohmann::json request, const TrainingProgressFn& progress) {
  const std::string python = env_or("INFERLAB_PYTHON", "/usr/bin/python3");
  const std::string script = env_or("INFERLAB_TRAIN_SCRIPT", std::string(INFERLAB_SOURCE_DIR) + "/models/train.py");
  if (!std::filesystem::exists(python))
    throw Error(python + " not found: training needs Debian's python3 with python3-torch (scripts/install-deps.sh)",
                ErrorKind::kBadInput);
  if (!std::filesystem::exists(script)) throw Error("training script not found: " + script, ErrorKind::kBadInput);
  TempDir scratch("inferlab-train");
  const std::string request_path = scratch.path() + "/request.json";
  const std::string result_path = scratch.path() + "/result.json";
  request["result"] = result_path;
  write_file_atomically(request_path, request.dump(1));

  int fds[2];
  if (::pipe(fds) != 0) throw Error("training: cannot create a pipe", ErrorKind::kRuntime);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::vector<std::string> args{python, script, request_path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  Child child;
  const int spawned = posix_spawn(&child.pid, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    throw Error("cannot start " + python, ErrorKind::kRuntime);
  }
  child.out = ::fdopen(fds[0], "r");
  std::string last, error_line;
  char buffer[4096];
  while (child.out && std::fgets(buffer, sizeof buffer, child.out)) {
    std::string line(buffer);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.empty()) continue;
    if (line.rfind("progress: ", 0) == 0) {  // the bar's ticks: never the "last line" of a failure
      if (progress) progress(line);
      continue;
    }
    last = line;
    if (line.rfind("error: ", 0) == 0) {
      error_line = line.substr(7);
      continue;
    }
    if (progress) progress(line);
  }
  const int status = child.wait();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3) throw Error(error_line, ErrorKind::kBadInput);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error("training failed (" + script + "): " + (last.empty() ? "no output" : last), ErrorKind::kRuntime);
  nlohmann::json result = nlohmann::json::parse(read_file(result_path));
  result["wall_seconds"] = seconds;
  return result;
}

}  // namespace inferlab
