// The SQLite wrapper. Messages name the store's path because the user may
// not know which file $INFERLAB_STORE or the default picked.
#include "store/sqlite_db.h"

#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "inferlab/error.h"

namespace inferlab::store_detail {

namespace {

// Long enough for a concurrent bench to finish writing one row (well under a
// millisecond) many times over, short enough that a stuck writer is reported.
constexpr int kBusyTimeoutMs = 30000;

}  // namespace

SqliteDb::SqliteDb(const std::string& path, bool create, bool read_only) : path_(path) {
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (create && !read_only) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error("results store " + path + ": cannot open: " + message);
  }
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

void SqliteDb::fail(const std::string& what, int code) const {
  std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(code);
  const int primary = code & 0xff;
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
    throw Error("results store " + path_ + ": not a usable SQLite database (" + message +
                "); move it aside or give another --store");
  }
  if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_PERM) {
    throw Error("results store " + path_ + ": cannot write (" + message + "); give a writable --store or --no-store");
  }
  throw Error("results store " + path_ + ": " + what + ": " + message, ErrorKind::kRuntime);
}

void SqliteDb::exec(const std::string& sql) {
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(sql.substr(0, sql.find_first_of("(\n")), rc);
}

void SqliteDb::exec_retrying_busy(const std::string& sql) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  for (;;) {
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    const int primary = rc & 0xff;
    if (rc == SQLITE_OK) return;
    if ((primary != SQLITE_BUSY && primary != SQLITE_LOCKED) || std::chrono::steady_clock::now() > deadline)
      fail(sql.substr(0, sql.find_first_of("(\n")), rc);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::int64_t SqliteDb::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }

bool SqliteDb::read_only() const { return sqlite3_db_readonly(db_, "main") == 1; }

Statement::Statement(SqliteDb& db, const std::string& sql) : db_(db) {
  const int rc = sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &stmt_, nullptr);
  if (rc != SQLITE_OK) db.fail("prepare " + sql.substr(0, 40), rc);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);  // NaN binds as NULL in SQLite
  return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Statement& Statement::bind_optional(int index, const std::optional<double>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

Statement& Statement::bind_blob(int index, const void* data, std::size_t bytes) {
  if (bytes == 0) return bind_null(index);
  sqlite3_bind_blob64(stmt_, index, data, bytes, SQLITE_TRANSIENT);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(std::string("step ") + std::string(sqlite3_sql(stmt_)).substr(0, 40), rc);
}

void Statement::run() {
  step();
  sqlite3_reset(stmt_);
}

std::int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }
double Statement::column_double(int index) const { return sqlite3_column_double(stmt_, index); }

std::string Statement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index))) : std::string();
}

bool Statement::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

std::vector<float> Statement::column_floats(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  const auto bytes = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index));
  std::vector<float> values(bytes / sizeof(float));
  if (data && !values.empty()) std::memcpy(values.data(), data, values.size() * sizeof(float));
  return values;
}

Binder& Binder::operator<<(std::int64_t value) {
  statement_.bind(next_++, value);
  return *this;
}
Binder& Binder::operator<<(double value) {
  statement_.bind(next_++, value);
  return *this;
}
Binder& Binder::operator<<(const std::string& value) {
  statement_.bind(next_++, value);
  return *this;
}
Binder& Binder::operator<<(const std::optional<double>& value) {
  statement_.bind_optional(next_++, value);
  return *this;
}
Binder& Binder::operator<<(std::nullptr_t) {
  statement_.bind_null(next_++);
  return *this;
}
Binder& Binder::blob(const void* data, std::size_t bytes) {
  statement_.bind_blob(next_++, data, bytes);
  return *this;
}

Transaction::Transaction(SqliteDb& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace inferlab::store_detail
