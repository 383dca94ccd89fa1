#include "inferlab/rppg_eval.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

#include "inferlab/error.h"
#include "inferlab/face_tracker.h"
#include "inferlab/frame_source.h"
#include "inferlab/rppg_model.h"
#include "inferlab/zoo.h"

namespace inferlab {

namespace {

// What a clip contributes to every method: per-frame skin colour and face crop.
struct FrameRecord {
  double t_s = 0;
  std::optional<double> truth_bpm;
  SkinColour skin;
  cv::Mat crop;
};

struct ClipRecording {
  double fps = 30;
  std::vector<FrameRecord> frames;
};

ClipRecording record_clip(const EvalClip& clip, bool crops) {
  auto source = open_frame_source(clip.source);
  FaceTracker tracker;
  ClipRecording rec;
  rec.fps = source->fps();
  Frame frame;
  while (source->next(frame)) {
    FrameRecord r;
    r.t_s = frame.t_s;
    r.truth_bpm = frame.truth_bpm;
    if (auto face = tracker.update(frame.bgr).face) {
      r.skin = skin_colour(frame.bgr, *face);
      if (crops && r.skin.valid) r.crop = rppg_face_crop(frame.bgr, *face);
    }
    rec.frames.push_back(std::move(r));
  }
  return rec;
}

struct Pair {
  double estimate, truth;
};

EvalMetrics metrics_of(const std::vector<Pair>& pairs, int unavailable) {
  EvalMetrics m;
  m.readings = static_cast<int>(pairs.size());
  m.unavailable = unavailable;
  if (pairs.empty()) return m;
  double se = 0, sx = 0, sy = 0;
  for (const auto& p : pairs) {
    const double err = p.estimate - p.truth;
    m.mae += std::abs(err);
    se += err * err;
    m.mape += std::abs(err) / p.truth * 100;
    sx += p.estimate;
    sy += p.truth;
  }
  const double n = static_cast<double>(pairs.size());
  m.mae /= n;
  m.rmse = std::sqrt(se / n);
  m.mape /= n;
  if (pairs.size() >= 3) {
    const double mx = sx / n, my = sy / n;
    double cxy = 0, cxx = 0, cyy = 0;
    for (const auto& p : pairs) {
      cxy += (p.estimate - mx) * (p.truth - my);
      cxx += (p.estimate - mx) * (p.estimate - mx);
      cyy += (p.truth - my) * (p.truth - my);
    }
    if (cxx > 1e-12 && cyy > 1e-12) m.pearson = cxy / std::sqrt(cxx * cyy);
  }
  return m;
}

// Replays the live pipeline's extraction and estimate over a recording.
std::vector<BpmEstimate> run_method(const ClipRecording& rec, PulseMethod method, NeuralPulseModel* neural,
                                    double window_s) {
  PulseExtractor extractor(method, rec.fps, window_s + 2);
  PulseWindowScheduler scheduler(window_s, std::min(6.0, window_s), 1.0);
  std::vector<BpmEstimate> out;
  const cv::Mat* previous = nullptr;
  for (const auto& f : rec.frames) {
    if (method_runs_model(method)) {
      const bool usable = f.skin.valid && !f.crop.empty() && previous != nullptr;
      extractor.add_derivative(f.t_s, usable ? neural->run(*previous, f.crop) : 0.0, usable);
      previous = f.skin.valid && !f.crop.empty() ? &f.crop : nullptr;
    } else {
      extractor.add_colour(f.t_s, f.skin.rgb, f.skin.valid);
    }
    if (auto w = scheduler.after_frame(extractor, f.t_s, f.truth_bpm)) out.push_back(estimate_bpm(*w));
  }
  return out;
}

}  // namespace

std::vector<EvalClip> synthetic_eval_set(double clip_s) {
  const std::string common = ",noise=2,size=640x480,fps=30,duration=" + std::to_string(clip_s);
  return {
      {"still", "synthetic:bpm=72,seed=11" + common},         {"motion", "synthetic:bpm=80,motion=1,seed=12" + common},
      {"light", "synthetic:bpm=66,light=1,seed=13" + common}, {"bpm45", "synthetic:bpm=45,seed=14" + common},
      {"bpm150", "synthetic:bpm=150,seed=15" + common},       {"drift", "synthetic:bpm=75,drift=0.15,seed=16" + common},
  };
}

std::vector<EvalClip> ubfc_eval_set(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("--set ubfc:" + dir + ": not a directory");
  std::vector<EvalClip> clips;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const fs::path p = entry.path();
    if (fs::exists(p / "vid.avi", ec) && fs::exists(p / "ground_truth.txt", ec)) {
      clips.push_back({"ubfc/" + p.filename().string(), "ubfc:" + p.string()});
    }
  }
  if (fs::exists(fs::path(dir) / "vid.avi", ec))
    clips.push_back({"ubfc/" + fs::path(dir).filename().string(), "ubfc:" + dir});
  if (clips.empty()) throw Error("--set ubfc:" + dir + ": no sub-folder holds vid.avi and ground_truth.txt");
  std::sort(clips.begin(), clips.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return clips;
}

EvalReport evaluate_rppg(const std::vector<EvalClip>& clips, const EvalOptions& options) {
  EvalReport report;
  bool wants_neural = false;
  for (auto m : options.methods) wants_neural = wants_neural || method_runs_model(m);
  std::unique_ptr<NeuralPulseModel> neural;
  if (wants_neural) {
    try {
      neural = std::make_unique<NeuralPulseModel>(options.backend,
                                                  resolve_model(options.model, model_directory(options.model_dir)), 1);
      report.neural_status = "ok";
    } catch (const Error& e) {
      report.neural_status = e.what();
    }
  }
  std::vector<std::vector<Pair>> pooled(options.methods.size());
  std::vector<int> pooled_unavailable(options.methods.size(), 0);
  for (const auto& clip : clips) {
    const ClipRecording rec = record_clip(clip, neural != nullptr);
    double truth_sum = 0;
    int truth_n = 0;
    for (const auto& f : rec.frames) {
      if (f.truth_bpm) {
        truth_sum += *f.truth_bpm;
        ++truth_n;
      }
    }
    for (std::size_t i = 0; i < options.methods.size(); ++i) {
      ClipResult r;
      r.clip = clip.name;
      r.method = pulse_method_name(options.methods[i]);
      r.truth_bpm_mean = truth_n ? truth_sum / truth_n : 0;
      if (method_runs_model(options.methods[i]) && !neural) {
        r.status = ResultStatus::kFailed;
        r.reason = report.neural_status;
        report.clips.push_back(r);
        continue;
      }
      std::vector<Pair> pairs;
      int unavailable = 0;
      for (const auto& e : run_method(rec, options.methods[i], neural.get(), options.window_s)) {
        if (!e.truth_bpm) continue;
        if (!e.bpm) {
          ++unavailable;
          continue;
        }
        pairs.push_back({*e.bpm, *e.truth_bpm});
      }
      r.metrics = metrics_of(pairs, unavailable);
      pooled[i].insert(pooled[i].end(), pairs.begin(), pairs.end());
      pooled_unavailable[i] += unavailable;
      report.clips.push_back(r);
    }
  }
  for (std::size_t i = 0; i < options.methods.size(); ++i) {
    report.methods.emplace_back(pulse_method_name(options.methods[i]), metrics_of(pooled[i], pooled_unavailable[i]));
  }
  return report;
}

nlohmann::json eval_report_json(const EvalReport& report) {
  auto metrics_json = [](const EvalMetrics& m) {
    return nlohmann::json{{"readings", m.readings},
                          {"unavailable", m.unavailable},
                          {"mae", m.readings ? nlohmann::json(m.mae) : nlohmann::json(nullptr)},
                          {"rmse", m.readings ? nlohmann::json(m.rmse) : nlohmann::json(nullptr)},
                          {"mape", m.readings ? nlohmann::json(m.mape) : nlohmann::json(nullptr)},
                          {"pearson", m.pearson ? nlohmann::json(*m.pearson) : nlohmann::json(nullptr)}};
  };
  nlohmann::json clips = nlohmann::json::array();
  for (const auto& c : report.clips) {
    nlohmann::json item = metrics_json(c.metrics);
    item["clip"] = c.clip;
    item["method"] = c.method;
    item["status"] = result_status_name(c.status);
    item["truth_bpm_mean"] = c.truth_bpm_mean;
    if (!c.reason.empty()) item["reason"] = c.reason;
    clips.push_back(item);
  }
  nlohmann::json methods = nlohmann::json::object();
  for (const auto& [name, m] : report.methods) methods[name] = metrics_json(m);
  return {{"methods", methods}, {"clips", clips}, {"neural_status", report.neural_status}};
}

}  // namespace inferlab
