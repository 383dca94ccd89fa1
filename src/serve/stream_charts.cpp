#include "serve/stream_charts.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "inferlab/error.h"
#include "inferlab/files.h"

namespace inferlab {

namespace {

// Must match the folder scripts/fetch-uplot.sh fills (its pinned version).
constexpr const char* kUplotFolder = "web/uplot-1.6.32";
constexpr const char* kUplotDescription = "uPlot 1.6.32 (MIT)";

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string read_asset(const std::filesystem::path& dir, const std::string& name) {
  const std::filesystem::path path = dir / name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error("--web: chart library file " + path.string() +
                " is missing: run scripts/fetch-uplot.sh (or scripts/install-deps.sh), or set INFERLAB_UPLOT_DIR");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string stream_chart_library_dir() {
  if (std::string dir = env_or_empty("INFERLAB_UPLOT_DIR"); !dir.empty()) return dir;
  return user_cache_directory() + "/" + kUplotFolder;
}

StreamChartLibrary load_stream_chart_library() {
  const std::filesystem::path dir = stream_chart_library_dir();
  return {read_asset(dir, "uPlot.iife.min.js"), read_asset(dir, "uPlot.min.css"), kUplotDescription};
}

}  // namespace inferlab
