#pragma once
/// @file rppg.h
/// Remote photoplethysmography: turning per-frame skin colour (or a model's
/// per-frame output) into a pulse signal, and the pulse into beats per minute
/// with a Welch power spectrum. The methods follow their papers:
/// green (Verkruysse 2008), CHROM (de Haan & Jeanne 2013), POS (Wang et al. 2017).

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace inferlab {

/// How the pulse is extracted.
enum class PulseMethod { kGreen, kChrom, kPos, kNeural };
/// "green", "chrom", "pos", "neural".
std::string pulse_method_name(PulseMethod method);
/// Parses a name of pulse_method_name(); throws Error naming `flag` otherwise.
PulseMethod pulse_method_from_name(const std::string& name, const std::string& flag = "--method");
/// True for methods that run a model (only neural).
inline bool method_runs_model(PulseMethod method) { return method == PulseMethod::kNeural; }

/// Builds the pulse signal one frame at a time and keeps its most recent
/// `keep_s` seconds (constant memory). Frames must arrive in time order; a
/// gap (dropped frames) is filled by linear interpolation so the signal stays
/// uniformly sampled at `fps`. Not thread-safe: one stage owns it.
class PulseExtractor {
 public:
  /// `fps` is the sampling rate of the signal (the source's frame rate).
  PulseExtractor(PulseMethod method, double fps, double keep_s = 12);

  /// Adds one frame for green/chrom/pos: mean skin colour (R, G, B, 0..255)
  /// at media time `t_s`; `valid` false when no face was found (the last
  /// valid colour is held so the signal stays continuous).
  void add_colour(double t_s, const cv::Vec3d& rgb, bool valid);
  /// Adds one frame for neural: the model's output (the pulse's first
  /// difference, DeepPhys-style), integrated here. `valid` as above.
  void add_derivative(double t_s, double derivative, bool valid);

  /// The last `n` pulse samples, oldest first (fewer when not yet available).
  std::vector<double> recent(std::size_t n) const;
  /// Fraction of the last `n` samples that came from a valid face, 0..1.
  double valid_fraction(std::size_t n) const;
  /// Samples held now.
  std::size_t size() const { return pulse_.size(); }
  double fps() const { return fps_; }
  /// Window length of the chrom/pos projections in samples (1.6 s).
  std::size_t projection_window() const { return window_; }

 private:
  void push_one(const cv::Vec3d& rgb, double derivative, bool valid);
  void project_pos();
  void project_chrom();
  void trim();

  PulseMethod method_;
  double fps_;
  std::size_t keep_;
  std::size_t window_;
  std::optional<double> last_t_s_;
  cv::Vec3d last_rgb_{0, 0, 0};
  double last_derivative_ = 0;
  double integral_ = 0;
  std::deque<cv::Vec3d> colour_;  // recent colours (projection window)
  std::deque<double> pulse_;
  std::deque<bool> valid_;
  std::size_t added_ = 0;
};

/// A heart-rate reading from the power spectrum of a pulse window.
struct BpmReading {
  double bpm = 0;     ///< beats per minute at the spectral peak in 0.7..4 Hz
  double snr_db = 0;  ///< power within +-0.1 Hz of the peak and +-0.2 Hz of its harmonic vs the rest of the band, dB
};

/// Subtracts the least-squares line from `signal` in place (no-op below 2 samples).
void remove_linear_trend(std::vector<double>& signal);

/// Removes the mean and linear trend and scales to unit variance: the pulse
/// post-processing before the spectrum. Thread-safe (pure function).
std::vector<double> normalise_pulse(const std::vector<double>& pulse);

/// Welch power spectrum (Hann segments of 85% of the window, 2 segments,
/// zero-padded to at least 2048 points, parabolic peak interpolation) of a
/// pulse sampled at `fps`; the peak in 0.7..4 Hz (42..240 BPM). nullopt when
/// the window is shorter than 4 s. Thread-safe (pure function).
std::optional<BpmReading> welch_bpm(const std::vector<double>& pulse, double fps);

}  // namespace inferlab

namespace inferlab {

/// The most recent stretch of pulse signal, handed from the extraction stage
/// to the heart-rate stage once per update interval.
struct PulseWindow {
  double t_s = 0;                   ///< media time of the newest sample
  double fps = 0;                   ///< sampling rate of `pulse`
  std::vector<double> pulse;        ///< oldest first
  double valid_fraction = 0;        ///< share of samples with a face, 0..1
  std::optional<double> truth_bpm;  ///< mean ground truth over the window, when the source has it
};

/// Decides when a new heart-rate reading is due (every `every_s` of media
/// time once `min_window_s` of signal exists) and cuts the window (at most
/// `window_s`). Also averages the ground truth over the same samples so a
/// reading is compared with what the window actually contained. Not thread-safe.
class PulseWindowScheduler {
 public:
  PulseWindowScheduler(double window_s = 10, double min_window_s = 6, double every_s = 1);
  /// Call once per frame after the extractor has the frame.
  std::optional<PulseWindow> after_frame(const PulseExtractor& extractor, double t_s, std::optional<double> truth_bpm);

 private:
  double window_s_, min_window_s_, every_s_;
  std::optional<double> last_emit_s_;
  std::deque<double> truth_;  // NaN where a frame had no ground truth
};

/// A heart-rate estimate, or why there is none.
struct BpmEstimate {
  double t_s = 0;
  std::optional<double> bpm;  ///< empty when unavailable (no face, too short)
  std::optional<double> snr_db;
  std::optional<double> truth_bpm;
  std::string unavailable_reason;  ///< set when bpm is empty
};

/// Below this share of face-bearing samples a window yields no heart rate.
constexpr double kMinValidFraction = 0.8;

/// Post-processes (normalise_pulse) and measures (welch_bpm) one window; the
/// reading is unavailable when fewer than kMinValidFraction of its samples
/// had a face. When given, `postprocess_ms` and `spectrum_ms` receive the
/// time each half took. Thread-safe.
BpmEstimate estimate_bpm(const PulseWindow& window, double* postprocess_ms = nullptr, double* spectrum_ms = nullptr);

}  // namespace inferlab
