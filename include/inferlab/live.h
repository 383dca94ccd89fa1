#pragma once
/// @file live.h
/// The real-time rPPG pipeline behind `inferlab live`: stages on their own
/// threads joined by bounded queues, every stage timed, frames that cannot be
/// served in time dropped and counted at the entry, and the inference backend
/// switched while frames keep flowing.
///
/// Stages: capture -> face_detect -> roi_signal -> inference -> postprocess
/// -> bpm -> display. What "backend" means: the engine that runs the
/// inference stage. Only the neural method runs a model there; with green,
/// chrom and pos the inference stage is plain C++ and the backend is idle
/// (LiveReport::backend_role says so). Face detection always uses OpenCV's
/// cascade classifier, whatever the backend.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inferlab/rppg.h"

namespace inferlab {

/// Receives every timing the pipeline records, as it records it: the stage
/// name (StageLatency::name: "capture", ..., "end_to_end") and the duration in
/// milliseconds. Called on the stage threads, concurrently: it must be
/// thread-safe and must not block (it runs inside the timed loop). The
/// pipeline keeps a copy: whatever it refers to must outlive the pipeline.
using StageLatencyObserver = std::function<void(std::string_view stage, double latency_ms)>;

/// Settings of one live run. Units are in the names.
struct LiveOptions {
  std::string source = "synthetic";  ///< frame_source.h spec
  std::string backend = "opencv";    ///< backend at start
  std::vector<std::string> cycle;    ///< backends a switch request cycles through (must contain `backend`)
  PulseMethod method = PulseMethod::kPos;
  std::string model = "rppg_net";       ///< neural: MODEL argument (path or prepared name)
  std::string model_dir;                ///< where prepared models live (zoo.h model_directory())
  double duration_s = 0;                ///< 0: until request_stop() or the end of the source
  bool paced = true;                    ///< deliver file/synthetic frames at their frame rate, like a camera
  std::size_t queue_capacity = 4;       ///< frames each inter-stage queue holds
  double window_s = 10;                 ///< heart-rate analysis window
  int threads = 1;                      ///< engine intra-op threads for the neural model
  StageLatencyObserver stage_observer;  ///< optional: sees every stage timing (metrics export)
};

/// Latency of one stage over a run (or so far). Percentiles come from a
/// LatencyHistogram (bin centres, within LatencyHistogram::kBinGrowth of the
/// truth); mean and max are exact.
struct StageLatency {
  std::string name;
  double p50_ms = 0, p99_ms = 0, mean_ms = 0;
  std::int64_t count = 0;
  double p90_ms = 0, max_ms = 0;
};

/// One backend switch.
struct SwitchRecord {
  double at_s = 0;  ///< wall time since start when it was requested
  std::string from, to;
  double switch_ms = 0;  ///< request until the first frame served by `to`
  std::string error;     ///< non-empty when the switch failed (the old backend kept serving)
};

/// Fill of one inter-stage queue, named after the stage that consumes it.
struct QueueDepth {
  std::string name;                     ///< "face_detect", "roi_signal", "inference", "bpm", "display"
  std::size_t depth = 0, capacity = 0;  ///< frames waiting now / frames it holds at most
};

/// What the Timing Monitor shows; a consistent copy, safe to read anywhere.
struct LiveSnapshot {
  double elapsed_s = 0;
  std::int64_t frames_captured = 0, frames_processed = 0, dropped_frames = 0;
  std::string backend, method, source;
  bool face = false;
  std::optional<BpmEstimate> bpm;  ///< the latest reading
  std::vector<StageLatency> stages;
  std::vector<QueueDepth> queues;          ///< in pipeline order
  std::vector<std::string> backend_cycle;  ///< what request_switch() cycles through, in order
  std::int64_t rss_bytes = 0;
  std::optional<double> power_w;  ///< only from a real sensor
  std::string power_note;         ///< "n/a: ..." when there is no sensor
  bool switching = false;
  std::vector<SwitchRecord> switches;
};

/// The result of a finished run (CLI.md `live --json`).
struct LiveReport {
  std::string backend;       ///< backend at the end of the run
  std::string backend_role;  ///< what the backend ran, in words
  std::string method, source;
  std::int64_t frames = 0;           ///< frames that went through every stage
  std::int64_t frames_captured = 0;  ///< = frames + dropped_frames
  std::int64_t dropped_frames = 0;
  double duration_s = 0, fps_avg = 0;
  std::optional<double> bpm_median, bpm_mae, bpm_rmse;
  std::vector<BpmEstimate> bpm_series;
  std::vector<StageLatency> stages;                         ///< per-frame stages plus "end_to_end"
  double rss_mb_avg = 0, rss_mb_max = 0, rss_mb_start = 0;  ///< sampled every 250 ms
  double peak_rss_mb = 0;                                   ///< the process's peak (VmHWM) at the end
  std::string model;                                        ///< neural: the model's name; empty otherwise
  std::string model_sha256;                                 ///< neural: sha256 of its ONNX file when known
  std::optional<double> power_w_avg;
  std::string power_note;
  std::vector<SwitchRecord> switches;
  bool paced = true;
};

/// The names of the timed stages in pipeline order ("capture", "face_detect",
/// "roi_signal", "inference", "postprocess", "bpm", "display", "end_to_end"):
/// what StageLatency::name and a StageLatencyObserver receive. Thread-safe.
std::vector<std::string> live_stage_names();

/// One live run. Construction opens the source and loads the model (throws
/// Error for bad input); start() launches the stage threads. All public
/// member functions are thread-safe.
class LivePipeline {
 public:
  explicit LivePipeline(LiveOptions options);
  ~LivePipeline();
  LivePipeline(const LivePipeline&) = delete;
  LivePipeline& operator=(const LivePipeline&) = delete;

  void start();
  /// Ends capture; the frames already inside drain through every stage.
  void request_stop();
  /// Asks for the next backend of the cycle; the stream keeps flowing while it loads.
  void request_switch();
  /// True once every stage has finished.
  bool finished() const;
  LiveSnapshot snapshot() const;
  /// Waits for the end (duration, end of source or request_stop()) and returns the report.
  /// Rethrows an error that stopped a stage (kRuntime).
  LiveReport wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferlab
