#pragma once
/// @file store.h
/// The results store: every run of a measuring verb and every result row it
/// produced, kept across invocations so runs can be listed, tagged and
/// compared. One interface, ResultStore; the embedded SQLite file is the
/// default implementation and a server database can be a second one with the
/// same schema (src/store/schema.h).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/environment.h"
#include "inferlab/result.h"

namespace inferlab {

/// The schema version this build writes (2: live runs and their stages). A
/// store whose migrations table holds a higher version was written by a newer
/// inferlab and is refused; an older one is migrated when opened for writing
/// and read as it is otherwise.
constexpr int kStoreSchemaVersion = 2;

/// One CLI invocation that recorded rows (`bench`, `accuracy`, ...).
struct RunRecord {
  std::int64_t id = 0;       ///< assigned by the store (begin_run); 0 before
  std::string verb;          ///< e.g. "bench"
  std::string command_line;  ///< the whole argv, space-joined
  Environment env;           ///< machine facts, library versions, git revision, started_at
  std::string hostname;      ///< the machine's name, for `--machine` filters
  std::string power_sensor;  ///< e.g. "intel-rapl:0" or "n/a: no powercap/hwmon sensor"
  nlohmann::json run_rules;  ///< RunSettings as JSON (null for verbs without run rules)
};

/// A run as `results list` shows it.
struct RunSummary {
  RunRecord run;
  std::int64_t rows = 0;          ///< result rows recorded under it
  std::vector<std::string> tags;  ///< tag names pointing at it
};

/// One stored result row.
struct StoredRow {
  std::int64_t id = 0;      ///< the row's own id
  std::int64_t run_id = 0;  ///< the run it belongs to
  BenchResult result;       ///< rebuilt from the row's JSON, latency_samples_ms included when stored;
                            ///< a live row's stages from the live_stages table
};

/// Which rows or runs to return. Empty fields do not filter.
struct RowFilter {
  std::optional<std::int64_t> run_id;
  std::string model;    ///< exact model name
  std::string backend;  ///< exact backend name
  std::string machine;  ///< substring of the hostname or CPU model
  std::string since;    ///< ISO-8601 date or time; runs started at or after it
};

/// A results store. Implementations are not thread-safe: use one object per
/// thread. Separate processes may write one store at once (transactions
/// serialise them; nothing is lost). Every method throws Error with the
/// store's location in the message when the store cannot do what is asked.
class ResultStore {
 public:
  virtual ~ResultStore() = default;

  /// Where the store is, as the user named it (a path or a URL).
  virtual std::string location() const = 0;

  /// Records a run and returns its id (also written to `run.id`).
  virtual std::int64_t begin_run(RunRecord& run) = 0;

  /// Records `row` as row `row_index` of `run_id` in one transaction (a live
  /// row's live_results and live_stages rows included): a killed process
  /// leaves the row either whole or absent. Recording the same (run_id,
  /// row_index) again replaces the row. Returns the row id.
  virtual std::int64_t put_row(std::int64_t run_id, std::size_t row_index, const BenchResult& row) = 0;

  /// Runs matching `filter` (a run matches when any of its rows does, or
  /// when the model/backend filters are empty), newest first.
  virtual std::vector<RunSummary> list_runs(const RowFilter& filter) = 0;

  /// The run `run_id`, or nothing when no such run exists.
  /// Implemented once for every store, through list_runs().
  std::optional<RunSummary> find_run(std::int64_t run_id);

  /// Rows matching `filter`, by run and row index.
  virtual std::vector<StoredRow> rows(const RowFilter& filter) = 0;

  /// Points tag `name` at `run_id` (moving it if it exists); returns the run
  /// it pointed at before, if any. Throws Error when the run does not exist.
  virtual std::optional<std::int64_t> set_tag(const std::string& name, std::int64_t run_id) = 0;

  /// The run tag `name` points at, or nothing.
  virtual std::optional<std::int64_t> tagged_run(const std::string& name) = 0;
};

/// How a store is opened.
enum class StoreAccess {
  kWrite,  ///< create the file and its schema when missing; fail now when it cannot be written
  kRead,   ///< the store must exist; nothing is created or migrated
};

/// Opens the store at `location`: an SQLite file path, or a
/// `postgresql://user@host:port/db` URL (builds with libpq; otherwise refused).
/// Checks everything up front — a directory that cannot be created, a file
/// that is not an SQLite database, a read-only file under kWrite, a schema
/// newer than kStoreSchemaVersion — and throws Error (kBadInput) with one
/// line naming the location; a PostgreSQL server that cannot be reached is
/// Error kRuntime naming host and port. The returned store is owned by the
/// caller and holds one connection (file handle or libpq connection).
std::unique_ptr<ResultStore> open_result_store(const std::string& location, StoreAccess access);

/// `$INFERLAB_STORE` when set and non-empty, else
/// `$XDG_DATA_HOME/inferlab/results.db`, else `~/.local/share/inferlab/results.db`.
std::string default_store_location();

/// The machine's host name ("n/a" when unknown).
std::string machine_hostname();

}  // namespace inferlab
