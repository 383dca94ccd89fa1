#pragma once
// --store PATH / --no-store, shared by every verb that records or reads the
// results store, and the command line recorded with each run.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "inferlab/store.h"

namespace inferlab::cli {

struct StoreFlags {
  std::string store;  ///< empty: default_store_location()
  bool no_store = false;

  /// Adds --store (and --no-store when `recording`) to `app`.
  void add_to(CLI::App& app, bool recording);
  /// The store the flags name.
  std::string location() const;
  /// For verbs that record: the opened store, checked writable, or null under
  /// --no-store. A database server that cannot be reached (Error kRuntime)
  /// does not stop the measurement when `deferred` is given: it gets the
  /// error's text, null is returned, and the verb writes its files, then
  /// throws it (exit 2), so a network failure never costs the run's JSON.
  std::unique_ptr<ResultStore> open_for_recording(std::string* deferred = nullptr) const;
  /// For verbs that read (results, compare): the existing store.
  std::unique_ptr<ResultStore> open_for_reading() const;
};

/// Remembers this process's arguments (main() calls it once) for run records.
void set_command_line(int argc, char** argv);
/// The arguments, space-joined, as recorded with each run.
const std::string& command_line();

}  // namespace inferlab::cli
