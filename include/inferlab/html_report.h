#pragma once
/// @file html_report.h
/// One self-contained HTML report (`inferlab report`, `bench --html`): the
/// rows' data as JSON, tables, and charts drawn in the browser by Vega-Lite.
/// The charting library (Vega, Vega-Lite, vega-embed, from the npm registry
/// by scripts/fetch-charts.sh) is inlined into the file, so the page opens
/// offline and needs nothing beside it.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/store.h"

namespace inferlab {

/// The charting library's scripts, as read from disk. Value type.
struct ChartLibrary {
  std::string vega, vega_lite, vega_embed;  ///< minified UMD builds
  std::string description;                  ///< e.g. "Vega 6.2.0, Vega-Lite 6.4.1, vega-embed 7.1.0"
};

/// Where the charting library is looked for: `$INFERLAB_CHARTS_DIR` when set
/// and non-empty, else `${XDG_CACHE_HOME:-~/.cache}/inferlab/web/<pinned
/// versions>` (the folder scripts/fetch-charts.sh fills).
std::string chart_library_dir();

/// Reads the three scripts from chart_library_dir(). Throws Error (bad input)
/// with one line naming the folder and scripts/fetch-charts.sh when a file
/// is missing.
ChartLibrary load_chart_library();

/// What a report shows: runs and their rows (raw latency samples included
/// when stored, for the latency CDF). The report does not own a store.
struct ReportInput {
  std::string title = "inferlab report";
  std::vector<RunSummary> runs;
  std::vector<StoredRow> rows;
};

/// The data the page plots, as JSON: runs, rows (flattened figures), CDF
/// points (at most 200 per row, from the sorted raw samples), per-layer
/// profile bars (the 15 slowest layers of each profiled row), the
/// configurations with their joined Top-1 and both Pareto fronts, the live
/// rows' stage timings ("live_stages": one point per row and stage with
/// count, mean, p50, p90, p99 and max in ms; "live_stage_order"), and the
/// list of charts the page draws ("charts": [{id, title, why_missing}]).
/// Pure function.
nlohmann::json report_data(const ReportInput& input);

/// The whole HTML document: `library` and report_data(input) inlined, the
/// page script that draws each chart beside its table, and a render marker:
/// once every chart has rendered (or failed) the page sets
/// `<body data-render-state="done|error">` and fills `<pre id="render-status">`
/// with JSON {charts: [{id, width, height, marks}], errors: [...]}, for
/// tests in a headless browser. Pure function.
std::string render_html_report(const ReportInput& input, const ChartLibrary& library);

}  // namespace inferlab
