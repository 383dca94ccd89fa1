// The live pipeline's threads. Each stage owns its state (tracker, extractor,
// model) so only the queues, counters and the monitor's copy are shared.
#include "inferlab/live.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

#include "inferlab/bounded_queue.h"
#include "inferlab/error.h"
#include "inferlab/face_tracker.h"
#include "inferlab/frame_source.h"
#include "inferlab/latency_histogram.h"
#include "inferlab/memory.h"
#include "inferlab/power.h"
#include "inferlab/registry.h"
#include "inferlab/rppg_model.h"
#include "live_stats.h"

namespace inferlab {

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Packet {
  Frame frame;
  Clock::time_point captured_at;
  std::optional<cv::Rect> face;
  SkinColour skin;
  cv::Mat crop;  // neural only
  std::optional<PulseWindow> window;
};

using Queue = BoundedQueue<Packet>;

}  // namespace

struct LivePipeline::Impl {
  LiveOptions options;
  std::unique_ptr<FrameSource> source;
  std::optional<ResolvedModel> model;
  std::unique_ptr<NeuralPulseModel> neural;
  FaceTracker tracker;
  PulseExtractor extractor;
  PulseWindowScheduler scheduler;
  EnergyMeter energy;

  Queue to_detect, to_signal, to_infer, to_bpm, to_display;
  std::array<LatencyHistogram, kLiveStageCount> stage_ms;
  std::vector<std::thread> threads;
  Clock::time_point started_at;
  Clock::time_point finished_at;

  std::atomic<bool> started{false};  // started_at is set
  std::atomic<bool> stop{false};
  std::atomic<int> switch_requests{0};
  std::atomic<std::int64_t> captured{0}, processed{0}, dropped{0};
  std::atomic<int> running_stages{0};

  mutable std::mutex mutex;  // guards everything below
  std::string backend;
  bool face = false;
  bool switching = false;
  std::optional<BpmEstimate> latest;
  std::vector<BpmEstimate> series;
  std::vector<SwitchRecord> switches;
  RssTracker rss;
  std::optional<std::uint64_t> energy_start_uj;
  std::exception_ptr error;

  explicit Impl(LiveOptions o)
      : options(std::move(o)),
        source(open_frame_source(options.source)),
        extractor(options.method, source->fps(), options.window_s + 2),
        scheduler(options.window_s, std::min(6.0, options.window_s), 1.0),
        to_detect(options.queue_capacity),
        to_signal(options.queue_capacity),
        to_infer(options.queue_capacity),
        to_bpm(options.queue_capacity),
        to_display(options.queue_capacity),
        backend(options.backend) {
    if (options.cycle.empty()) options.cycle = {options.backend};
    if (std::find(options.cycle.begin(), options.cycle.end(), options.backend) == options.cycle.end()) {
      options.cycle.insert(options.cycle.begin(), options.backend);
    }
    for (const auto& name : options.cycle) create_backend(name);  // unknown or missing names fail here
    if (method_runs_model(options.method)) {
      model = resolve_model(options.model, model_directory(options.model_dir));
      neural = std::make_unique<NeuralPulseModel>(options.backend, *model, options.threads);
    }
  }

  void fail(std::exception_ptr e) {
    {
      std::lock_guard lock(mutex);
      if (!error) error = e;
    }
    stop = true;
  }

  // Runs one stage body; any exception stops the run and is rethrown by wait().
  template <typename Body>
  void launch(Body body, Queue* closes) {
    ++running_stages;
    threads.emplace_back([this, body, closes] {
      try {
        body();
      } catch (const cv::Exception& e) {
        // OpenCV's what() spans lines; the CLI promises one.
        fail(std::make_exception_ptr(Error("live pipeline: OpenCV failed: " + e.err, ErrorKind::kRuntime)));
        for (Queue* q : {&to_detect, &to_signal, &to_infer, &to_bpm, &to_display}) q->close();
      } catch (...) {
        fail(std::current_exception());
        // Upstream stages may be blocked on a full queue: closing every queue
        // lets them see the refusal and end.
        for (Queue* q : {&to_detect, &to_signal, &to_infer, &to_bpm, &to_display}) q->close();
      }
      if (closes) closes->close();
      --running_stages;
    });
  }

  void record(LiveStage stage, double ms) {
    stage_ms[static_cast<int>(stage)].add(ms);
    if (options.stage_observer) options.stage_observer(live_stage_name(stage), ms);
  }

  void capture_stage() {
    const bool drop_when_full = source->live() || options.paced;
    while (!stop) {
      if (options.duration_s > 0 && ms_between(started_at, Clock::now()) >= options.duration_s * 1000) break;
      Packet p;
      const auto t0 = Clock::now();
      if (!source->next(p.frame)) break;
      record(LiveStage::kCapture, ms_between(t0, Clock::now()));
      if (options.paced && !source->live()) {
        std::this_thread::sleep_until(
            started_at + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(p.frame.t_s)));
      }
      p.captured_at = Clock::now();
      ++captured;
      const bool queued = drop_when_full ? to_detect.try_push(std::move(p)) : to_detect.push(std::move(p));
      if (!queued) ++dropped;
    }
  }

  void detect_stage() {
    while (auto p = to_detect.pop()) {
      const auto t0 = Clock::now();
      p->face = tracker.update(p->frame.bgr).face;
      record(LiveStage::kFaceDetect, ms_between(t0, Clock::now()));
      if (!to_signal.push(std::move(*p))) break;
    }
  }

  void signal_stage() {
    const bool crops = method_runs_model(options.method);
    while (auto p = to_signal.pop()) {
      const auto t0 = Clock::now();
      if (p->face) {
        p->skin = skin_colour(p->frame.bgr, *p->face);
        if (crops && p->skin.valid) p->crop = rppg_face_crop(p->frame.bgr, *p->face);
      }
      p->frame.bgr.release();  // later stages need only the numbers: free the pixels early
      record(LiveStage::kRoiSignal, ms_between(t0, Clock::now()));
      if (!to_infer.push(std::move(*p))) break;
    }
  }

  void inference_stage() {
    int seen_requests = 0;
    std::future<std::unique_ptr<NeuralPulseModel>> pending;
    std::string pending_to;
    Clock::time_point requested_at;
    double requested_at_s = 0;
    cv::Mat previous_crop;
    while (auto p = to_infer.pop()) {
      const int requests = switch_requests.load();
      if (requests != seen_requests && !pending.valid()) {
        seen_requests = requests;
        requested_at = Clock::now();
        requested_at_s = ms_between(started_at, requested_at) / 1000;
        std::string from;
        {
          std::lock_guard lock(mutex);
          from = backend;
          switching = true;
        }
        auto at = std::find(options.cycle.begin(), options.cycle.end(), from);
        pending_to = at == options.cycle.end() || at + 1 == options.cycle.end() ? options.cycle.front() : *(at + 1);
        // The new session loads on its own thread while this one keeps serving frames.
        const std::string to = pending_to;
        const int threads_per_run = options.threads;
        const ResolvedModel* m = model ? &*model : nullptr;
        pending = std::async(std::launch::async, [to, m, threads_per_run]() -> std::unique_ptr<NeuralPulseModel> {
          if (m == nullptr) return nullptr;
          return std::make_unique<NeuralPulseModel>(to, *m, threads_per_run);
        });
      }
      if (pending.valid() && pending.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        SwitchRecord r;
        r.at_s = requested_at_s;
        r.to = pending_to;
        try {
          auto loaded = pending.get();
          if (loaded) neural = std::move(loaded);
        } catch (const std::exception& e) {
          r.error = e.what();
        }
        std::lock_guard lock(mutex);
        r.from = backend;
        if (r.error.empty()) backend = pending_to;
        r.switch_ms = ms_between(requested_at, Clock::now());
        switches.push_back(r);
        switching = false;
      }
      const auto t0 = Clock::now();
      if (neural) {
        const bool usable = p->skin.valid && !p->crop.empty() && !previous_crop.empty();
        const double d = usable ? neural->run(previous_crop, p->crop) : 0.0;
        extractor.add_derivative(p->frame.t_s, d, usable);
        previous_crop = p->skin.valid ? p->crop : cv::Mat();
        p->crop.release();
      } else {
        extractor.add_colour(p->frame.t_s, p->skin.rgb, p->skin.valid);
      }
      p->window = scheduler.after_frame(extractor, p->frame.t_s, p->frame.truth_bpm);
      record(LiveStage::kInference, ms_between(t0, Clock::now()));
      if (!to_bpm.push(std::move(*p))) break;
    }
    if (pending.valid()) pending.wait();  // never leave a loader thread behind
  }

  void bpm_stage() {
    while (auto p = to_bpm.pop()) {
      if (p->window) {
        double post_ms = 0, spectrum_ms = 0;
        BpmEstimate e = estimate_bpm(*p->window, &post_ms, &spectrum_ms);
        record(LiveStage::kPostprocess, post_ms);
        record(LiveStage::kBpm, spectrum_ms);
        std::lock_guard lock(mutex);
        latest = e;
        series.push_back(e);
        p->window.reset();
      }
      if (!to_display.push(std::move(*p))) break;
    }
  }

  void display_stage() {
    while (auto p = to_display.pop()) {
      const auto t0 = Clock::now();
      {
        std::lock_guard lock(mutex);
        face = p->face.has_value();
        rss.maybe_sample(t0);
      }
      ++processed;
      record(LiveStage::kDisplay, ms_between(t0, Clock::now()));
      record(LiveStage::kEndToEnd, ms_between(p->captured_at, Clock::now()));
    }
    std::lock_guard lock(mutex);
    finished_at = Clock::now();
  }
};

LivePipeline::LivePipeline(LiveOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

LivePipeline::~LivePipeline() {
  if (!impl_) return;
  impl_->stop = true;
  for (Queue* q : {&impl_->to_detect, &impl_->to_signal, &impl_->to_infer, &impl_->to_bpm, &impl_->to_display}) {
    q->close();
  }
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

void LivePipeline::start() {
  Impl& s = *impl_;
  s.started_at = Clock::now();
  s.started = true;
  s.rss.start(s.started_at);
  s.energy_start_uj = s.energy.read_energy_uj();
  s.launch([&s] { s.capture_stage(); }, &s.to_detect);
  s.launch([&s] { s.detect_stage(); }, &s.to_signal);
  s.launch([&s] { s.signal_stage(); }, &s.to_infer);
  s.launch([&s] { s.inference_stage(); }, &s.to_bpm);
  s.launch([&s] { s.bpm_stage(); }, &s.to_display);
  s.launch([&s] { s.display_stage(); }, nullptr);
}

void LivePipeline::request_stop() { impl_->stop = true; }
void LivePipeline::request_switch() { ++impl_->switch_requests; }
bool LivePipeline::finished() const { return impl_->running_stages.load() == 0; }

LiveSnapshot LivePipeline::snapshot() const {
  const Impl& s = *impl_;
  LiveSnapshot snap;
  snap.elapsed_s = s.started ? ms_between(s.started_at, Clock::now()) / 1000 : 0;
  snap.frames_captured = s.captured;
  snap.frames_processed = s.processed;
  snap.dropped_frames = s.dropped;
  snap.method = pulse_method_name(s.options.method);
  snap.source = s.source->describe();
  snap.stages = stage_latencies(s.stage_ms);
  const std::pair<const char*, const Queue*> queues[] = {{"face_detect", &s.to_detect},
                                                         {"roi_signal", &s.to_signal},
                                                         {"inference", &s.to_infer},
                                                         {"bpm", &s.to_bpm},
                                                         {"display", &s.to_display}};
  for (const auto& [name, q] : queues) snap.queues.push_back({name, q->size(), q->capacity()});
  snap.backend_cycle = s.options.cycle;
  snap.rss_bytes = current_rss_bytes();
  if (s.energy.available() && s.energy_start_uj && snap.elapsed_s > 0) {
    if (auto now = s.energy.read_energy_uj()) snap.power_w = (*now - *s.energy_start_uj) / 1e6 / snap.elapsed_s;
  } else {
    snap.power_note = s.energy.description();
  }
  std::lock_guard lock(s.mutex);
  snap.backend = s.backend;
  snap.face = s.face;
  snap.bpm = s.latest;
  snap.switching = s.switching;
  snap.switches = s.switches;
  return snap;
}

LiveReport LivePipeline::wait() {
  Impl& s = *impl_;
  for (auto& t : s.threads) {
    if (t.joinable()) t.join();
  }
  if (s.error) std::rethrow_exception(s.error);
  LiveReport r;
  r.backend = s.backend;
  r.backend_role = method_runs_model(s.options.method)
                       ? "runs the neural rPPG model (" + s.model->name + ") in the inference stage"
                       : "idle: method " + pulse_method_name(s.options.method) +
                             " runs no model (plain C++); face detection is OpenCV's cascade on every backend";
  r.method = pulse_method_name(s.options.method);
  r.source = s.source->describe();
  r.frames = s.processed;
  r.frames_captured = s.captured;
  r.dropped_frames = s.dropped;
  r.duration_s = ms_between(s.started_at, s.finished_at) / 1000;
  r.fps_avg = r.duration_s > 0 ? static_cast<double>(r.frames) / r.duration_s : 0;
  r.bpm_series = s.series;
  fill_bpm_statistics(r);
  r.stages = stage_latencies(s.stage_ms);
  r.rss_mb_avg = s.rss.average_bytes() / 1e6;
  r.rss_mb_max = s.rss.max_bytes() / 1e6;
  r.rss_mb_start = s.rss.start_bytes() / 1e6;
  r.peak_rss_mb = static_cast<double>(peak_rss_bytes()) / 1e6;
  if (s.model) {
    r.model = s.model->name;
    r.model_sha256 = s.model->sha256_onnx;
  }
  if (s.energy.available() && s.energy_start_uj && r.duration_s > 0) {
    if (auto now = s.energy.read_energy_uj()) r.power_w_avg = (*now - *s.energy_start_uj) / 1e6 / r.duration_s;
  }
  r.power_note = s.energy.available() ? "" : s.energy.description();
  r.switches = s.switches;
  r.paced = s.options.paced;
  return r;
}

}  // namespace inferlab
