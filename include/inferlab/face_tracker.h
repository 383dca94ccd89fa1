#pragma once
/// @file face_tracker.h
/// Face detection (OpenCV Haar cascade from opencv-data) every k frames and
/// template tracking in between, with k adapting to how fast the face moves;
/// plus the skin region and per-frame mean skin colour the rPPG methods read.

#include <optional>

#include <opencv2/core.hpp>
#include <opencv2/objdetect.hpp>

namespace inferlab {

/// Tuning of FaceTracker. Units are in the names.
struct FaceTrackerOptions {
  int detect_every_min_frames = 2;   ///< k never falls below this (fast motion)
  int detect_every_max_frames = 15;  ///< k never rises above this (still face)
  int detect_width_px = 160;         ///< frames are scaled to this width for detection and tracking
};

/// Where the face is in one frame.
struct FaceObservation {
  std::optional<cv::Rect> face;  ///< full-resolution box; empty when no face is known
  bool detected = false;         ///< true when the cascade ran on this frame (false: tracked or lost)
  int detect_every_frames = 0;   ///< the current k
};

/// Finds and follows the largest face. Not thread-safe: one pipeline stage owns it.
class FaceTracker {
 public:
  /// Loads the cascade (rppg_assets.h); throws Error naming the file when it cannot.
  explicit FaceTracker(FaceTrackerOptions options = {});
  /// Processes the next frame (8-bit BGR). Frames may change size: the tracker
  /// then starts over with a detection.
  FaceObservation update(const cv::Mat& bgr);

 private:
  std::optional<cv::Rect> detect(const cv::Mat& grey_small);
  std::optional<cv::Rect> track(const cv::Mat& grey_small);

  FaceTrackerOptions options_;
  cv::CascadeClassifier cascade_;
  cv::Size frame_size_;
  double scale_ = 1;  // small / full resolution
  std::optional<cv::Rect> face_small_;
  cv::Mat template_;
  int since_detect_ = 1 << 20;  // frames since the cascade last ran; large: run it on the first frame
  int detect_every_ = 4;
  int misses_ = 0;
};

/// Mean skin colour of one frame.
struct SkinColour {
  bool valid = false;   ///< false when there is no face or too few skin pixels
  cv::Vec3d rgb;        ///< mean R, G, B of the skin pixels, 0..255
  int skin_pixels = 0;  ///< pixels that passed the skin test
};

/// Mean colour of the skin-coloured pixels (YCrCb box) inside the central part
/// of the face box: forehead, cheeks and nose, not hair or background.
/// Thread-safe (pure function).
SkinColour skin_colour(const cv::Mat& bgr, const cv::Rect& face);

}  // namespace inferlab
