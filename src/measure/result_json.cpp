// JSON conversion of results (CLI.md, schema "inferlab.bench/1") and the
// rows' flat views (store columns, CSV columns), all by walking the one
// field table in result_fields.h. Field names are the public contract:
// scripts and tests read them.
#include <cmath>
#include <type_traits>

#include "inferlab/error.h"
#include "inferlab/result.h"
#include "measure/result_fields.h"

namespace inferlab {

namespace {

using nlohmann::json;
using result_fields::Absent;
using result_fields::Spec;
using result_fields::View;

// JSON has no NaN/Inf: a non-finite figure is written as null rather than
// producing a document other tools cannot parse.
json finite_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

template <typename T>
T get_or(const json& object, const char* key, T fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return it->get<T>();
}

template <class T>
json json_value(const T& x, const Spec& spec) {
  if constexpr (std::is_same_v<T, std::string>) {
    return spec.empty_as_null && x.empty() ? json(nullptr) : json(x);
  } else if constexpr (std::is_same_v<T, double>) {
    return finite_or_null(x);
  } else if constexpr (std::is_same_v<T, std::optional<double>>) {
    return x ? finite_or_null(*x) : json(nullptr);
  } else if constexpr (std::is_same_v<T, ResultStatus>) {
    return result_status_name(x);
  } else {
    static_assert(std::is_integral_v<T>, "a field type the table has no JSON form for");
    return x;
  }
}

template <class T>
void read_json_value(const json& j, T& x) {
  if constexpr (std::is_same_v<T, std::optional<double>>) {
    x = j.is_number() ? std::optional<double>(j.get<double>()) : std::nullopt;
  } else if constexpr (std::is_same_v<T, ResultStatus>) {
    x = result_status_from_name(j.get<std::string>());
  } else {
    x = j.get<T>();
  }
}

template <class T>
FlatValue flat_value(const T& x) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, double> || std::is_same_v<T, bool>) {
    return x;
  } else if constexpr (std::is_same_v<T, std::optional<double>>) {
    return x ? FlatValue(*x) : FlatValue();
  } else if constexpr (std::is_same_v<T, ResultStatus>) {
    return std::string(result_status_name(x));
  } else {
    static_assert(std::is_integral_v<T>, "a field type the table has no flat form for");
    return static_cast<std::int64_t>(x);
  }
}

// Writes a row (or a group of it) into a JSON object.
class JsonWriter {
 public:
  explicit JsonWriter(json& out) : out_(out) {}

  template <class T>
  void value(const char* key, const T& x, const Spec& spec) {
    out_[key] = json_value(x, spec);
  }
  void pair(const char* key, double lo, double hi, const Spec&, const Spec&) {
    out_[key] = json::array({finite_or_null(lo), finite_or_null(hi)});
  }
  template <class T, class Fill>
  void group(const char* key, const std::optional<T>& group, Absent absent, Fill fill, const T& = T{}) {
    if (group) {
      object(key, *group, fill);
    } else if (absent == Absent::kNull) {
      out_[key] = nullptr;
    }
  }
  template <class T, class Fill>
  void object(const char* key, const T& x, Fill fill) {
    json inner = json::object();
    JsonWriter writer(inner);
    fill(writer, x);
    out_[key] = std::move(inner);
  }
  template <class T, class Fill>
  void inline_group(const std::optional<T>& group, const char*, const char*, Fill fill, const T& = T{}) {
    if (group) fill(*this, *group);
  }
  template <class Write, class Read>
  void custom(const BenchResult& row, Write write, Read) {
    write(row, out_);
  }

 private:
  json& out_;
};

// Reads what JsonWriter wrote. A missing or null key leaves the field at its
// starting value unless the field is required.
class JsonReader {
 public:
  JsonReader(const json& in, std::string path) : in_(in), path_(std::move(path)) {}

  template <class T>
  void value(const char* key, T& x, const Spec& spec) {
    if (const json* j = find(key, spec.required)) read_json_value(*j, x);
  }
  void pair(const char* key, double& lo, double& hi, const Spec& spec, const Spec&) {
    if (const json* j = find(key, spec.required)) {
      lo = j->at(0).get<double>();
      hi = j->at(1).get<double>();
    }
  }
  template <class T, class Fill>
  void group(const char* key, std::optional<T>& group, Absent, Fill fill, const T& prototype = T{}) {
    auto it = in_.find(key);
    if (it == in_.end() || !it->is_object()) return;
    T x = prototype;
    JsonReader reader(*it, path_ + key + ".");
    fill(reader, x);
    group = std::move(x);
  }
  template <class T, class Fill>
  void object(const char* key, T& x, Fill fill) {
    auto it = in_.find(key);
    if (it == in_.end() || !it->is_object()) return;
    JsonReader reader(*it, path_ + key + ".");
    fill(reader, x);
  }
  template <class T, class Fill>
  void inline_group(std::optional<T>& group, const char* marker_a, const char* marker_b, Fill fill,
                    const T& prototype = T{}) {
    if (!in_.contains(marker_a) || !in_.contains(marker_b)) return;
    T x = prototype;
    fill(*this, x);
    group = std::move(x);
  }
  template <class Write, class Read>
  void custom(BenchResult& row, Write, Read read) {
    read(in_, row);
  }

 private:
  const json* find(const char* key, bool required) const {
    auto it = in_.find(key);
    if (it != in_.end() && !it->is_null()) return &*it;
    if (required) throw Error("malformed bench result: \"" + path_ + key + "\" is missing", ErrorKind::kRuntime);
    return nullptr;
  }

  const json& in_;
  std::string path_;
};

// Collects one flat view's cells. A group the row lacks still gives its
// cells, absent, so every row has the same columns.
class FlatCollector {
 public:
  FlatCollector(View view, bool row_ok, std::vector<FlatCell>& out) : view_(view), row_ok_(row_ok), out_(out) {}

  template <class T>
  void value(const char*, const T& x, const Spec& spec) {
    if ((spec.views & view_) == 0) return;
    const bool blank = !present_ || (view_ == result_fields::kCsv && spec.csv_only_ok && !row_ok_);
    out_.push_back({spec.flat, blank ? FlatValue() : flat_value(x)});
  }
  void pair(const char* key, double lo, double hi, const Spec& lo_spec, const Spec& hi_spec) {
    value(key, lo, lo_spec);
    value(key, hi, hi_spec);
  }
  template <class T, class Fill>
  void group(const char*, const std::optional<T>& group, Absent, Fill fill, const T& prototype = T{}) {
    FlatCollector inner = *this;
    inner.present_ = present_ && group.has_value();
    fill(inner, group ? *group : prototype);
  }
  template <class T, class Fill>
  void object(const char*, const T& x, Fill fill) {
    fill(*this, x);
  }
  template <class T, class Fill>
  void inline_group(const std::optional<T>& group, const char*, const char*, Fill fill, const T& prototype = T{}) {
    this->group("", group, Absent::kNull, fill, prototype);
  }
  template <class Write, class Read>
  void custom(const BenchResult&, Write, Read) {}

 private:
  View view_;
  bool row_ok_;
  bool present_ = true;
  std::vector<FlatCell>& out_;
};

std::vector<FlatCell> flat_view(const BenchResult& row, View view) {
  std::vector<FlatCell> cells;
  FlatCollector collector(view, row.ok(), cells);
  result_fields::visit_result_fields(collector, row);
  return cells;
}

}  // namespace

const char* result_status_name(ResultStatus status) {
  switch (status) {
    case ResultStatus::kOk:
      return "ok";
    case ResultStatus::kFailed:
      return "failed";
    case ResultStatus::kUnsupported:
      return "unsupported";
  }
  return "failed";
}

ResultStatus result_status_from_name(std::string_view name) {
  for (ResultStatus s : {ResultStatus::kOk, ResultStatus::kFailed, ResultStatus::kUnsupported}) {
    if (name == result_status_name(s)) return s;
  }
  throw Error("unknown result status '" + std::string(name) + "' (expected ok, failed or unsupported)");
}

namespace result_fields {

void write_profile_summary(const BenchResult& r, json& j) {
  if (r.profile) {
    // The summary per layer; the timeline goes to the Chrome trace file.
    json layers = json::array();
    const double per_run_ms = r.profile->layers_ms_per_run();
    for (const auto& l : r.profile->layers) {
      layers.push_back({{"name", l.name},
                        {"op", l.op},
                        {"implementation", l.implementation},
                        {"fused", l.fused},
                        {"ms_per_run", l.mean_ms()},
                        {"share", per_run_ms > 0 ? l.mean_ms() / per_run_ms : 0.0}});
    }
    j["profile"] = json{{"runs", r.profile->runs},
                        {"layers_ms_per_run", per_run_ms},
                        {"note", r.profile->note},
                        {"trace", r.profile_trace_path},
                        {"layers", layers}};
  } else if (!r.profile_unavailable.empty()) {
    j["profile"] = json{{"unavailable", r.profile_unavailable}};
  }
}

// The per-layer summary write_profile_summary() writes (the timeline went to
// the Chrome trace, so events stay empty; total_ms is ms_per_run x runs again).
void read_profile_summary(const json& j, BenchResult& r) {
  auto it = j.find("profile");
  if (it == j.end() || !it->is_object()) return;
  const json& p = *it;
  if (auto u = p.find("unavailable"); u != p.end()) {
    r.profile_unavailable = u->get<std::string>();
    return;
  }
  SessionProfile profile;
  profile.runs = get_or<std::int64_t>(p, "runs", 0);
  profile.note = get_or<std::string>(p, "note", "");
  for (const auto& l : p.at("layers")) {
    LayerProfile layer;
    layer.name = l.at("name").get<std::string>();
    layer.op = get_or<std::string>(l, "op", "");
    layer.implementation = get_or<std::string>(l, "implementation", "");
    layer.fused = get_or<std::string>(l, "fused", "");
    layer.runs = profile.runs;
    layer.total_ms = get_or<double>(l, "ms_per_run", 0.0) * static_cast<double>(profile.runs);
    profile.layers.push_back(std::move(layer));
  }
  r.profile = std::move(profile);
  r.profile_trace_path = get_or<std::string>(p, "trace", "");
}

// Flat, beside the latency figures they qualify; the rest nested.
void write_serving(const BenchResult& r, json& j) {
  if (!r.serving) return;
  j.update(to_json(*r.serving));
}

void read_serving(const json& j, BenchResult& r) {
  if (j.contains("achieved_qps") && j.contains("search")) r.serving = serving_result_from_json(j);
}

void write_live(const BenchResult& r, json& j) {
  if (r.live) j["live"] = to_json(*r.live);
}

void read_live(const json& j, BenchResult& r) {
  if (auto it = j.find("live"); it != j.end() && it->is_object()) r.live = live_fields_from_json(*it);
}

}  // namespace result_fields

json to_json(const BenchResult& r) {
  json j = json::object();
  JsonWriter writer(j);
  result_fields::visit_result_fields(writer, r);
  return j;
}

json to_json(const LatencyStats& stats) {
  BenchResult row;
  row.latency = stats;
  return to_json(row).at("latency_ms");
}

BenchResult bench_result_from_json(const json& j) {
  try {
    BenchResult r;
    r.precision = "fp32";  // what a document without a precision measured
    JsonReader reader(j, "");
    result_fields::visit_result_fields(reader, r);
    if (r.latency) r.latency->count = static_cast<std::size_t>(r.count);
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed bench result: ") + e.what(), ErrorKind::kRuntime);
  }
}

std::vector<FlatCell> store_columns(const BenchResult& row) { return flat_view(row, result_fields::kStore); }

std::vector<FlatCell> csv_columns(const BenchResult& row) { return flat_view(row, result_fields::kCsv); }

json to_json(const Environment& env) {
  return json{{"cpu_model", env.cpu_model},
              {"isa", env.isa},
              {"cores", env.cores},
              {"memory_total_bytes", env.memory_total_bytes},
              {"threads", env.threads},
              {"governor", env.governor},
              {"os", env.os},
              {"compiler", env.compiler},
              {"libraries", env.libraries},
              {"git_revision", env.git_revision},
              {"started_at", env.started_at}};
}

json bench_document(const Environment& env, const std::vector<BenchResult>& results) {
  json doc{{"schema", "inferlab.bench/1"}, {"env", to_json(env)}, {"results", json::array()}};
  for (const auto& r : results) doc["results"].push_back(to_json(r));
  return doc;
}

}  // namespace inferlab
