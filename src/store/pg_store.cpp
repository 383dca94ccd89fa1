// ResultStore on a PostgreSQL server through libpq, for fleets: several
// machines record into one database. Same schema and migrations as the SQLite
// file (schema.cpp; ids are BIGSERIAL here). Each write is one transaction;
// migrations run under a transaction-scoped advisory lock so two first
// writers cannot both create the tables.
#include <libpq-fe.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <type_traits>
#include <variant>
#include <vector>

#include "inferlab/error.h"
#include "inferlab/store.h"
#include "store/pg_store.h"
#include "store/schema.h"
#include "store/store_json.h"

namespace inferlab::store_detail {

namespace {

using Value = std::optional<std::string>;

// Any 64-bit constant: the key of the advisory lock migrations hold.
constexpr long long kMigrationLockKey = 0x696e6665726c6162;  // "inferlab"

std::string text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
Value text(const std::optional<double>& v) { return v ? Value(text(*v)) : std::nullopt; }

std::string first_line(const char* message) {
  std::string m = message ? message : "";
  if (const auto nl = m.find('\n'); nl != std::string::npos) m.resize(nl);
  return m;
}

// One statement's result; owns the PGresult.
class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(Result&& other) noexcept : r_(other.r_) { other.r_ = nullptr; }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  Result& operator=(Result&&) = delete;
  ExecStatusType status() const { return PQresultStatus(r_); }
  int rows() const { return PQntuples(r_); }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string str(int row, int col) const { return PQgetvalue(r_, row, col); }
  std::int64_t i64(int row, int col) const { return std::stoll(str(row, col)); }
  std::vector<float> floats(int row, int col) const {
    std::size_t size = 0;
    unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col)), &size);
    std::vector<float> out(raw ? size / sizeof(float) : 0);
    if (raw && !out.empty()) std::memcpy(out.data(), raw, out.size() * sizeof(float));
    PQfreemem(raw);
    return out;
  }

 private:
  PGresult* r_;
};

class PgStore final : public ResultStore {
 public:
  PgStore(const std::string& url, StoreAccess access) : url_(url), conn_(PQconnectdb(url.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      const std::string host = PQhost(conn_) ? PQhost(conn_) : "?", port = PQport(conn_) ? PQport(conn_) : "?";
      const std::string why = first_line(PQerrorMessage(conn_));
      PQfinish(conn_);
      // kRuntime: the server, not the request, failed; recording verbs measure anyway (store_flags.h).
      throw Error("results store " + url_ + ": cannot connect to PostgreSQL at host " + host + " port " + port + " (" +
                      why + ")",
                  ErrorKind::kRuntime);
    }
    exec("SET client_min_messages = warning");
    if (access == StoreAccess::kWrite) {
      migrate();
      version_ = kStoreSchemaVersion;
    } else {
      version_ = schema_version();
      if (version_ < 0) throw Error("results store " + url_ + ": not an inferlab results store (no schema_migrations)");
      refuse_newer(version_);
    }
  }
  ~PgStore() override { PQfinish(conn_); }
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  std::string location() const override { return url_; }

  std::int64_t begin_run(RunRecord& run) override {
    std::string isa;
    for (const auto& f : run.env.isa) isa += (isa.empty() ? "" : " ") + f;
    const std::vector<Value> v{run.verb,
                               run.command_line,
                               run.env.started_at,
                               run.hostname,
                               run.env.cpu_model,
                               isa,
                               std::to_string(run.env.cores),
                               std::to_string(run.env.memory_total_bytes),
                               run.env.os,
                               run.power_sensor,
                               run.env.git_revision,
                               run.run_rules.is_null() ? Value() : Value(run.run_rules.dump()),
                               to_json(run.env).dump()};
    Result r = query(
        "INSERT INTO runs (verb, command_line, started_at, hostname, cpu_model, isa, cores, memory_total_bytes, os, "
        "power_sensor, git_revision, run_rules_json, env_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "$12, $13) RETURNING id",
        v);
    run.id = r.i64(0, 0);
    return run.id;
  }

  std::int64_t put_row(std::int64_t run_id, std::size_t row_index, const BenchResult& row) override {
    const auto& cols = result_columns();
    std::string columns, marks;
    std::vector<Value> v{std::to_string(run_id), std::to_string(row_index)};
    for (std::size_t i = 0; i < cols.size(); ++i) {
      columns += ", " + cols[i];
      marks += ", $" + std::to_string(i + 3);
    }
    append_result(v, row);
    const std::size_t n = v.size();
    v.push_back(std::string(reinterpret_cast<const char*>(row.latency_samples_ms.data()),
                            row.latency_samples_ms.size() * sizeof(float)));
    v.push_back(row_json_without_stages(row).dump());
    const std::string insert = "INSERT INTO results (run_id, row_index" + columns +
                               ", run_rules_json, latency_samples_f32, row_json) VALUES ($1, $2" + marks +
                               ", (SELECT run_rules_json FROM runs WHERE id = $1), $" + std::to_string(n + 1) + ", $" +
                               std::to_string(n + 2) + ") RETURNING id";
    exec("BEGIN");
    try {
      query("DELETE FROM results WHERE run_id = $1 AND row_index = $2", {v[0], v[1]});
      Result r = query(insert, v, n);  // parameter n (0-based) is the samples blob, sent as binary
      const std::int64_t id = r.i64(0, 0);
      if (row.live) put_live(id, *row.live);
      exec("COMMIT");
      return id;
    } catch (...) {
      PQclear(PQexec(conn_, "ROLLBACK"));
      throw;
    }
  }

  std::vector<RunSummary> list_runs(const RowFilter& filter) override {
    std::vector<Value> binds;
    const std::string where = where_for(filter, false, binds);
    Result r = query(
        "SELECT u.id, u.verb, u.command_line, u.hostname, u.power_sensor, u.run_rules_json, u.env_json, "
        "(SELECT COUNT(*) FROM results c WHERE c.run_id = u.id) FROM runs u" +
            where + " ORDER BY u.id DESC",
        binds);
    std::map<std::int64_t, std::vector<std::string>> tags;
    Result t = query("SELECT name, run_id FROM tags ORDER BY name", {});
    for (int i = 0; i < t.rows(); ++i) tags[t.i64(i, 1)].push_back(t.str(i, 0));
    std::vector<RunSummary> out;
    for (int i = 0; i < r.rows(); ++i) {
      RunSummary s;
      s.run.id = r.i64(i, 0);
      s.run.verb = r.str(i, 1);
      s.run.command_line = r.str(i, 2);
      s.run.hostname = r.str(i, 3);
      s.run.power_sensor = r.str(i, 4);
      s.run.run_rules = r.null(i, 5) ? nlohmann::json() : nlohmann::json::parse(r.str(i, 5), nullptr, false);
      s.run.env = environment_from_json(nlohmann::json::parse(r.str(i, 6), nullptr, false));
      s.rows = r.i64(i, 7);
      s.tags = tags[s.run.id];
      out.push_back(std::move(s));
    }
    return out;
  }

  std::vector<StoredRow> rows(const RowFilter& filter) override {
    std::vector<Value> binds;
    const std::string where = where_for(filter, true, binds);
    Result r =
        query("SELECT r.id, r.run_id, r.row_json, r.latency_samples_f32 FROM results r JOIN runs u ON u.id = r.run_id" +
                  where + " ORDER BY r.run_id, r.row_index",
              binds);
    std::vector<StoredRow> out;
    for (int i = 0; i < r.rows(); ++i) {
      StoredRow row;
      row.id = r.i64(i, 0);
      row.run_id = r.i64(i, 1);
      auto doc = nlohmann::json::parse(r.str(i, 2), nullptr, false);
      if (doc.is_discarded()) {
        throw Error("results store " + url_ + ": row " + std::to_string(row.id) + " holds unreadable JSON",
                    ErrorKind::kRuntime);
      }
      row.result = bench_result_from_json(doc);
      if (!r.null(i, 3)) row.result.latency_samples_ms = r.floats(i, 3);
      out.push_back(std::move(row));
    }
    attach_live_stages(where, binds, out);
    return out;
  }

  std::optional<std::int64_t> set_tag(const std::string& name, std::int64_t run_id) override {
    if (!find_run(run_id)) throw Error("results tag: no run " + std::to_string(run_id) + " in " + url_);
    auto previous = tagged_run(name);
    query(
        "INSERT INTO tags (name, run_id, tagged_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET run_id = "
        "EXCLUDED.run_id, tagged_at = EXCLUDED.tagged_at",
        {name, std::to_string(run_id), iso8601_utc_now()});
    return previous;
  }

  std::optional<std::int64_t> tagged_run(const std::string& name) override {
    Result r = query("SELECT run_id FROM tags WHERE name = $1", {name});
    if (r.rows() == 0) return std::nullopt;
    return r.i64(0, 0);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("results store " + url_ + ": " + what + ": " + first_line(PQerrorMessage(conn_)), ErrorKind::kRuntime);
  }

  void exec(const std::string& sql) {
    Result r(PQexec(conn_, sql.c_str()));
    if (r.status() != PGRES_COMMAND_OK && r.status() != PGRES_TUPLES_OK) fail(sql.substr(0, 60));
  }

  // Runs `sql` with text parameters (nullopt: SQL NULL); parameter
  // `binary_index` is sent as binary (the samples blob). Throws on failure.
  Result query(const std::string& sql, const std::vector<Value>& params, std::size_t binary_index = SIZE_MAX) {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (std::size_t i = 0; i < params.size(); ++i) {
      values.push_back(params[i] ? params[i]->data() : nullptr);
      lengths.push_back(params[i] ? static_cast<int>(params[i]->size()) : 0);
      formats.push_back(i == binary_index ? 1 : 0);
    }
    Result r(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(), lengths.data(),
                          formats.data(), 0));
    if (r.status() != PGRES_COMMAND_OK && r.status() != PGRES_TUPLES_OK) fail(sql.substr(0, 60));
    return r;
  }

  int schema_version() {
    Result has = query("SELECT to_regclass('schema_migrations') IS NOT NULL", {});
    if (has.str(0, 0) != "t") return -1;
    Result max = query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {});
    return static_cast<int>(max.i64(0, 0));
  }

  void refuse_newer(int version) const {
    if (version > kStoreSchemaVersion) {
      throw Error("results store " + url_ + " has schema version " + std::to_string(version) +
                  ", newer than this inferlab's version " + std::to_string(kStoreSchemaVersion) +
                  ": use a newer inferlab or another --store");
    }
  }

  void migrate() {
    exec("BEGIN");
    try {
      // Two first writers at once: the second waits here, then sees the tables.
      exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")");
      exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
          "applied_at TEXT NOT NULL)");
      const int current = schema_version();
      refuse_newer(current);
      for (const auto& m : migrations()) {
        if (m.version <= current) continue;
        std::string sql = m.sql;
        for (std::size_t at = sql.find("@ID@"); at != std::string::npos; at = sql.find("@ID@", at)) {
          sql.replace(at, 4, "BIGSERIAL PRIMARY KEY");
        }
        exec(sql);
        query("INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
              {std::to_string(m.version), m.description, iso8601_utc_now()});
      }
      exec("COMMIT");
    } catch (...) {
      PQclear(PQexec(conn_, "ROLLBACK"));
      throw;
    }
  }

  // Called inside put_row's transaction. The DELETE before it removed a
  // replaced row's live rows (ON DELETE CASCADE).
  void put_live(std::int64_t result_id, const LiveFields& l) {
    const std::vector<Value> v{std::to_string(result_id),
                               l.method,
                               l.source,
                               l.paced ? "1" : "0",
                               std::to_string(l.frames),
                               std::to_string(l.frames_captured),
                               std::to_string(l.dropped_frames),
                               text(l.duration_s),
                               text(l.fps_avg),
                               text(l.bpm_median),
                               text(l.bpm_mae),
                               text(l.bpm_rmse),
                               text(l.rss_mb_avg),
                               text(l.rss_mb_max),
                               text(l.peak_rss_mb),
                               std::to_string(l.switches.size()),
                               l.percentiles,
                               text(l.histogram_bin_width_pct)};
    query(insert_sql("live_results", {"result_id"}, live_result_columns()), v);
    if (l.stages.empty()) return;
    // Every stage in one statement: one round trip to the server, not eight.
    std::vector<Value> stages;
    for (std::size_t i = 0; i < l.stages.size(); ++i) {
      const LiveStageFields& x = l.stages[i];
      for (Value value : {Value(std::to_string(result_id)), Value(std::to_string(i)), Value(x.stage),
                          Value(std::to_string(x.count)), Value(text(x.mean_ms)), Value(text(x.p50_ms)),
                          Value(text(x.p90_ms)), Value(text(x.p99_ms)), Value(text(x.max_ms))}) {
        stages.push_back(std::move(value));
      }
    }
    query(insert_sql("live_stages", {"result_id", "stage_index"}, live_stage_columns(), l.stages.size()), stages);
  }

  // Live rows get their stages from live_stages (row_json holds none); a
  // store of schema 1, read without migrating, has no live rows.
  void attach_live_stages(const std::string& where, const std::vector<Value>& binds, std::vector<StoredRow>& rows) {
    std::map<std::int64_t, StoredRow*> live;
    for (auto& row : rows) {
      if (row.result.live) live[row.id] = &row;
    }
    if (live.empty() || version_ < 2) return;
    std::string columns;
    for (const auto& c : live_stage_columns()) columns += ", s." + c;
    Result r = query("SELECT s.result_id" + columns +
                         " FROM live_stages s JOIN results r ON r.id = s.result_id JOIN runs u ON u.id = r.run_id" +
                         where + " ORDER BY s.result_id, s.stage_index",
                     binds);
    for (int i = 0; i < r.rows(); ++i) {
      auto it = live.find(r.i64(i, 0));
      if (it == live.end()) continue;
      it->second->result.live->stages.push_back({r.str(i, 1), r.i64(i, 2), std::stod(r.str(i, 3)),
                                                 std::stod(r.str(i, 4)), std::stod(r.str(i, 5)), std::stod(r.str(i, 6)),
                                                 std::stod(r.str(i, 7))});
    }
  }

  // "INSERT INTO table (leading..., columns...) VALUES ($1, ...), ..." with
  // `rows` rows of parameters, numbered in order.
  static std::string insert_sql(const std::string& table, const std::vector<std::string>& leading,
                                const std::vector<std::string>& columns, std::size_t rows = 1) {
    std::string names;
    for (const auto* list : {&leading, &columns}) {
      for (const auto& c : *list) {
        // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "..." + std::string.
        names += names.empty() ? "" : ", ";
        names += c;
      }
    }
    const std::size_t width = leading.size() + columns.size();
    std::string values;
    for (std::size_t row = 0; row < rows; ++row) {
      values += row == 0 ? "(" : ", (";
      for (std::size_t i = 0; i < width; ++i) {
        values += i == 0 ? "$" : ", $";
        values += std::to_string(row * width + i + 1);
      }
      values += ")";
    }
    return "INSERT INTO " + table + " (" + names + ") VALUES " + values;
  }

  // In result_columns() order: the field table's store view.
  static void append_result(std::vector<Value>& v, const BenchResult& r) {
    for (const FlatCell& cell : store_columns(r)) {
      v.push_back(std::visit(
          [](const auto& x) -> Value {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              return std::nullopt;
            } else if constexpr (std::is_same_v<T, bool>) {
              return std::string(x ? "1" : "0");
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
              return std::to_string(x);
            } else if constexpr (std::is_same_v<T, double>) {
              return text(x);
            } else {
              return x;
            }
          },
          cell.value));
    }
  }

  // The WHERE clause of a row filter over results r joined with runs u, its
  // parameters appended to `binds`.
  static std::string where_for(const RowFilter& f, bool rows, std::vector<Value>& binds) {
    std::vector<std::string> terms, row_terms;
    auto mark = [&](const std::string& value) {
      binds.push_back(value);
      // Appended, not "$" + to_string(): GCC 12 warns falsely (-Wrestrict) on that form.
      std::string placeholder = "$";
      placeholder += std::to_string(binds.size());
      return placeholder;
    };
    if (f.run_id) terms.push_back("u.id = " + mark(std::to_string(*f.run_id)));
    if (!f.model.empty()) row_terms.push_back("r.model = " + mark(f.model));
    if (!f.backend.empty()) row_terms.push_back("r.backend = " + mark(f.backend));
    if (!row_terms.empty()) {
      std::string cond = row_terms[0] + (row_terms.size() > 1 ? " AND " + row_terms[1] : "");
      // Runs match when any of their rows does.
      terms.push_back(rows ? cond : "EXISTS (SELECT 1 FROM results r WHERE r.run_id = u.id AND " + cond + ")");
    }
    if (!f.machine.empty()) {
      const std::string m = mark(f.machine);
      terms.push_back("(strpos(u.hostname, " + m + ") > 0 OR strpos(u.cpu_model, " + m + ") > 0)");
    }
    if (!f.since.empty()) terms.push_back("u.started_at >= " + mark(f.since));
    std::string out;
    for (const auto& t : terms) out += (out.empty() ? " WHERE " : " AND ") + t;
    return out;
  }

  std::string url_;
  PGconn* conn_;
  int version_ = 0;  // the schema this connection sees
};

}  // namespace

std::unique_ptr<ResultStore> open_pg_store(const std::string& url, StoreAccess access) {
  return std::make_unique<PgStore>(url, access);
}

}  // namespace inferlab::store_detail
