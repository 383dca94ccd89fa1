// JSON conversion of results (CLI.md, schema "inferlab.bench/1"). Field names
// here are the public contract: scripts and tests read them.
#include <cmath>

#include "inferlab/error.h"
#include "inferlab/result.h"

namespace inferlab {

namespace {

using nlohmann::json;

// JSON has no NaN/Inf: a non-finite figure is written as null rather than
// producing a document other tools cannot parse.
json finite_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

template <typename T>
T get_or(const json& object, const char* key, T fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return it->get<T>();
}

}  // namespace

json to_json(const LatencyStats& s) {
  return json{{"mean", s.mean_ms}, {"stddev", s.stddev_ms},
              {"min", s.min_ms},   {"p50", s.p50_ms},
              {"p90", s.p90_ms},   {"p95", s.p95_ms},
              {"p99", s.p99_ms},   {"p999", s.p999_ms},
              {"max", s.max_ms},   {"ci95_p50", json::array({s.ci95_p50_lo_ms, s.ci95_p50_hi_ms})}};
}

json to_json(const BenchResult& r) {
  json j{{"model", r.model},
         {"backend", r.backend},
         {"backend_version", r.backend_version},
         {"precision", r.precision},
         {"batch", r.batch},
         {"threads", r.threads},
         {"scenario", r.scenario},
         {"status", r.status},
         {"reason", r.reason},
         {"latency_ms", r.latency ? to_json(*r.latency) : json(nullptr)},
         {"throughput_per_s", finite_or_null(r.throughput_per_s)},
         {"count", r.count},
         {"duration_ms", r.duration_ms},
         {"timing_boundary", r.timing_boundary},
         {"timed_region", r.timed_region},
         {"model_format", r.model_format},
         {"model_form", r.model_form},
         {"stop_reason", r.stop_reason},
         {"valid", r.valid},
         {"invalid_reason", r.invalid_reason},
         {"model_sha256", r.model_sha256},
         {"threading", r.threading},
         {"power_note", r.power_note},
         {"sweep_best", r.sweep_best},
         {"sweep_stop", r.sweep_stop}};
  j["memory_mb"] = r.memory ? json{{"peak_rss", r.memory->peak_rss_mb},
                                   {"load_delta", r.memory->load_delta_mb},
                                   {"run_delta", r.memory->run_delta_mb}}
                            : json(nullptr);
  j["power_w"] = r.power_w_avg ? json{{"avg", *r.power_w_avg}} : json(nullptr);
  j["energy_mj_per_inference"] = r.energy_mj_per_inference ? json(*r.energy_mj_per_inference) : json(nullptr);
  j["energy_source"] = r.energy_source ? json{{"sensor", r.energy_source->sensor},
                                              {"method", r.energy_source->method},
                                              {"sample_interval_ms", r.energy_source->sample_interval_ms}}
                                       : json(nullptr);
  if (r.validation) {
    j["validation"] = json{{"reference", r.validation->reference},
                           {"max_abs_diff", finite_or_null(r.validation->max_abs_diff)},
                           {"cosine", finite_or_null(r.validation->cosine)},
                           {"within_tolerance", r.validation->within_tolerance},
                           {"tolerance", r.validation->tolerance}};
  } else {
    j["validation"] = nullptr;
  }
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
  if (r.serving) {
    // Flat, beside the latency figures they qualify; the rest nested.
    const json serving = to_json(*r.serving);
    for (const auto& [key, value] : serving.items()) j[key] = value;
  }
  if (r.accuracy) {
    const AccuracyFields& a = *r.accuracy;
    // Flat, as CLI.md lists them; the loader's figures nested beside.
    j["dataset"] = a.dataset;
    j["preprocess"] = a.preprocess;
    j["preprocess_source"] = a.preprocess_source;
    j["samples"] = a.samples;
    j["top1"] = a.top1;
    j["top5"] = a.top5;
    j["agreement_top1"] = a.agreement_top1 ? json(*a.agreement_top1) : json(nullptr);
    j["agreement_reference"] = a.agreement_reference;
    j["corrupt_skipped"] = a.corrupt_skipped;
    j["misclassified"] = a.misclassified;
    j["contact_sheet"] = a.contact_sheet.empty() ? json(nullptr) : json(a.contact_sheet);
    j["inference_samples_per_s"] = finite_or_null(a.inference_samples_per_s);
    j["wall_s"] = a.wall_s;
    j["loader"] = json{{"threads", a.loader.threads},
                       {"samples_per_s", finite_or_null(a.loader.samples_per_s)},
                       {"busy_ms", a.loader.busy_ms},
                       {"consumer_wait_ms", a.loader.consumer_wait_ms}};
  }
  if (r.heart_rate) {
    const HeartRateFields& h = *r.heart_rate;
    j["heart_rate"] = json{{"set", h.set},           {"clip", h.clip},
                           {"readings", h.readings}, {"unavailable", h.unavailable},
                           {"mae_bpm", h.mae_bpm},   {"rmse_bpm", h.rmse_bpm},
                           {"mape_pct", h.mape_pct}, {"pearson", h.pearson ? json(*h.pearson) : json(nullptr)}};
  }
  if (r.live) j["live"] = to_json(*r.live);
  return j;
}

namespace {

// The per-layer summary to_json() writes (the timeline went to the Chrome
// trace, so events stay empty; total_ms is ms_per_run x runs again).
void read_profile_summary(const json& p, BenchResult& r) {
  if (auto it = p.find("unavailable"); it != p.end()) {
    r.profile_unavailable = it->get<std::string>();
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

}  // namespace

BenchResult bench_result_from_json(const json& j) {
  try {
    BenchResult r;
    r.model = j.at("model").get<std::string>();
    r.backend = j.at("backend").get<std::string>();
    r.backend_version = get_or<std::string>(j, "backend_version", "");
    r.precision = get_or<std::string>(j, "precision", "fp32");
    r.batch = get_or<std::int64_t>(j, "batch", 1);
    r.threads = get_or<int>(j, "threads", 1);
    r.scenario = get_or<std::string>(j, "scenario", "");
    r.status = j.at("status").get<std::string>();
    r.reason = get_or<std::string>(j, "reason", "");
    if (auto it = j.find("latency_ms"); it != j.end() && it->is_object()) {
      LatencyStats s;
      s.mean_ms = it->at("mean");
      s.stddev_ms = it->at("stddev");
      s.min_ms = it->at("min");
      s.p50_ms = it->at("p50");
      s.p90_ms = it->at("p90");
      s.p95_ms = it->at("p95");
      s.p99_ms = it->at("p99");
      s.p999_ms = it->at("p999");
      s.max_ms = it->at("max");
      s.ci95_p50_lo_ms = it->at("ci95_p50").at(0);
      s.ci95_p50_hi_ms = it->at("ci95_p50").at(1);
      s.count = get_or<std::size_t>(j, "count", 0);
      r.latency = s;
    }
    r.throughput_per_s = get_or<double>(j, "throughput_per_s", 0.0);
    r.count = get_or<std::int64_t>(j, "count", 0);
    r.duration_ms = get_or<double>(j, "duration_ms", 0.0);
    if (auto it = j.find("memory_mb"); it != j.end() && it->is_object()) {
      r.memory = MemoryResult{it->at("peak_rss"), it->at("load_delta"), it->at("run_delta")};
    }
    if (auto it = j.find("power_w"); it != j.end() && it->is_object()) r.power_w_avg = it->at("avg").get<double>();
    if (auto it = j.find("energy_mj_per_inference"); it != j.end() && it->is_number()) {
      r.energy_mj_per_inference = it->get<double>();
    }
    if (auto it = j.find("energy_source"); it != j.end() && it->is_object()) {
      r.energy_source = EnergySource{get_or<std::string>(*it, "sensor", ""), get_or<std::string>(*it, "method", ""),
                                     get_or<int>(*it, "sample_interval_ms", 0)};
    }
    if (auto it = j.find("validation"); it != j.end() && it->is_object()) {
      ValidationResult v;
      v.reference = it->at("reference");
      v.max_abs_diff = get_or<double>(*it, "max_abs_diff", NAN);
      v.cosine = get_or<double>(*it, "cosine", NAN);
      v.within_tolerance = get_or<bool>(*it, "within_tolerance", false);
      v.tolerance = get_or<double>(*it, "tolerance", 0.0);
      r.validation = v;
    }
    r.timing_boundary = get_or<std::string>(j, "timing_boundary", "");
    r.timed_region = get_or<std::string>(j, "timed_region", "");
    r.model_format = get_or<std::string>(j, "model_format", "");
    r.model_form = get_or<std::string>(j, "model_form", "");
    r.stop_reason = get_or<std::string>(j, "stop_reason", "");
    r.valid = get_or<bool>(j, "valid", true);
    r.invalid_reason = get_or<std::string>(j, "invalid_reason", "");
    r.model_sha256 = get_or<std::string>(j, "model_sha256", "");
    r.threading = get_or<std::string>(j, "threading", "");
    r.power_note = get_or<std::string>(j, "power_note", "");
    r.sweep_best = get_or<bool>(j, "sweep_best", false);
    r.sweep_stop = get_or<std::string>(j, "sweep_stop", "");
    if (auto it = j.find("profile"); it != j.end() && it->is_object()) read_profile_summary(*it, r);
    if (j.contains("achieved_qps") && j.contains("search")) r.serving = serving_result_from_json(j);
    if (j.contains("dataset") && j.contains("top1")) {
      AccuracyFields a;
      a.dataset = j.at("dataset").get<std::string>();
      a.samples = get_or<std::int64_t>(j, "samples", 0);
      a.preprocess = get_or<std::string>(j, "preprocess", "");
      a.preprocess_source = get_or<std::string>(j, "preprocess_source", "");
      a.top1 = get_or<double>(j, "top1", 0.0);
      a.top5 = get_or<double>(j, "top5", 0.0);
      if (auto it = j.find("agreement_top1"); it != j.end() && it->is_number()) a.agreement_top1 = it->get<double>();
      a.agreement_reference = get_or<std::string>(j, "agreement_reference", "");
      a.corrupt_skipped = get_or<std::int64_t>(j, "corrupt_skipped", 0);
      a.misclassified = get_or<std::int64_t>(j, "misclassified", 0);
      a.contact_sheet = get_or<std::string>(j, "contact_sheet", "");
      a.inference_samples_per_s = get_or<double>(j, "inference_samples_per_s", 0.0);
      a.wall_s = get_or<double>(j, "wall_s", 0.0);
      if (auto it = j.find("loader"); it != j.end() && it->is_object()) {
        a.loader.threads = get_or<int>(*it, "threads", 0);
        a.loader.samples_per_s = get_or<double>(*it, "samples_per_s", 0.0);
        a.loader.busy_ms = get_or<double>(*it, "busy_ms", 0.0);
        a.loader.consumer_wait_ms = get_or<double>(*it, "consumer_wait_ms", 0.0);
      }
      r.accuracy = a;
    }
    if (auto it = j.find("heart_rate"); it != j.end() && it->is_object()) {
      HeartRateFields h;
      h.set = get_or<std::string>(*it, "set", "");
      h.clip = get_or<std::string>(*it, "clip", "");
      h.readings = get_or<std::int64_t>(*it, "readings", 0);
      h.unavailable = get_or<std::int64_t>(*it, "unavailable", 0);
      h.mae_bpm = get_or<double>(*it, "mae_bpm", 0.0);
      h.rmse_bpm = get_or<double>(*it, "rmse_bpm", 0.0);
      h.mape_pct = get_or<double>(*it, "mape_pct", 0.0);
      if (auto p = it->find("pearson"); p != it->end() && p->is_number()) h.pearson = p->get<double>();
      r.heart_rate = h;
    }
    if (auto it = j.find("live"); it != j.end() && it->is_object()) r.live = live_fields_from_json(*it);
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed bench result: ") + e.what(), ErrorKind::kRuntime);
  }
}

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
