#include "store_flags.h"

#include "inferlab/error.h"

namespace inferlab::cli {

namespace {
std::string& command_line_storage() {
  static std::string text;
  return text;
}
}  // namespace

void StoreFlags::add_to(CLI::App& app, bool recording) {
  app.add_option("--store", store,
                 "Results store: an SQLite file (default: $INFERLAB_STORE, else ~/.local/share/inferlab/results.db) or "
                 "postgresql://user@host:port/db");
  if (recording) app.add_flag("--no-store", no_store, "Do not record this run in the results store");
}

std::string StoreFlags::location() const { return store.empty() ? default_store_location() : store; }

std::unique_ptr<ResultStore> StoreFlags::open_for_recording(std::string* deferred) const {
  if (no_store) return nullptr;
  try {
    return open_result_store(location(), StoreAccess::kWrite);
  } catch (const Error& e) {
    if (!deferred || e.kind() != ErrorKind::kRuntime) throw;
    // Said once, at the end (CLI.md: one line on stderr), after the files are written.
    *deferred = e.what();
    return nullptr;
  }
}

std::unique_ptr<ResultStore> StoreFlags::open_for_reading() const {
  return open_result_store(location(), StoreAccess::kRead);
}

void set_command_line(int argc, char** argv) {
  std::string& text = command_line_storage();
  text.clear();
  for (int i = 0; i < argc; ++i) text += (i == 0 ? "" : " ") + std::string(argv[i]);
}

const std::string& command_line() { return command_line_storage(); }

}  // namespace inferlab::cli
