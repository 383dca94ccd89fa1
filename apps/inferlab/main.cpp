// inferlab's entry point: the only place that turns errors into exit codes
// (CLI.md: 0 success, 1 a check failed, 2 bad usage or bad input).
#include <sys/prctl.h>

#include <csignal>
#include <cstring>
#include <iostream>

#include "commands.h"
#include "inferlab/error.h"
#include "store_flags.h"

namespace {

// Runs before every shared library's static initialisers (libtorch's take
// about a second), right after the dynamic loader's relocation: functions in
// the executable's .preinit_array get argc, argv and envp from glibc. `live`
// switches backend on SIGUSR1, whose default action ends the process, so its
// handler goes in here; then SIGUSR1 is unblocked if the launcher
// (launcher.cpp) blocked it, and a signal that arrived while the libraries
// loaded is delivered to the handler now.
void take_signals_early(int argc, char** argv, char** envp) {
  if (argc > 1 && std::strcmp(argv[1], "live") == 0) inferlab::cli::install_live_signal_handlers();
  for (char** e = envp; e && *e; ++e) {
    if (std::strcmp(*e, "INFERLAB_LAUNCHER_BLOCKED_SIGUSR1=1") != 0) continue;
    // Started through build/inferlab: keep that name for ps, top and pkill.
    prctl(PR_SET_NAME, "inferlab", 0, 0, 0);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &usr1, nullptr);
  }
}

__attribute__((section(".preinit_array"), used)) void (*preinit_take_signals_early)(int, char**,
                                                                                    char**) = &take_signals_early;

}  // namespace

int main(int argc, char** argv) {
  // A closed pipe (`inferlab bench ... | head`) must end with an error, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"inferlab: measure deep-learning models on several inference backends side by side", "inferlab"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every verb");
  int exit_code = 0;
  inferlab::cli::add_info(app, &exit_code);
  inferlab::cli::add_models(app, &exit_code);
  inferlab::cli::add_bench(app, &exit_code);
  inferlab::cli::add_validate(app, &exit_code);
  inferlab::cli::add_accuracy(app, &exit_code);
  inferlab::cli::add_conformance(app, &exit_code);
  inferlab::cli::add_optimize(app, &exit_code);
  inferlab::cli::add_live(app, &exit_code);
  inferlab::cli::add_rppg_eval(app, &exit_code);
  inferlab::cli::add_results(app, &exit_code);
  inferlab::cli::add_compare(app, &exit_code);
  inferlab::cli::add_recommend(app, &exit_code);
  inferlab::cli::add_report(app, &exit_code);
  inferlab::cli::add_serve(app, &exit_code);
  inferlab::cli::set_command_line(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << (app.get_subcommands().empty() ? app.help() : app.get_subcommands().back()->help());
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << "inferlab: " << e.what() << '\n';
    return 2;
  } catch (const inferlab::Error& e) {
    std::cerr << "inferlab: " << e.what() << '\n';
    return e.kind() == inferlab::ErrorKind::kCheckFailed ? 1 : 2;
  } catch (const std::exception& e) {
    std::cerr << "inferlab: " << e.what() << '\n';
    return 2;
  }
  return exit_code;
}
