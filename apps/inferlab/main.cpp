// inferlab's entry point: the only place that turns errors into exit codes
// (CLI.md: 0 success, 1 a check failed, 2 bad usage or bad input).
#include <csignal>
#include <iostream>

#include "commands.h"
#include "inferlab/error.h"
#include "store_flags.h"

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
