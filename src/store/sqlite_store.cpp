// ResultStore on an embedded SQLite file. WAL journal (readers never block
// the writer), synchronous=NORMAL (a commit is durable against a killed
// process, which is what a benchmark needs; an OS crash may lose the last
// commit), and every write in BEGIN IMMEDIATE so concurrent writers queue.
#include <map>
#include <sstream>
#include <type_traits>
#include <variant>

#include "inferlab/error.h"
#include "inferlab/store.h"
#include "store/schema.h"
#include "store/sqlite_db.h"
#include "store/sqlite_store.h"
#include "store/store_json.h"

namespace inferlab::store_detail {

namespace {

constexpr const char* kSqliteIdColumn = "INTEGER PRIMARY KEY AUTOINCREMENT";

std::string with_id_columns(std::string sql) {
  for (std::size_t at = sql.find("@ID@"); at != std::string::npos; at = sql.find("@ID@", at))
    sql.replace(at, 4, kSqliteIdColumn);
  return sql;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

int schema_version(SqliteDb& db) {
  Statement has(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  has.step();
  if (has.column_int(0) == 0) return -1;
  Statement max(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  max.step();
  return static_cast<int>(max.column_int(0));
}

void refuse_newer(const SqliteDb& db, int version) {
  if (version > kStoreSchemaVersion) {
    throw Error("results store " + db.path() + " has schema version " + std::to_string(version) +
                ", newer than this inferlab's version " + std::to_string(kStoreSchemaVersion) +
                ": use a newer inferlab or another --store");
  }
}

// The WHERE clause of a row filter over results r joined with runs u, and
// its binds in order.
struct Where {
  std::string sql;
  std::vector<std::string> text;
  std::optional<std::int64_t> run_id;
};

Where where_for(const RowFilter& f, bool rows) {
  Where w;
  std::vector<std::string> terms;
  if (f.run_id) terms.push_back("u.id = ?");
  std::vector<std::string> row_terms;
  if (!f.model.empty()) row_terms.push_back("r.model = ?");
  if (!f.backend.empty()) row_terms.push_back("r.backend = ?");
  if (!row_terms.empty()) {
    const std::string cond = join(row_terms, " AND ");
    // Runs match when any of their rows does.
    terms.push_back(rows ? cond : "EXISTS (SELECT 1 FROM results r WHERE r.run_id = u.id AND " + cond + ")");
  }
  if (!f.model.empty()) w.text.push_back(f.model);
  if (!f.backend.empty()) w.text.push_back(f.backend);
  if (!f.machine.empty()) {
    terms.push_back("(instr(u.hostname, ?) > 0 OR instr(u.cpu_model, ?) > 0)");
    w.text.push_back(f.machine);
    w.text.push_back(f.machine);
  }
  if (!f.since.empty()) {
    terms.push_back("u.started_at >= ?");
    w.text.push_back(f.since);
  }
  w.run_id = f.run_id;
  w.sql = terms.empty() ? "" : " WHERE " + join(terms, " AND ");
  return w;
}

void bind_where(Statement& s, const Where& w) {
  int i = 1;
  if (w.run_id) s.bind(i++, *w.run_id);
  for (const auto& t : w.text) s.bind(i++, t);
}

const char* kRunColumns =
    "u.id, u.verb, u.command_line, u.hostname, u.power_sensor, u.run_rules_json, u.env_json, "
    "(SELECT COUNT(*) FROM results c WHERE c.run_id = u.id)";

RunSummary read_run(const Statement& s) {
  RunSummary out;
  out.run.id = s.column_int(0);
  out.run.verb = s.column_text(1);
  out.run.command_line = s.column_text(2);
  out.run.hostname = s.column_text(3);
  out.run.power_sensor = s.column_text(4);
  out.run.run_rules = s.column_is_null(5) ? nlohmann::json() : nlohmann::json::parse(s.column_text(5), nullptr, false);
  out.run.env = environment_from_json(nlohmann::json::parse(s.column_text(6), nullptr, false));
  out.rows = s.column_int(7);
  return out;
}

std::string insert_sql(const std::string& table, const std::vector<std::string>& leading,
                       const std::vector<std::string>& columns) {
  std::vector<std::string> all = leading;
  all.insert(all.end(), columns.begin(), columns.end());
  std::string marks;
  for (std::size_t i = 0; i < all.size(); ++i) marks += i == 0 ? "?" : ", ?";
  return "INSERT INTO " + table + " (" + join(all, ", ") + ") VALUES (" + marks + ")";
}

// In live_result_columns() order.
void bind_live(Binder& b, const LiveFields& l) {
  b << l.method << l.source << std::int64_t{l.paced ? 1 : 0} << l.frames << l.frames_captured << l.dropped_frames
    << l.duration_s << l.fps_avg << l.bpm_median << l.bpm_mae << l.bpm_rmse << l.rss_mb_avg << l.rss_mb_max
    << l.peak_rss_mb << static_cast<std::int64_t>(l.switches.size()) << l.percentiles << l.histogram_bin_width_pct;
}

class SqliteStore final : public ResultStore {
 public:
  SqliteStore(const std::string& path, StoreAccess access) : db_(path, access == StoreAccess::kWrite, false) {
    if (access == StoreAccess::kWrite) {
      if (db_.read_only()) db_.fail("open", 8 /* SQLITE_READONLY */);
      // Two benches creating one store at once both hold a read lock here,
      // and SQLite then refuses the switch to WAL at once (busy, without
      // waiting): the switch is retried (e2e_store_compare lost a run so).
      db_.exec_retrying_busy("PRAGMA journal_mode = WAL");
      db_.exec("PRAGMA synchronous = NORMAL");
      migrate();
      version_ = kStoreSchemaVersion;
    } else {
      version_ = schema_version(db_);
      if (version_ < 0) {
        throw Error("results store " + path + ": not an inferlab results store (no schema_migrations table)");
      }
      refuse_newer(db_, version_);
    }
    db_.exec("PRAGMA foreign_keys = ON");
  }

  std::string location() const override { return db_.path(); }

  std::int64_t begin_run(RunRecord& run) override {
    Statement s(db_,
                "INSERT INTO runs (verb, command_line, started_at, hostname, cpu_model, isa, cores, "
                "memory_total_bytes, os, power_sensor, git_revision, run_rules_json, env_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, run.verb).bind(2, run.command_line).bind(3, run.env.started_at).bind(4, run.hostname);
    s.bind(5, run.env.cpu_model).bind(6, join(run.env.isa, " ")).bind(7, std::int64_t{run.env.cores});
    s.bind(8, run.env.memory_total_bytes).bind(9, run.env.os).bind(10, run.power_sensor);
    s.bind(11, run.env.git_revision);
    if (run.run_rules.is_null()) {
      s.bind_null(12);
    } else {
      s.bind(12, run.run_rules.dump());
    }
    s.bind(13, to_json(run.env).dump());
    Transaction t(db_);
    s.run();
    run.id = db_.last_insert_id();
    t.commit();
    return run.id;
  }

  std::int64_t put_row(std::int64_t run_id, std::size_t row_index, const BenchResult& r) override {
    static const std::string insert = [] {
      const auto& cols = result_columns();
      std::string marks;
      for (std::size_t i = 0; i < cols.size(); ++i) marks += "?, ";
      return "INSERT INTO results (run_id, row_index, " + join(cols, ", ") +
             ", run_rules_json, latency_samples_f32, row_json) VALUES (?, ?, " + marks +
             "(SELECT run_rules_json FROM runs WHERE id = ?), ?, ?)";
    }();
    Statement del(db_, "DELETE FROM results WHERE run_id = ? AND row_index = ?");
    del.bind(1, run_id).bind(2, static_cast<std::int64_t>(row_index));
    Statement s(db_, insert);
    Binder b(s);
    b << run_id << static_cast<std::int64_t>(row_index);
    bind_result(b, r);
    b << run_id;
    b.blob(r.latency_samples_ms.data(), r.latency_samples_ms.size() * sizeof(float));
    b << row_json_without_stages(r).dump();
    Transaction t(db_);
    del.run();  // a replaced live row's live_results and live_stages go with it (ON DELETE CASCADE)
    s.run();
    const std::int64_t id = db_.last_insert_id();
    if (r.live) put_live(id, *r.live);
    t.commit();
    return id;
  }

  std::vector<RunSummary> list_runs(const RowFilter& filter) override {
    const Where w = where_for(filter, false);
    Statement s(db_, std::string("SELECT ") + kRunColumns + " FROM runs u" + w.sql + " ORDER BY u.id DESC");
    bind_where(s, w);
    std::vector<RunSummary> out;
    while (s.step()) out.push_back(read_run(s));
    attach_tags(out);
    return out;
  }

  std::vector<StoredRow> rows(const RowFilter& filter) override {
    const Where w = where_for(filter, true);
    Statement s(db_,
                "SELECT r.id, r.run_id, r.row_json, r.latency_samples_f32 FROM results r JOIN runs u ON u.id = "
                "r.run_id" +
                    w.sql + " ORDER BY r.run_id, r.row_index");
    bind_where(s, w);
    std::vector<StoredRow> out;
    while (s.step()) {
      StoredRow row;
      row.id = s.column_int(0);
      row.run_id = s.column_int(1);
      auto doc = nlohmann::json::parse(s.column_text(2), nullptr, false);
      if (doc.is_discarded()) {
        throw Error("results store " + db_.path() + ": row " + std::to_string(row.id) + " holds unreadable JSON",
                    ErrorKind::kRuntime);
      }
      row.result = bench_result_from_json(doc);
      row.result.latency_samples_ms = s.column_floats(3);
      out.push_back(std::move(row));
    }
    attach_live_stages(w, out);
    return out;
  }

  std::optional<std::int64_t> set_tag(const std::string& name, std::int64_t run_id) override {
    Transaction t(db_);
    if (!find_run(run_id)) throw Error("results tag: no run " + std::to_string(run_id) + " in " + db_.path());
    auto previous = tagged_run(name);
    Statement del(db_, "DELETE FROM tags WHERE name = ?");
    del.bind(1, name).run();
    Statement s(db_, "INSERT INTO tags (name, run_id, tagged_at) VALUES (?, ?, ?)");
    s.bind(1, name).bind(2, run_id).bind(3, iso8601_utc_now()).run();
    t.commit();
    return previous;
  }

  std::optional<std::int64_t> tagged_run(const std::string& name) override {
    Statement s(db_, "SELECT run_id FROM tags WHERE name = ?");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return s.column_int(0);
  }

 private:
  void migrate() {
    Transaction t(db_);
    db_.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
        "applied_at TEXT NOT NULL)");
    const int current = schema_version(db_);
    refuse_newer(db_, current);
    for (const auto& m : migrations()) {
      if (m.version <= current) continue;
      db_.exec(with_id_columns(m.sql));
      Statement s(db_, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)");
      s.bind(1, std::int64_t{m.version}).bind(2, m.description).bind(3, iso8601_utc_now()).run();
    }
    t.commit();
  }

  // Called inside put_row's transaction.
  void put_live(std::int64_t result_id, const LiveFields& live) {
    static const std::string live_insert = insert_sql("live_results", {"result_id"}, live_result_columns());
    static const std::string stage_insert =
        insert_sql("live_stages", {"result_id", "stage_index"}, live_stage_columns());
    Statement s(db_, live_insert);
    Binder b(s);
    b << result_id;
    bind_live(b, live);
    s.run();
    Statement st(db_, stage_insert);
    for (std::size_t i = 0; i < live.stages.size(); ++i) {
      const LiveStageFields& x = live.stages[i];
      Binder sb(st);
      sb << result_id << static_cast<std::int64_t>(i) << x.stage << x.count << x.mean_ms << x.p50_ms << x.p90_ms
         << x.p99_ms << x.max_ms;
      st.run();
    }
  }

  // Live rows get their stages from live_stages (row_json holds none); a
  // store of schema 1, read without migrating, has no live rows.
  void attach_live_stages(const Where& w, std::vector<StoredRow>& rows) {
    std::map<std::int64_t, StoredRow*> live;
    for (auto& row : rows) {
      if (row.result.live) live[row.id] = &row;
    }
    if (live.empty() || version_ < 2) return;
    Statement s(db_, "SELECT s.result_id, s." + join(live_stage_columns(), ", s.") +
                         " FROM live_stages s JOIN results r ON r.id = s.result_id JOIN runs u ON u.id = r.run_id" +
                         w.sql + " ORDER BY s.result_id, s.stage_index");
    bind_where(s, w);
    while (s.step()) {
      auto it = live.find(s.column_int(0));
      if (it == live.end()) continue;
      it->second->result.live->stages.push_back({s.column_text(1), s.column_int(2), s.column_double(3),
                                                 s.column_double(4), s.column_double(5), s.column_double(6),
                                                 s.column_double(7)});
    }
  }

  void attach_tags(std::vector<RunSummary>& runs) {
    if (runs.empty()) return;
    std::map<std::int64_t, std::vector<std::string>> by_run;
    Statement s(db_, "SELECT name, run_id FROM tags ORDER BY name");
    while (s.step()) by_run[s.column_int(1)].push_back(s.column_text(0));
    for (auto& r : runs) r.tags = by_run[r.run.id];
  }

  // In result_columns() order: the field table's store view.
  static void bind_result(Binder& b, const BenchResult& r) {
    for (const FlatCell& cell : store_columns(r)) {
      std::visit(
          [&b](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              b << nullptr;
            } else if constexpr (std::is_same_v<T, bool>) {
              b << std::int64_t{v ? 1 : 0};
            } else {
              b << v;
            }
          },
          cell.value);
    }
  }

  SqliteDb db_;
  int version_ = 0;  // the schema this connection sees
};

}  // namespace

std::unique_ptr<ResultStore> open_sqlite_store(const std::string& path, StoreAccess access) {
  return std::make_unique<SqliteStore>(path, access);
}

}  // namespace inferlab::store_detail
