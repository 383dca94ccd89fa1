#pragma once
/// @file recording.h
/// Streaming a verb's result rows as they complete: into the results store
/// and/or a JSONL file, so an interrupted sweep keeps what it measured.

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "inferlab/run_rules.h"
#include "inferlab/store.h"

namespace inferlab {

/// A RunRecord for this process: `verb`, the command line, `env`, the host
/// name and the power sensor's description (EnergyMeter). `run_rules` as JSON
/// (null for verbs without run rules).
RunRecord make_run_record(const std::string& verb, const std::string& command_line, const Environment& env,
                          const nlohmann::json& run_rules);

/// RunSettings as the JSON kept with each run.
nlohmann::json run_rules_json(const RunSettings& settings);

/// Records rows of one run. The run itself is created in the store at the
/// first row, so a verb that fails before measuring leaves no empty run; the
/// JSONL file is created at the first row too (a header line with the
/// schema "inferlab.bench-stream/1" and the env, then one line per record()
/// call: the row's JSON plus "row_index"; a later line for the same
/// row_index replaces an earlier one). Not thread-safe; owns the store.
class RunRecorder {
 public:
  /// `store` may be null (--no-store); `jsonl_path` may be empty (no stream).
  RunRecorder(std::unique_ptr<ResultStore> store, RunRecord run, std::string jsonl_path);

  /// Records `row` as row `row_index` (again: replaces it). Throws Error when
  /// the store or the file cannot be written.
  void record(std::size_t row_index, const BenchResult& row);

  /// The store's id of the run once a row was recorded.
  std::optional<std::int64_t> run_id() const;
  /// The store, or null.
  ResultStore* store() { return store_.get(); }
  /// One line for the user: "recorded run 12 (5 rows) in PATH", or empty when nothing was recorded.
  std::string summary() const;

 private:
  std::unique_ptr<ResultStore> store_;
  RunRecord run_;
  std::string jsonl_path_;
  std::unique_ptr<std::ofstream> jsonl_;
  std::size_t rows_ = 0;
  bool begun_ = false;
};

}  // namespace inferlab
