#pragma once
// The CLI's verbs. Each add_* registers a subcommand on the app and sets
// `*exit_code` from its callback; only main() turns errors into exit codes.

#include <CLI/CLI.hpp>

namespace inferlab::cli {

void add_info(CLI::App& app, int* exit_code);
void add_models(CLI::App& app, int* exit_code);
void add_bench(CLI::App& app, int* exit_code);
void add_validate(CLI::App& app, int* exit_code);
void add_accuracy(CLI::App& app, int* exit_code);
void add_conformance(CLI::App& app, int* exit_code);
void add_optimize(CLI::App& app, int* exit_code);
void add_live(CLI::App& app, int* exit_code);
void add_rppg_eval(CLI::App& app, int* exit_code);
void add_results(CLI::App& app, int* exit_code);
void add_compare(CLI::App& app, int* exit_code);
void add_recommend(CLI::App& app, int* exit_code);
void add_report(CLI::App& app, int* exit_code);
void add_serve(CLI::App& app, int* exit_code);

/// Installs `live`'s SIGUSR1 (switch backend) and SIGINT / SIGTERM (stop)
/// handlers; idempotent, async-signal-safe state only, so main.cpp may call
/// it before any static initialiser. A no-op in builds without `live`.
void install_live_signal_handlers();

}  // namespace inferlab::cli
