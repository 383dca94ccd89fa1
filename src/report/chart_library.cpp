// Finding and reading the charting library that scripts/fetch-charts.sh put
// in the user's cache. Read at run time, not compiled in, so a build without
// npm still builds everything and only the HTML verbs say what is missing.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "inferlab/error.h"
#include "inferlab/files.h"
#include "inferlab/html_report.h"

namespace inferlab {

namespace {

// Must match the folder scripts/fetch-charts.sh fills (its pinned versions).
constexpr const char* kChartsFolder = "web/vega-6.2.0-lite-6.4.1-embed-7.1.0";
constexpr const char* kChartsDescription = "Vega 6.2.0, Vega-Lite 6.4.1, vega-embed 7.1.0 (BSD-3-Clause)";

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string read_script(const std::filesystem::path& dir, const std::string& name) {
  const std::filesystem::path path = dir / name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error("HTML report: charting library file " + path.string() +
                " is missing: run scripts/fetch-charts.sh (or scripts/install-deps.sh), or set INFERLAB_CHARTS_DIR");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string chart_library_dir() {
  if (std::string dir = env_or_empty("INFERLAB_CHARTS_DIR"); !dir.empty()) return dir;
  return user_cache_directory() + "/" + kChartsFolder;
}

ChartLibrary load_chart_library() {
  const std::filesystem::path dir = chart_library_dir();
  ChartLibrary lib;
  lib.vega = read_script(dir, "vega.min.js");
  lib.vega_lite = read_script(dir, "vega-lite.min.js");
  lib.vega_embed = read_script(dir, "vega-embed.min.js");
  lib.description = kChartsDescription;
  return lib;
}

}  // namespace inferlab
