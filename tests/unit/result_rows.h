#pragma once
// A result row with every field of BenchResult (and of its parts) set to a
// value other than its default, for round-trip tests: compared with the
// original struct (operator==), a field dropped from both a writer and its
// reader fails. A field added to BenchResult belongs here too.
#include "inferlab/result.h"

namespace inferlab::test {

inline ServingResult every_serving_field_set() {
  ServingResult s;
  s.target_qps = 120.5;
  s.achieved_qps = 118.25;
  s.latency_bound_ms = 80;
  s.bound_met = true;
  s.find_max_qps = true;
  s.samples_per_query = 2;
  s.interval_ms = 40;
  s.issued = 1000;
  s.completed = 990;
  s.dropped = 6;
  s.cancelled = 4;
  s.max_queue_depth = 17;
  s.search = {QpsProbe{100, 99.5, 60.25, true, 500, 500, 0, 0, false},
              QpsProbe{200, 150.5, 140.75, false, 800, 700, 60, 40, true}};
  s.search_stop = "hi / lo <= 1.05";
  s.max_batch = 8;
  s.max_queue_delay_us = 2000;
  s.instances = 2;
  s.batch_shapes = "padded";
  s.batching = "dynamic, max batch 8, delay 2000 us, 2 instances";
  s.mean_batch = 3.5;
  s.batch_size_counts = {0, 10, 20, 5};
  s.split_ms = {{"engine", LatencySummary{4.5, 9.25, 5.125}}, {"queue", LatencySummary{1.5, 30.5, 6.75}}};
  s.url = "http://127.0.0.1:8080";
  return s;
}

inline BenchResult every_field_set() {
  BenchResult r;
  r.model = "mobilenet_v2";
  r.backend = "torch";
  r.backend_version = "1.13.1";
  r.precision = "fp16";
  r.scenario = "server";
  r.batch = 4;
  r.threads = 2;
  r.status = ResultStatus::kUnsupported;
  r.reason = "a reason, with a comma";
  r.latency = LatencyStats{10, 1.5, 0.1, 1.2, 2.5, 1.4, 1.8, 1.9, 2.2, 2.4, 1.38, 1.45};
  r.throughput_per_s = 2666.5;
  r.count = 10;
  r.duration_ms = 15;
  r.memory = MemoryResult{300.5, 120.25, 0.5};
  r.power_w_avg = 12.5;
  r.energy_mj_per_inference = 4.75;
  r.energy_source = EnergySource{"RAPL package-0", "counter+sampled", 50};
  r.validation = ValidationResult{"opencv", 1e-5, 0.99999, true, 1e-3};
  r.timing_boundary = "with-copies";
  r.timed_region = "copy in, forward, copy out";
  r.model_format = "torchscript";
  r.model_form = "frozen TorchScript";
  r.stop_reason = "min duration and count met";
  r.valid = false;
  r.invalid_reason = "--max-duration-ms 10 stopped it";
  r.model_sha256 = "abc123";
  r.latency_samples_ms = {1.25f, 1.5f, 2.0625f};
  r.threading = "at::set_num_threads(2)";
  r.power_note = "RAPL package-0";
  r.sweep_best = true;
  r.sweep_stop = "reached --max-batch 4";
  AccuracyFields a;
  a.dataset = "digits:test";
  a.preprocess = "crop 20x20, GRAY, x0.00392157, mean [0.5], std [0.5], NCHW";
  a.preprocess_source = "file metadata";
  a.samples = 1000;
  a.corrupt_skipped = 3;
  a.top1 = 0.985;
  a.top5 = 0.999;
  a.agreement_top1 = 0.995;
  a.agreement_reference = "opencv fp32";
  a.misclassified = 15;
  a.contact_sheet = "out/sheet.png";
  a.loader = LoaderResult{2, 5000.5, 400.25, 12.5};
  a.inference_samples_per_s = 8000.5;
  a.wall_s = 1.25;
  r.accuracy = a;
  HeartRateFields h;
  h.set = "synthetic";
  h.clip = "motion";
  h.readings = 21;
  h.unavailable = 2;
  h.mae_bpm = 1.25;
  h.rmse_bpm = 1.75;
  h.mape_pct = 1.5;
  h.pearson = 0.875;
  r.heart_rate = h;
  SessionProfile p;
  p.runs = 4;
  p.note = "oneDNN verbose timing";
  // total_ms / runs is exact in binary, so the per-run summary gives it back.
  p.layers = {{"Conv conv1", "Conv", "onednn:jit:avx2", "Relu", 2.0, 4},
              {"Gemm fc", "Gemm", "onednn:gemm", "", 1.0, 4}};
  p.events = {{0, 0, 0.0, 500.0}, {1, 0, 500.0, 250.0}};
  r.profile = p;
  r.profile_trace_path = "out/trace.json";
  r.serving = every_serving_field_set();
  LiveFields l;
  l.method = "chrom";
  l.source = "synthetic:bpm=72";
  l.paced = false;
  l.frames = 300;
  l.frames_captured = 310;
  l.dropped_frames = 10;
  l.duration_s = 10.5;
  l.fps_avg = 29.5;
  l.bpm_median = 71.5;
  l.bpm_mae = 1.25;
  l.bpm_rmse = 2.5;
  l.rss_mb_avg = 150.5;
  l.rss_mb_max = 160.25;
  l.peak_rss_mb = 170.125;
  l.percentiles = "histogram, 1% bins";
  l.histogram_bin_width_pct = 1;
  l.stages = {{"capture", 300, 1.5, 1.25, 2.5, 3.5, 4.75}, {"end_to_end", 300, 20.5, 20.25, 25.5, 30.5, 40.75}};
  l.switches = {{5.5, "opencv", "torch", 120.5, ""}, {8.25, "torch", "tvm", 0, "tvm: not installed"}};
  r.live = l;
  return r;
}

/// What the bench document keeps of `row`: not latency_samples_ms (the store
/// keeps them as a blob) nor the profile's timeline (the Chrome trace does).
inline BenchResult as_documented(BenchResult row) {
  row.latency_samples_ms.clear();
  if (row.profile) row.profile->events.clear();
  return row;
}

}  // namespace inferlab::test
