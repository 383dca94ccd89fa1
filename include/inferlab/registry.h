#pragma once
/// @file registry.h
/// Explicit registration of the backends compiled into this build.

#include <memory>
#include <string>
#include <vector>

#include "inferlab/backend.h"

namespace inferlab {

/// A backend known to inferlab, compiled in or not.
struct BackendEntry {
  std::string name;
  bool compiled_in = false;
  std::string reason_missing;  ///< why it is not compiled in; empty when it is
};

/// Every backend name inferlab knows, in display order, with build status.
std::vector<BackendEntry> known_backends();

/// Creates the backend `name`; the caller owns it. Throws Error (kBadInput)
/// for an unknown name or one not compiled into this build, naming the choices.
std::unique_ptr<Backend> create_backend(const std::string& name);

/// Throws what create_backend(name) would throw, and creates nothing.
void check_backend_available(const std::string& name);

/// This process's one instance of backend `name`, created on first use and
/// kept until exit, for questions that need no session (name, version,
/// format, supports): a process asking several of them, as the bench
/// orchestrator does, constructs each backend once. Throws as
/// create_backend(). Creating is thread-safe; the instance, like any
/// Backend, is used by one thread at a time.
const Backend& shared_backend(const std::string& name);

}  // namespace inferlab
