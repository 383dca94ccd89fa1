// Rows are written the moment they exist: one store transaction and one
// flushed JSONL line each, so killing a sweep loses at most the row in flight.
#include <algorithm>

#include "inferlab/error.h"
#include "inferlab/power.h"
#include "inferlab/recording.h"
#include "inferlab/run_rules.h"

namespace inferlab {

RunRecord make_run_record(const std::string& verb, const std::string& command_line, const Environment& env,
                          const nlohmann::json& run_rules) {
  RunRecord run;
  run.verb = verb;
  run.command_line = command_line;
  run.env = env;
  run.hostname = machine_hostname();
  run.power_sensor = EnergyMeter().description();
  run.run_rules = run_rules;
  return run;
}

nlohmann::json run_rules_json(const RunSettings& s) {
  return nlohmann::json{{"warmup_count", s.warmup_count},
                        {"warmup_min_duration_ms", s.warmup_min_duration_ms},
                        {"min_duration_ms", s.min_duration_ms},
                        {"min_count", s.min_count},
                        {"max_duration_ms", s.max_duration_ms},
                        {"target_ci", s.target_ci},
                        {"target_ci_min_count", s.target_ci_min_count}};
}

RunRecorder::RunRecorder(std::unique_ptr<ResultStore> store, RunRecord run, std::string jsonl_path)
    : store_(std::move(store)), run_(std::move(run)), jsonl_path_(std::move(jsonl_path)) {}

void RunRecorder::record(std::size_t row_index, const BenchResult& row) {
  if (!begun_) {
    if (store_) store_->begin_run(run_);
    if (!jsonl_path_.empty()) {
      jsonl_ = std::make_unique<std::ofstream>(jsonl_path_, std::ios::trunc);
      if (!*jsonl_) throw Error(jsonl_path_ + ": cannot write the result stream");
      nlohmann::json header{{"schema", "inferlab.bench-stream/1"}, {"env", to_json(run_.env)}};
      if (store_) header["store_run_id"] = run_.id;
      *jsonl_ << header.dump() << '\n';
    }
    begun_ = true;
  }
  if (store_) store_->put_row(run_.id, row_index, row);
  if (jsonl_) {
    nlohmann::json line = to_json(row);
    line["row_index"] = row_index;
    *jsonl_ << line.dump() << '\n';
    jsonl_->flush();
    if (!*jsonl_) throw Error(jsonl_path_ + ": cannot write the result stream");
  }
  rows_ = std::max(rows_, row_index + 1);
}

std::optional<std::int64_t> RunRecorder::run_id() const {
  if (!begun_ || !store_) return std::nullopt;
  return run_.id;
}

std::string RunRecorder::summary() const {
  if (!begun_ || !store_) return "";
  return "recorded run " + std::to_string(run_.id) + " (" + std::to_string(rows_) + " rows) in " + store_->location();
}

}  // namespace inferlab
