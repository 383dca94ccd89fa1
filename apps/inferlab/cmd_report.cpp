// `inferlab report [--runs ID,...] -o report.html`: stored runs as one
// self-contained HTML page with charts (html_report.h).
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/html_report.h"
#include "store_flags.h"

namespace inferlab::cli {

namespace {

struct ReportFlags {
  StoreFlags store;
  std::string runs, output, title = "inferlab report";
};

bool all_digits(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

// --runs items are run ids or tags; without --runs, the newest bench run,
// the newest accuracy run and the newest live run, so `make run` then
// `report` shows both and joins Top-1 into the Pareto front.
std::vector<RunSummary> pick_runs(ResultStore& store, const std::string& list) {
  std::vector<RunSummary> out;
  if (list.empty()) {
    const auto runs = store.list_runs(RowFilter{});
    for (const char* verb : {"accuracy", "bench", "live"}) {
      for (const auto& r : runs) {
        if (r.run.verb == verb && r.rows > 0) {
          out.push_back(r);
          break;
        }
      }
    }
    if (out.empty()) throw Error("report: " + store.location() + " holds no run with rows (run inferlab bench first)");
    return out;
  }
  for (const auto& item : split_list(list)) {
    std::optional<std::int64_t> id =
        all_digits(item) ? std::optional<std::int64_t>(std::stoll(item)) : store.tagged_run(item);
    if (!id) throw Error("--runs " + item + ": neither a run id nor a tag in " + store.location());
    auto run = store.find_run(*id);
    if (!run) throw Error("--runs " + item + ": no such run in " + store.location());
    out.push_back(*run);
  }
  return out;
}

int run_report(const ReportFlags& f) {
  ensure_writable_file_path(f.output, "-o");
  const ChartLibrary library = load_chart_library();
  auto store = f.store.open_for_reading();
  ReportInput input;
  input.title = f.title;
  input.runs = pick_runs(*store, f.runs);
  for (const auto& run : input.runs) {
    RowFilter filter;
    filter.run_id = run.run.id;
    auto rows = store->rows(filter);
    input.rows.insert(input.rows.end(), rows.begin(), rows.end());
  }
  write_file_atomically(f.output, render_html_report(input, library));
  std::cout << "wrote " << f.output << " (" << input.runs.size() << " run(s), " << input.rows.size()
            << " row(s); opens offline)\n";
  return 0;
}

}  // namespace

void add_report(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ReportFlags>();
  auto* sub = app.add_subcommand("report", "Stored runs as one self-contained HTML page with charts and tables");
  sub->add_option("--runs", f->runs,
                  "Run ids or tags, comma-separated (default: the newest bench, accuracy and live runs)");
  sub->add_option("-o,--output", f->output, "The HTML file to write")->required();
  sub->add_option("--title", f->title, "The page's title")->capture_default_str();
  f->store.add_to(*sub, false);
  sub->callback([=] { *exit_code = run_report(*f); });
}

}  // namespace inferlab::cli
