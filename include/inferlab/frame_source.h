#pragma once
/// @file frame_source.h
/// Where the live pipeline's frames come from: a camera, a video file, the
/// UBFC-rPPG layout, or the built-in synthetic face with a known pulse.
/// Spec strings follow CLI.md: `synthetic[:k=v,...]`, `file:PATH`,
/// `camera:N`, `ubfc:DIR`.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <opencv2/core.hpp>

namespace inferlab {

/// One captured frame. `bgr` is 8-bit, 3 channels; the frame owns its pixels
/// (cv::Mat reference counting), so it may be handed between threads.
struct Frame {
  cv::Mat bgr;
  std::int64_t index = 0;           ///< 0-based position in the stream
  double t_s = 0;                   ///< media time in seconds (index / fps for files and synthetic video)
  std::optional<double> truth_bpm;  ///< ground-truth heart rate at this frame, when the source knows it
};

/// A stream of frames. Not thread-safe: one thread (the capture stage) reads it.
class FrameSource {
 public:
  virtual ~FrameSource() = default;
  /// Fills `frame` with the next frame; false at the end of the stream.
  /// Throws Error (kRuntime) when the device fails mid-stream.
  virtual bool next(Frame& frame) = 0;
  /// Nominal frame rate in frames per second (what the source promises).
  virtual double fps() const = 0;
  /// True when frames arrive at the source's own pace (a camera); false when
  /// the reader sets the pace (files, synthetic video).
  virtual bool live() const = 0;
  /// Human-readable description, e.g. "synthetic 640x480 @30 fps, bpm=72".
  virtual std::string describe() const = 0;
};

/// Parameters of the synthetic source (`synthetic:bpm=72,drift=0.1,...`).
/// Units are in the names; see docs/rppg.md for what each one does to the picture.
struct SyntheticOptions {
  double bpm = 72;                 ///< mean heart rate, beats per minute
  double drift = 0;                ///< relative heart-rate swing (0.1 = +-10%) over a 60 s period
  double motion = 0;               ///< head motion strength (1 = about 8% of the frame width of sway plus jitter)
  double light = 0;                ///< illumination change strength (1 = +-30% slow swing plus brightness steps)
  double noise = 2;                ///< sensor noise standard deviation in 8-bit grey levels
  double pulse_amplitude = 0.006;  ///< relative green-channel intensity change of skin per pulse (0.006 = 0.6%)
  int jpeg_quality = 0;            ///< 0: no compression; 1..100: every frame goes through JPEG at this quality
  int width = 640;
  int height = 480;
  double fps = 30;
  double duration_s = 0;  ///< 0: endless; else the stream ends after this much media time
  std::uint64_t seed = 1;
  bool face = true;             ///< false renders the background only (no face in view)
  int resize_every_frames = 0;  ///< >0: every N frames the frame size alternates (tests the pipeline's handling)
};

/// Parses the part after "synthetic:"; throws Error naming `--source` and the bad key.
SyntheticOptions parse_synthetic_options(const std::string& text);

/// The synthetic face: a photo from opencv-doc (messi5.jpg) whose skin pixels
/// carry a blood-volume pulse, plus optional motion, light changes, noise and JPEG.
std::unique_ptr<FrameSource> make_synthetic_source(const SyntheticOptions& options);

/// Opens a source from its spec. Throws Error (kBadInput) with one line naming
/// `--source` and the problem: no camera at that index, an unreadable or empty
/// video, a UBFC folder without vid.avi or ground_truth.txt, an unknown kind.
std::unique_ptr<FrameSource> open_frame_source(const std::string& spec);

}  // namespace inferlab
