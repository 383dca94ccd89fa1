// The tactic timing cache's file format (tactic_cache.h).
#include "tactic_cache.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "inferlab/cpu_info.h"
#include "inferlab/error.h"
#include "inferlab/files.h"
#include "onednn_util.h"

namespace inferlab::native {

namespace {

namespace fs = std::filesystem;

// The first line. Bump the number when the meaning of a line changes: an
// older file then simply counts as another machine's and is rebuilt.
constexpr const char* kMagic = "inferlab-tactics";
// 2: Conv layers also time oneDNN's Winograd kernels; choices made without
// them are timed again. 3: requantized int8 Convs whose activation u8
// saturation applies run without post-ops (kernels_conv.cpp), which changes
// which of their candidates is fastest.
constexpr const char* kFormatVersion = "3";

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

void warn(const std::string& message) { std::cerr << "inferlab: warning: " << message << '\n'; }

}  // namespace

std::string default_tactic_cache_path() {
  if (const char* p = std::getenv("INFERLAB_TACTIC_CACHE"); p && *p) return p;
  return user_cache_directory() + "/tactics.tsv";
}

std::string tactic_machine_key() {
  const dnnl_version_t* v = dnnl_version();
  // Tabs and newlines would break the line format; CPU names have none, but
  // the file must stay parseable whatever /proc says.
  std::string cpu = cpu_model_name();
  for (char& c : cpu) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return "machine\tcpu=" + cpu + "\tisa=" + onednn_isa_name() + "\tonednn=" + std::to_string(v->major) + "." +
         std::to_string(v->minor) + "." + std::to_string(v->patch) + " (" + v->hash + ")";
}

TacticCache::TacticCache(std::string path, std::string machine) : path_(std::move(path)), machine_(std::move(machine)) {
  std::error_code ec;
  if (!fs::exists(path_, ec)) return;
  std::string text, why;
  try {
    text = read_file(path_);
  } catch (const Error& e) {
    why = e.what();
  }
  bool same_machine = true;
  if (why.empty() && !parse(text, entries_, same_machine, why)) entries_.clear();
  if (!why.empty()) {
    problem_ = why;
    warn("tactic cache " + path_ + ": " + why + "; ignoring it and rebuilding it");
    dirty_ = true;
  } else if (!same_machine) {
    problem_ = "timed on another machine (or by another inferlab or oneDNN version)";
    dirty_ = true;
  }
}

bool TacticCache::parse(const std::string& text, std::map<std::string, Entry>& entries, bool& same_machine,
                        std::string& why) const {
  entries.clear();
  same_machine = true;
  if (text.empty()) {
    why = "empty file";
    return false;
  }
  // save() always ends the file with a newline: without one it was cut short.
  if (text.back() != '\n') {
    why = "truncated (no newline at the end)";
    return false;
  }
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  const std::string magic = std::string(kMagic) + " ";
  if (line.rfind(magic, 0) != 0) {
    why = "line 1: not an inferlab tactic cache (expected '" + magic + kFormatVersion + "')";
    return false;
  }
  if (line.substr(magic.size()) != kFormatVersion) {
    same_machine = false;  // another format version: well-formed, just not ours
    return true;
  }
  if (!std::getline(in, line) || line.rfind("machine\t", 0) != 0) {
    why = "line 2: expected the machine line";
    return false;
  }
  if (line != machine_) same_machine = false;
  for (int number = 3; std::getline(in, line); ++number) {
    const auto fields = split_tabs(line);
    if (fields.size() != 3 || fields[0].empty() || fields[1].empty()) {
      why = "line " + std::to_string(number) + ": expected signature, tactic and ms separated by tabs";
      return false;
    }
    char* end = nullptr;
    const double ms = std::strtod(fields[2].c_str(), &end);
    if (fields[2].empty() || *end != '\0' || !std::isfinite(ms) || ms < 0) {
      why = "line " + std::to_string(number) + ": '" + fields[2] + "' is not a time in ms";
      return false;
    }
    if (same_machine) entries[fields[0]] = {fields[1], ms};
  }
  return true;
}

const TacticCache::Entry* TacticCache::find(const std::string& signature) const {
  auto it = entries_.find(signature);
  return it == entries_.end() ? nullptr : &it->second;
}

void TacticCache::put(const std::string& signature, Entry entry) {
  entries_[signature] = entry;
  added_[signature] = std::move(entry);
  dirty_ = true;
}

void TacticCache::save() {
  if (!dirty_) return;
  // Another session (a parallel test, a bench worker) may have saved since
  // this one read the file: keep its entries, ours win on a clash.
  std::map<std::string, Entry> merged;
  std::error_code ec;
  if (fs::exists(path_, ec)) {
    try {
      bool same_machine = true;
      std::string why;
      if (!parse(read_file(path_), merged, same_machine, why)) merged.clear();
    } catch (const Error&) {
      merged.clear();
    }
  }
  for (const auto& [signature, entry] : added_) merged[signature] = entry;
  std::ostringstream out;
  out.precision(6);
  out << kMagic << ' ' << kFormatVersion << '\n' << machine_ << '\n';
  for (const auto& [signature, entry] : merged) out << signature << '\t' << entry.tactic << '\t' << entry.ms << '\n';
  try {
    const fs::path parent = fs::path(path_).parent_path();
    if (!parent.empty()) fs::create_directories(parent);
    write_file_atomically(path_, out.str());
    dirty_ = false;
  } catch (const std::exception& e) {
    warn("tactic cache " + path_ + ": not saved: " + e.what());
    dirty_ = false;  // one warning per session, not one per prepare
  }
}

}  // namespace inferlab::native
