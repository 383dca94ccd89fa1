// Where the store lives and which implementation opens it. Every check that
// can fail happens here, before a verb measures anything, so a bad --store
// costs nothing and touches nothing else.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "inferlab/error.h"
#include "inferlab/store.h"
#include "store/sqlite_store.h"
#ifdef INFERLAB_HAVE_POSTGRESQL
#include "store/pg_store.h"
#endif

namespace inferlab {

std::optional<RunSummary> ResultStore::find_run(std::int64_t run_id) {
  RowFilter f;
  f.run_id = run_id;
  auto runs = list_runs(f);
  if (runs.empty()) return std::nullopt;
  return runs.front();
}

namespace fs = std::filesystem;

std::string default_store_location() {
  if (const char* env = std::getenv("INFERLAB_STORE"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::string(xdg) + "/inferlab/results.db";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share/inferlab/results.db";
}

std::string machine_hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "n/a";
  return name;
}

std::unique_ptr<ResultStore> open_result_store(const std::string& location, StoreAccess access) {
  if (location.empty()) throw Error("--store: give a path (or --no-store)");
  if (location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0) {
#ifdef INFERLAB_HAVE_POSTGRESQL
    return store_detail::open_pg_store(location, access);
#else
    throw Error("--store " + location +
                ": this inferlab was built without PostgreSQL's client library (install libpq-dev and rebuild); give a "
                "file path");
#endif
  }
  std::error_code ec;
  const fs::path path(location);
  if (fs::is_directory(path, ec)) throw Error("results store " + location + ": is a directory; give a file path");
  if (access == StoreAccess::kRead) {
    if (!fs::exists(path, ec)) {
      throw Error("results store " + location +
                  " does not exist: nothing was recorded there yet (bench and accuracy record unless --no-store)");
    }
  } else if (path.has_parent_path() && !fs::is_directory(path.parent_path(), ec)) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      throw Error("results store " + location + ": cannot create its directory " + path.parent_path().string() + " (" +
                  ec.message() + "); give a writable --store or --no-store");
    }
  }
  return store_detail::open_sqlite_store(location, access);
}

}  // namespace inferlab
