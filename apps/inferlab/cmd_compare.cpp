// `inferlab compare BASE NEW`: a regression gate. BASE and NEW are bench
// JSON files, run ids or tags; exit 1 when any figure regressed beyond the
// threshold with statistical significance, 2 when they share nothing.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "inferlab/compare.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "store_flags.h"

namespace inferlab::cli {

namespace {

struct CompareFlags {
  StoreFlags store;
  std::string base, next, threshold = "5%", json_path;
  double alpha = 0.01;
  bool gate_tail = false;
};

double parse_threshold(const std::string& text) {
  const bool percent = !text.empty() && text.back() == '%';
  const std::string number = percent ? text.substr(0, text.size() - 1) : text;
  double value = -1;
  std::size_t used = 0;
  try {
    value = std::stod(number, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != number.size() || !(value >= 0)) {
    throw Error("--threshold " + text + ": give a percentage like 5% (or a fraction like 0.05)");
  }
  if (!percent && value >= 1) throw Error("--threshold " + text + ": write " + text + "% (or a fraction like 0.05)");
  return percent ? value / 100.0 : value;
}

bool is_run_id(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

// A side of the comparison, from a file, a run id or a tag.
class SideLoader {
 public:
  explicit SideLoader(const StoreFlags& flags) : flags_(flags) {}

  std::vector<BenchResult> load(const std::string& arg, const std::string& role) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(arg, ec)) return from_file(arg, role);
    ResultStore& s = store(arg, role);
    std::optional<std::int64_t> run_id;
    if (is_run_id(arg)) {
      run_id = std::stoll(arg);
      if (!s.find_run(*run_id)) throw Error(role + " " + arg + ": no such run in " + s.location());
    } else {
      run_id = s.tagged_run(arg);
      if (!run_id) {
        throw Error(role + " " + arg + ": neither a file, a run id nor a tag in " + s.location());
      }
    }
    RowFilter filter;
    filter.run_id = run_id;
    std::vector<BenchResult> out;
    for (auto& row : s.rows(filter)) out.push_back(std::move(row.result));
    return out;
  }

 private:
  ResultStore& store(const std::string& arg, const std::string& role) {
    if (!store_) {
      if (!is_run_id(arg) && flags_.no_store) throw Error(role + " " + arg + ": no such file");
      store_ = flags_.open_for_reading();
    }
    return *store_;
  }

  static std::vector<BenchResult> from_file(const std::string& path, const std::string& role) {
    std::ifstream in(path);
    nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("results") || !doc.at("results").is_array()) {
      throw Error(role + " " + path + ": not an inferlab.bench/1 JSON document (no results array)");
    }
    std::vector<BenchResult> out;
    try {
      for (const auto& row : doc.at("results")) out.push_back(bench_result_from_json(row));
    } catch (const Error& e) {
      throw Error(role + " " + path + ": " + e.what());
    }
    return out;
  }

  const StoreFlags& flags_;
  std::unique_ptr<ResultStore> store_;
};

int run_compare(const CompareFlags& f) {
  CompareSettings settings;
  settings.threshold = parse_threshold(f.threshold);
  if (!(f.alpha > 0 && f.alpha < 1)) throw Error("--alpha " + std::to_string(f.alpha) + ": must be in (0, 1)");
  settings.alpha = f.alpha;
  settings.gate_tail = f.gate_tail;
  if (!f.json_path.empty()) ensure_writable_file_path(f.json_path, "--json");
  SideLoader loader(f.store);
  const auto base = loader.load(f.base, "BASE");
  const auto next = loader.load(f.next, "NEW");
  const CompareReport report = compare_results(base, next, settings);
  if (report.rows.empty()) {
    throw Error("compare: BASE " + f.base + " (" + std::to_string(base.size()) + " rows) and NEW " + f.next + " (" +
                std::to_string(next.size()) +
                " rows) share no configuration (model, backend, precision, batch, scenario, threads)");
  }
  std::cout << render_compare_text(report);
  if (!f.json_path.empty()) {
    write_file_atomically(f.json_path, to_json(report).dump(2) + "\n");
    std::cout << "wrote " << f.json_path << '\n';
  }
  return report.regression ? 1 : 0;
}

}  // namespace

void add_compare(CLI::App& app, int* exit_code) {
  auto* sub = app.add_subcommand(
      "compare", "Compare two runs (bench JSON files, run ids or tags); exit 1 on a significant regression");
  auto f = std::make_shared<CompareFlags>();
  sub->add_option("BASE", f->base, "The baseline: a bench JSON file, a run id or a tag")->required();
  sub->add_option("NEW", f->next, "The run to judge: a bench JSON file, a run id or a tag")->required();
  sub->add_option("--threshold", f->threshold,
                  "Smallest change that counts as a regression, e.g. 5% (set it above the machine's run-to-run drift)")
      ->capture_default_str();
  sub->add_option("--alpha", f->alpha, "Significance level of each test")->capture_default_str();
  sub->add_option("--json", f->json_path, "Write the comparison as JSON");
  sub->add_flag("--gate-tail", f->gate_tail,
                "Let p99 and throughput regressions fail the comparison too (they follow stalls from other "
                "processes; the median does not)");
  f->store.add_to(*sub, false);
  sub->callback([=] { *exit_code = run_compare(*f); });
}

}  // namespace inferlab::cli
