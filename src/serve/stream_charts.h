#pragma once
// uPlot, the chart library of the web Timing Monitor, read at run time from
// the folder scripts/fetch-uplot.sh fills (pinned version, sha256-checked),
// so a build without npm still builds and only `live --web` says what is missing.

#include <string>

namespace inferlab {

/// uPlot's script and stylesheet as served to the browser.
struct StreamChartLibrary {
  std::string js, css;
  std::string description;  ///< "uPlot 1.6.32 (MIT)"
};

/// $INFERLAB_UPLOT_DIR, else ~/.cache/inferlab/web/uplot-<version> (XDG_CACHE_HOME honoured).
std::string stream_chart_library_dir();

/// Reads both files. Throws Error (bad input) naming the missing file and
/// scripts/fetch-uplot.sh when they are absent.
StreamChartLibrary load_stream_chart_library();

}  // namespace inferlab
