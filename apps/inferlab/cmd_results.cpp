// `inferlab results list|show|export|tag`: what the results store holds.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli_util.h"
#include "commands.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/report.h"
#include "store_flags.h"

namespace inferlab::cli {

namespace {

struct ResultsFlags {
  StoreFlags store;
  RowFilter filter;
  std::string id, tag_name, json_path, csv_path, stages_csv_path;
};

std::int64_t parse_run_id(const std::string& text, const std::string& verb) {
  std::size_t used = 0;
  long long id = 0;
  try {
    id = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || id < 1) throw Error(verb + " " + text + ": not a run id (a number >= 1)");
  return id;
}

RunSummary existing_run(ResultStore& store, const std::string& text, const std::string& verb) {
  auto run = store.find_run(parse_run_id(text, verb));
  if (!run) throw Error(verb + " " + text + ": no such run in " + store.location());
  return *run;
}

std::string shorten(const std::string& text, std::size_t width) {
  return text.size() <= width ? text : text.substr(0, width - 3) + "...";
}

std::string cell_number(double value, const char* format) {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

int list_runs(const ResultsFlags& f) {
  auto store = f.store.open_for_reading();
  const auto runs = store->list_runs(f.filter);
  std::printf("%6s  %-20s  %-9s  %-16s  %5s  %-12s  %s\n", "id", "started_at", "verb", "machine", "rows", "tags",
              "command");
  for (const auto& r : runs) {
    std::printf("%6lld  %-20s  %-9s  %-16s  %5lld  %-12s  %s\n", static_cast<long long>(r.run.id),
                r.run.env.started_at.c_str(), r.run.verb.c_str(), shorten(r.run.hostname, 16).c_str(),
                static_cast<long long>(r.rows), shorten(join_list(r.tags), 12).c_str(),
                shorten(r.run.command_line, 80).c_str());
  }
  std::cout << runs.size() << " run(s) in " << store->location() << '\n';
  return 0;
}

// rppg-eval rows: heart-rate errors instead of timings.
std::string heart_rate_line(const BenchResult& r) {
  const HeartRateFields& h = *r.heart_rate;
  char text[320];
  std::snprintf(text, sizeof text, "%-18s %-8s %-12s %-8s %8lld %8.2f %8.2f %8.2f %8s", shorten(r.model, 18).c_str(),
                r.backend.c_str(), shorten(h.clip, 12).c_str(), result_status_name(r.status),
                static_cast<long long>(h.readings), h.mae_bpm, h.rmse_bpm, h.mape_pct,
                h.pearson ? std::to_string(*h.pearson).substr(0, 5).c_str() : "-");
  std::string line = text;
  if (!r.ok()) line += "  (" + r.reason + ")";
  return line;
}

// live rows: frames, rate and heart rate, then one line per timed stage.
void print_live_row(const BenchResult& r) {
  if (!r.live) {
    std::printf("%-18s %-14s %-8s  (%s)\n", shorten(r.model, 18).c_str(), shorten(r.backend, 14).c_str(),
                result_status_name(r.status), r.reason.c_str());
    return;
  }
  const LiveFields& l = *r.live;
  const auto bpm = [](const std::optional<double>& v) { return v ? cell_number(*v, "%.1f") : std::string("-"); };
  std::printf("%-18s %-14s %-8s %7lld %7.1f %7lld %6s %7s %8.1f  %s%s\n", shorten(r.model, 18).c_str(),
              shorten(r.backend, 14).c_str(), result_status_name(r.status), static_cast<long long>(l.frames), l.fps_avg,
              static_cast<long long>(l.dropped_frames), bpm(l.bpm_median).c_str(), bpm(l.bpm_mae).c_str(),
              l.peak_rss_mb, l.source.c_str(), l.paced ? "" : " (--pace max)");
  std::printf("    %-12s %8s %9s %9s %9s %9s %9s\n", "stage", "count", "mean_ms", "p50_ms", "p90_ms", "p99_ms",
              "max_ms");
  for (const auto& st : l.stages) {
    std::printf("    %-12s %8lld %9.4g %9.4g %9.4g %9.4g %9.4g\n", st.stage.c_str(), static_cast<long long>(st.count),
                st.mean_ms, st.p50_ms, st.p90_ms, st.p99_ms, st.max_ms);
  }
  for (const auto& sw : l.switches) {
    std::printf("    switch at %.2f s: %s -> %s in %.2f ms%s\n", sw.at_s, sw.from.c_str(), sw.to.c_str(), sw.switch_ms,
                sw.error.empty() ? "" : (" FAILED: " + sw.error).c_str());
  }
}

std::string row_line(const StoredRow& row) {
  const BenchResult& r = row.result;
  char text[320];
  const double p50 = r.latency ? r.latency->p50_ms : 0, p99 = r.latency ? r.latency->p99_ms : 0;
  std::snprintf(text, sizeof text, "%-18s %-8s %-5s %5lld %-13s %3d  %-11s %10.4g %10.4g %10.4g %8.0f %s",
                shorten(r.model, 18).c_str(), r.backend.c_str(), r.precision.c_str(), static_cast<long long>(r.batch),
                r.scenario.c_str(), r.threads, result_status_name(r.status), p50, p99, r.throughput_per_s,
                r.memory ? r.memory->peak_rss_mb : 0.0, r.accuracy ? std::to_string(r.accuracy->top1).c_str() : "");
  std::string line = text;
  if (!r.valid) line += "  * invalid: " + r.invalid_reason;
  if (!r.ok()) line += "  (" + r.reason + ")";
  return line;
}

int show_run(const ResultsFlags& f) {
  auto store = f.store.open_for_reading();
  const RunSummary run = existing_run(*store, f.id, "results show");
  RowFilter filter;
  filter.run_id = run.run.id;
  const auto rows = store->rows(filter);
  if (!f.json_path.empty()) {
    ensure_writable_file_path(f.json_path, "--json");
    std::vector<BenchResult> results;
    for (const auto& r : rows) results.push_back(r.result);
    write_file_atomically(f.json_path, bench_document(run.run.env, results).dump(2) + "\n");
  }
  const Environment& env = run.run.env;
  std::cout << "run " << run.run.id << ": " << run.run.verb << ", started " << env.started_at << "\n"
            << "command: " << run.run.command_line << "\n"
            << "machine: " << run.run.hostname << ", " << env.cpu_model << ", " << env.cores << " CPUs, "
            << env.memory_total_bytes / (1024 * 1024) << " MiB, " << env.os << "\npower: " << run.run.power_sensor
            << "\ninferlab revision: " << env.git_revision << "\n";
  if (!run.tags.empty()) std::cout << "tags: " << join_list(run.tags) << '\n';
  if (!run.run.run_rules.is_null()) std::cout << "run rules: " << run.run.run_rules.dump() << '\n';
  bool timing_header = false, heart_rate_header = false, live_header = false;
  std::string percentiles;
  for (const auto& r : rows) {
    if (r.result.scenario == "live") {
      if (!live_header) {
        std::printf("\n%-18s %-14s %-8s %7s %7s %7s %6s %7s %8s  %s\n", "model", "backend", "status", "frames", "fps",
                    "dropped", "bpm", "MAE_bpm", "rss_mb", "source");
        live_header = true;
      }
      print_live_row(r.result);
      if (r.result.live) percentiles = r.result.live->percentiles;
      continue;
    }
    if (r.result.heart_rate) {
      if (!heart_rate_header) {
        std::printf("\n%-18s %-8s %-12s %-8s %8s %8s %8s %8s %8s\n", "model", "backend", "clip", "status", "readings",
                    "MAE_bpm", "RMSE_bpm", "MAPE_%", "pearson");
        heart_rate_header = true;
      }
      std::cout << heart_rate_line(r.result) << '\n';
      continue;
    }
    if (!timing_header) {
      std::printf("\n%-18s %-8s %-5s %5s %-13s %3s  %-11s %10s %10s %10s %8s %s\n", "model", "backend", "prec", "batch",
                  "scenario", "thr", "status", "p50_ms", "p99_ms", "per_s", "rss_mb", "top1");
      timing_header = true;
    }
    std::cout << row_line(r) << '\n';
  }
  if (!percentiles.empty()) std::cout << "stage figures: " << percentiles << "; rss_mb is the peak RSS\n";
  if (!f.json_path.empty()) std::cout << "wrote " << f.json_path << '\n';
  return 0;
}

// RFC 4180: a field with a comma, quote or newline is quoted, quotes doubled.
std::string csv_text(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// One line per live row and stage, with the row's identity.
std::string live_stages_csv(const std::vector<StoredRow>& rows) {
  std::string out = "run_id,row_id,model,backend,method,stage,count,mean_ms,p50_ms,p90_ms,p99_ms,max_ms\n";
  for (const auto& row : rows) {
    if (!row.result.live) continue;
    const std::string identity = std::to_string(row.run_id) + "," + std::to_string(row.id) + "," +
                                 csv_text(row.result.model) + "," + csv_text(row.result.backend) + "," +
                                 row.result.live->method + ",";
    for (const auto& st : row.result.live->stages) {
      char figures[256];
      std::snprintf(figures, sizeof figures, "%lld,%.17g,%.17g,%.17g,%.17g,%.17g", static_cast<long long>(st.count),
                    st.mean_ms, st.p50_ms, st.p90_ms, st.p99_ms, st.max_ms);
      out += identity + st.stage + "," + figures + "\n";
    }
  }
  return out;
}

int export_rows(const ResultsFlags& f) {
  if (f.json_path.empty() && f.csv_path.empty() && f.stages_csv_path.empty()) {
    throw Error("results export: give --json FILE, --csv FILE and/or --stages-csv FILE");
  }
  if (!f.json_path.empty()) ensure_writable_file_path(f.json_path, "--json");
  if (!f.csv_path.empty()) ensure_writable_file_path(f.csv_path, "--csv");
  if (!f.stages_csv_path.empty()) ensure_writable_file_path(f.stages_csv_path, "--stages-csv");
  auto store = f.store.open_for_reading();
  const auto rows = store->rows(f.filter);
  if (!f.json_path.empty()) {
    nlohmann::json runs = nlohmann::json::array(), results = nlohmann::json::array();
    std::int64_t last_run = 0;
    for (const auto& r : rows) {
      if (r.run_id != last_run) {
        const auto run = store->find_run(r.run_id);
        runs.push_back({{"id", r.run_id},
                        {"verb", run->run.verb},
                        {"command_line", run->run.command_line},
                        {"hostname", run->run.hostname},
                        {"power_sensor", run->run.power_sensor},
                        {"tags", run->tags},
                        {"env", to_json(run->run.env)}});
        last_run = r.run_id;
      }
      nlohmann::json row = to_json(r.result);
      row["run_id"] = r.run_id;
      results.push_back(row);
    }
    write_file_atomically(
        f.json_path,
        nlohmann::json{{"schema", "inferlab.results-export/1"}, {"runs", runs}, {"results", results}}.dump(2) + "\n");
    std::cout << "wrote " << f.json_path << " (" << rows.size() << " rows)\n";
  }
  if (!f.csv_path.empty()) {
    // render_csv's columns, with the run id in front.
    std::string out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::istringstream lines(render_csv({rows[i].result}));
      std::string header, line;
      std::getline(lines, header);
      if (i == 0) out += "run_id," + header + "\n";
      while (std::getline(lines, line)) out += std::to_string(rows[i].run_id) + "," + line + "\n";
    }
    if (rows.empty()) out = "run_id\n";
    write_file_atomically(f.csv_path, out);
    std::cout << "wrote " << f.csv_path << " (" << rows.size() << " rows)\n";
  }
  if (!f.stages_csv_path.empty()) {
    write_file_atomically(f.stages_csv_path, live_stages_csv(rows));
    std::cout << "wrote " << f.stages_csv_path << " (the stages of the live rows)\n";
  }
  return 0;
}

int tag_run(const ResultsFlags& f) {
  if (f.tag_name.empty() || f.tag_name.find_first_of(" \t\n") != std::string::npos ||
      f.tag_name.find_first_not_of("0123456789") == std::string::npos) {
    throw Error("results tag " + f.id + " '" + f.tag_name + "': a tag is one word and not a number");
  }
  // Tagging writes, but must not create a store that does not exist yet.
  f.store.open_for_reading();
  auto store = open_result_store(f.store.location(), StoreAccess::kWrite);
  const RunSummary run = existing_run(*store, f.id, "results tag");
  const auto previous = store->set_tag(f.tag_name, run.run.id);
  std::cout << "tag " << f.tag_name << " -> run " << run.run.id;
  if (previous && *previous != run.run.id) std::cout << " (moved from run " << *previous << ")";
  std::cout << '\n';
  return 0;
}

void add_filters(CLI::App& sub, ResultsFlags& f) {
  sub.add_option("--model", f.filter.model, "Only rows of this model");
  sub.add_option("--backend", f.filter.backend, "Only rows of this backend");
  sub.add_option("--machine", f.filter.machine, "Only runs whose host name or CPU model contains this");
  sub.add_option("--since", f.filter.since, "Only runs started at or after this ISO-8601 date/time (UTC)");
}

}  // namespace

void add_results(CLI::App& app, int* exit_code) {
  auto* results = app.add_subcommand("results", "List, show, export and tag the runs in the results store");
  results->require_subcommand(1);
  auto f = std::make_shared<ResultsFlags>();

  auto* list = results->add_subcommand("list", "Runs in the store, newest first");
  add_filters(*list, *f);
  f->store.add_to(*list, false);
  list->callback([=] { *exit_code = list_runs(*f); });

  auto* show = results->add_subcommand("show", "One run: its machine, command and rows");
  show->add_option("id", f->id, "Run id")->required();
  show->add_option("--json", f->json_path, "Also write the run as an inferlab.bench/1 document");
  f->store.add_to(*show, false);
  show->callback([=] { *exit_code = show_run(*f); });

  auto* exp = results->add_subcommand("export", "Rows as JSON or CSV");
  add_filters(*exp, *f);
  exp->add_option("--json", f->json_path, "Write the rows and their runs as JSON");
  exp->add_option("--csv", f->csv_path, "Write the rows as CSV");
  exp->add_option("--stages-csv", f->stages_csv_path, "Write each live row's stage timings as CSV (one line a stage)");
  f->store.add_to(*exp, false);
  exp->callback([=] { *exit_code = export_rows(*f); });

  auto* tag = results->add_subcommand("tag", "Name a run (a baseline for compare); moves an existing tag");
  tag->add_option("id", f->id, "Run id")->required();
  tag->add_option("name", f->tag_name, "Tag name")->required();
  f->store.add_to(*tag, false);
  tag->callback([=] { *exit_code = tag_run(*f); });
}

}  // namespace inferlab::cli
