// build/inferlab, the command users run: it blocks SIGUSR1 and execs the CLI
// proper (inferlab-cli, beside it) with the same arguments.
//
// Why: `inferlab live` switches backend on SIGUSR1, whose default action ends
// the process. The CLI links libtorch, OpenCV and oneDNN (about 290 shared
// libraries): mapping and relocating them takes 0.1-0.4 s before any of its
// own code runs, so a SIGUSR1 sent then could not be caught. A blocked signal
// survives execve() as pending instead; inferlab-cli installs its handlers and
// unblocks it (main.cpp), and the early signal is delivered then. This program
// links only libc, so it is running within about a millisecond.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int /*argc*/, char** argv) {
  sigset_t usr1, before;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, &before);
  // Only a block made here is undone by the CLI: a caller's own mask stays.
  if (!sigismember(&before, SIGUSR1)) setenv("INFERLAB_LAUNCHER_BLOCKED_SIGUSR1", "1", 1);

  char path[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  if (length > 0) path[length] = '\0';
  char* slash = length > 0 ? std::strrchr(path, '/') : nullptr;
  constexpr const char kCli[] = "inferlab-cli";
  if (!slash || static_cast<std::size_t>(slash - path) + 1 + sizeof kCli > sizeof path) {
    std::fprintf(stderr, "inferlab: cannot locate its own directory (/proc/self/exe)\n");
    return 2;
  }
  std::memcpy(slash + 1, kCli, sizeof kCli);
  execv(path, argv);
  std::fprintf(stderr, "inferlab: cannot start %s: %s\n", path, std::strerror(errno));
  return 2;
}
