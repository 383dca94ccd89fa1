#pragma once
// BenchResult's fields, listed once (as llama-bench's get_fields/get_values):
// visit_result_fields() walks every field of a row with a visitor, and the
// visitors give the list its meanings: the JSON writer and parser
// (result_json.cpp, CLI.md's "inferlab.bench/1" keys) and the two flat views,
// the store's query columns and the CSV export's columns. Adding a field to
// BenchResult is one line here (plus a store migration when it should also
// be a query column).
//
// A visitor V has these members, each taking the row's fields by reference
// (const when writing):
//   value(key, field, Spec)            a scalar: text, integer, number, flag,
//                                      ResultStatus, optional number
//   pair(key, lo, hi, Spec, Spec)      two numbers as a JSON array
//   group(key, optional<T>, Absent, fill, prototype)
//                                      a nested object that may be missing
//   object(key, T, fill)               a nested object that is always there
//   inline_group(optional<T>, marker_a, marker_b, fill, prototype)
//                                      a group written flat into the row,
//                                      present when both marker keys are
//   custom(row, write, read)           JSON only, in its own shape
// `fill` is a generic lambda (visitor, struct) that visits the group's fields.
#include <cmath>

#include "inferlab/result.h"

namespace inferlab::result_fields {

using nlohmann::json;

/// The flat views a field appears in.
enum View : unsigned { kJsonOnly = 0, kStore = 1u, kCsv = 2u, kStoreAndCsv = 3u };

/// What a field needs beyond its JSON key.
struct Spec {
  const char* flat = nullptr;  ///< its column name in the flat views
  unsigned views = kJsonOnly;  ///< which flat views hold it
  bool required = false;       ///< the parser fails when the key is missing or null
  bool csv_only_ok = false;    ///< the CSV cell stays empty unless the row's status is ok
  bool empty_as_null = false;  ///< text: "" is written as null
};

/// How an unset group is written.
enum class Absent { kNull, kOmitted };

// Profile, serving and live keep their own shapes (a per-layer summary; the
// serving figures flat beside the latency; live's stage and switch lists);
// result_json.cpp defines them.
void write_profile_summary(const BenchResult& row, json& out);
void read_profile_summary(const json& in, BenchResult& row);
void write_serving(const BenchResult& row, json& out);
void read_serving(const json& in, BenchResult& row);
void write_live(const BenchResult& row, json& out);
void read_live(const json& in, BenchResult& row);

/// The parser's starting values where they differ from the structs' own
/// defaults (a document without "precision" was fp32; a validation without
/// figures compared nothing).
inline ValidationResult validation_prototype() { return ValidationResult{"", NAN, NAN, false, 0}; }

template <class V, class Row>
void visit_result_fields(V& v, Row& r) {
  // Identity and outcome. The order of the flat views follows this list.
  v.value("model", r.model, {.flat = "model", .views = kStoreAndCsv, .required = true});
  v.value("backend", r.backend, {.flat = "backend", .views = kStoreAndCsv, .required = true});
  v.value("backend_version", r.backend_version, {.flat = "backend_version", .views = kStoreAndCsv});
  v.value("precision", r.precision, {.flat = "precision", .views = kStoreAndCsv});
  v.value("batch", r.batch, {.flat = "batch", .views = kStoreAndCsv});
  v.value("threads", r.threads, {.flat = "threads", .views = kStoreAndCsv});
  v.value("scenario", r.scenario, {.flat = "scenario", .views = kStoreAndCsv});
  v.value("status", r.status, {.flat = "status", .views = kStoreAndCsv, .required = true});
  v.value("reason", r.reason, {.flat = "reason", .views = kStoreAndCsv});
  // The run's statistics.
  v.group("latency_ms", r.latency, Absent::kNull, [](auto& g, auto& s) {
    g.value("mean", s.mean_ms, {.flat = "mean_ms", .views = kStoreAndCsv, .required = true});
    g.value("stddev", s.stddev_ms, {.flat = "stddev_ms", .views = kStoreAndCsv, .required = true});
    g.value("min", s.min_ms, {.flat = "min_ms", .views = kStoreAndCsv, .required = true});
    g.value("p50", s.p50_ms, {.flat = "p50_ms", .views = kStoreAndCsv, .required = true});
    g.value("p90", s.p90_ms, {.flat = "p90_ms", .views = kStoreAndCsv, .required = true});
    g.value("p95", s.p95_ms, {.flat = "p95_ms", .views = kStoreAndCsv, .required = true});
    g.value("p99", s.p99_ms, {.flat = "p99_ms", .views = kStoreAndCsv, .required = true});
    g.value("p999", s.p999_ms, {.flat = "p999_ms", .views = kStoreAndCsv, .required = true});
    g.value("max", s.max_ms, {.flat = "max_ms", .views = kStoreAndCsv, .required = true});
    g.pair("ci95_p50", s.ci95_p50_lo_ms, s.ci95_p50_hi_ms,
           {.flat = "ci95_p50_lo_ms", .views = kStoreAndCsv, .required = true},
           {.flat = "ci95_p50_hi_ms", .views = kStoreAndCsv, .required = true});
    // LatencyStats::count is the row's "count" (bench_result_from_json).
  });
  v.value("throughput_per_s", r.throughput_per_s,
          {.flat = "throughput_per_s", .views = kStoreAndCsv, .csv_only_ok = true});
  v.value("count", r.count, {.flat = "count", .views = kStoreAndCsv});
  v.value("duration_ms", r.duration_ms, {.flat = "duration_ms", .views = kStoreAndCsv, .csv_only_ok = true});
  v.group("memory_mb", r.memory, Absent::kNull, [](auto& g, auto& m) {
    g.value("peak_rss", m.peak_rss_mb, {.flat = "peak_rss_mb", .views = kStoreAndCsv, .required = true});
    g.value("load_delta", m.load_delta_mb, {.flat = "load_delta_mb", .views = kStoreAndCsv, .required = true});
    g.value("run_delta", m.run_delta_mb, {.flat = "run_delta_mb", .views = kStoreAndCsv, .required = true});
  });
  v.group("power_w", r.power_w_avg, Absent::kNull, [](auto& g, auto& watts) {
    g.value("avg", watts, {.flat = "power_w_avg", .views = kStoreAndCsv, .required = true});
  });
  v.value("energy_mj_per_inference", r.energy_mj_per_inference,
          {.flat = "energy_mj_per_inference", .views = kStoreAndCsv});
  v.group(
      "validation", r.validation, Absent::kNull,
      [](auto& g, auto& c) {
        g.value("reference", c.reference, {.flat = "validation_reference", .views = kCsv, .required = true});
        g.value("max_abs_diff", c.max_abs_diff, {.flat = "max_abs_diff", .views = kCsv});
        g.value("cosine", c.cosine, {.flat = "cosine", .views = kCsv});
        g.value("within_tolerance", c.within_tolerance, {.flat = "within_tolerance", .views = kCsv});
        g.value("tolerance", c.tolerance, {});
      },
      validation_prototype());
  v.value("timing_boundary", r.timing_boundary, {.flat = "timing_boundary", .views = kCsv});
  v.value("model_format", r.model_format, {.flat = "model_format", .views = kCsv});
  v.value("sweep_best", r.sweep_best, {.flat = "sweep_best", .views = kCsv});
  // How the row was made.
  v.value("model_sha256", r.model_sha256, {.flat = "model_sha256", .views = kStore});
  v.value("valid", r.valid, {.flat = "valid", .views = kStore});
  v.value("invalid_reason", r.invalid_reason, {.flat = "invalid_reason", .views = kStore});
  v.value("stop_reason", r.stop_reason, {.flat = "stop_reason", .views = kStore});
  v.value("timed_region", r.timed_region, {});
  v.value("model_form", r.model_form, {});
  v.value("threading", r.threading, {});
  v.value("power_note", r.power_note, {});
  v.value("sweep_stop", r.sweep_stop, {});
  v.group("energy_source", r.energy_source, Absent::kNull, [](auto& g, auto& e) {
    g.value("sensor", e.sensor, {});
    g.value("method", e.method, {});
    g.value("sample_interval_ms", e.sample_interval_ms, {});
  });
  // `inferlab accuracy`: flat in the row, as CLI.md lists them.
  v.inline_group(r.accuracy, "dataset", "top1", [](auto& g, auto& a) {
    g.value("dataset", a.dataset, {.flat = "dataset", .views = kStore, .required = true});
    g.value("samples", a.samples, {.flat = "samples", .views = kStore});
    g.value("top1", a.top1, {.flat = "top1", .views = kStore});
    g.value("top5", a.top5, {.flat = "top5", .views = kStore});
    g.value("agreement_top1", a.agreement_top1, {.flat = "agreement_top1", .views = kStore});
    g.value("agreement_reference", a.agreement_reference, {});
    g.value("preprocess", a.preprocess, {});
    g.value("preprocess_source", a.preprocess_source, {});
    g.value("corrupt_skipped", a.corrupt_skipped, {});
    g.value("misclassified", a.misclassified, {});
    g.value("contact_sheet", a.contact_sheet, {.empty_as_null = true});
    g.value("inference_samples_per_s", a.inference_samples_per_s, {});
    g.value("wall_s", a.wall_s, {});
    g.object("loader", a.loader, [](auto& l, auto& loader) {
      l.value("threads", loader.threads, {});
      l.value("samples_per_s", loader.samples_per_s, {});
      l.value("busy_ms", loader.busy_ms, {});
      l.value("consumer_wait_ms", loader.consumer_wait_ms, {});
    });
  });
  // `inferlab rppg-eval`.
  v.group("heart_rate", r.heart_rate, Absent::kOmitted, [](auto& g, auto& h) {
    g.value("set", h.set, {});
    g.value("clip", h.clip, {});
    g.value("readings", h.readings, {});
    g.value("unavailable", h.unavailable, {});
    g.value("mae_bpm", h.mae_bpm, {});
    g.value("rmse_bpm", h.rmse_bpm, {});
    g.value("mape_pct", h.mape_pct, {});
    g.value("pearson", h.pearson, {});
  });
  // `bench --profile` (profile, profile_unavailable, profile_trace_path),
  // the serving scenarios and `inferlab live` ("live"), each in its own shape
  // (live_result_json.cpp for the last; the store keeps its stages in a table).
  v.custom(r, &write_profile_summary, &read_profile_summary);
  v.custom(r, &write_serving, &read_serving);
  v.custom(r, &write_live, &read_live);
  // Not in the document: latency_samples_ms (the store keeps them as a blob).
}

}  // namespace inferlab::result_fields
