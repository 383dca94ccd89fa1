#pragma once
// A thin RAII layer over the SQLite C API: one connection, prepared
// statements with typed binds, and errors turned into inferlab::Error lines
// that name the store. Internal to inferlab_store.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace inferlab::store_detail {

class SqliteDb;

/// One prepared statement; reset and re-bound for each use.
class Statement {
 public:
  Statement(SqliteDb& db, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds are 1-based, as in SQLite.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, const std::string& value);
  Statement& bind_null(int index);
  Statement& bind_optional(int index, const std::optional<double>& value);
  Statement& bind_blob(int index, const void* data, std::size_t bytes);

  /// Advances; true while a row is available.
  bool step();
  /// step() that must finish without a row (INSERT, UPDATE, DDL).
  void run();

  std::int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  bool column_is_null(int index) const;
  std::vector<float> column_floats(int index) const;

 private:
  SqliteDb& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// Binds a statement's parameters in order: `Binder(s) << a << b`.
class Binder {
 public:
  explicit Binder(Statement& statement) : statement_(statement) {}
  Binder& operator<<(std::int64_t value);
  Binder& operator<<(double value);
  Binder& operator<<(const std::string& value);
  Binder& operator<<(const std::optional<double>& value);  ///< NULL when empty
  Binder& operator<<(std::nullptr_t);                      ///< NULL
  Binder& blob(const void* data, std::size_t bytes);       ///< NULL when empty

 private:
  Statement& statement_;
  int next_ = 1;
};

/// One connection. Not thread-safe (one per thread).
class SqliteDb {
 public:
  /// Opens `path`; `create` allows creating the file, `read_only` opens it
  /// read-only. Throws Error naming the path.
  SqliteDb(const std::string& path, bool create, bool read_only);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  /// Runs one or more statements without results.
  void exec(const std::string& sql);
  /// exec(), retried while SQLite answers busy without waiting itself (it
  /// does so when waiting could deadlock, e.g. two connections switching a
  /// new file to WAL at once), for as long as the busy timeout.
  void exec_retrying_busy(const std::string& sql);
  /// Throws Error "<store path>: <what>: <sqlite message>" for a failed call.
  [[noreturn]] void fail(const std::string& what, int code) const;
  std::int64_t last_insert_id() const;
  bool read_only() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

/// BEGIN IMMEDIATE ... COMMIT, rolled back unless commit() is reached. The
/// write lock is taken at the start, so two writers queue on busy_timeout
/// instead of failing mid-transaction with SQLITE_BUSY.
class Transaction {
 public:
  explicit Transaction(SqliteDb& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  SqliteDb& db_;
  bool done_ = false;
};

}  // namespace inferlab::store_detail
