#include "inferlab/face_tracker.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "inferlab/error.h"
#include "inferlab/rppg_assets.h"

namespace inferlab {

namespace {

// Below this normalised correlation the tracked patch no longer looks like the
// face that was detected: detect again on the next frame.
constexpr double kMinTrackScore = 0.6;
// Face displacement per frame, as a fraction of the face width, above which
// detections come more often (the template tracker cannot follow scale or
// rotation, the detector can).
constexpr double kFastMotion = 0.02;
// How often a full-frame search runs while no face is known.
constexpr int kSearchEveryFrames = 5;

cv::Rect scale_rect(const cv::Rect& r, double s) {
  return cv::Rect(static_cast<int>(std::lround(r.x * s)), static_cast<int>(std::lround(r.y * s)),
                  static_cast<int>(std::lround(r.width * s)), static_cast<int>(std::lround(r.height * s)));
}

}  // namespace

FaceTracker::FaceTracker(FaceTrackerOptions options) : options_(options) {
  const std::string path = face_cascade_path();
  if (!cascade_.load(path)) throw Error("cannot load the face cascade " + path + " (install opencv-data)");
  detect_every_ = std::clamp(4, options_.detect_every_min_frames, options_.detect_every_max_frames);
}

FaceObservation FaceTracker::update(const cv::Mat& bgr) {
  if (bgr.size() != frame_size_) {
    frame_size_ = bgr.size();
    scale_ = static_cast<double>(options_.detect_width_px) / bgr.cols;
    face_small_.reset();
    since_detect_ = 1 << 20;
  }
  cv::Mat small, grey;
  cv::resize(bgr, small, cv::Size(), scale_, scale_, cv::INTER_AREA);
  cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);

  FaceObservation obs;
  // Without a face every frame would pay for a full-frame cascade pass
  // (10-20 ms); looking every few frames keeps an empty scene cheap.
  const int interval = face_small_ ? detect_every_ : kSearchEveryFrames;
  if (++since_detect_ >= interval) {
    obs.detected = true;
    since_detect_ = 0;
    auto found = detect(grey);
    if (found) {
      // Detections jitter by a few pixels; blending with the track keeps the
      // skin region steady, which the colour signal needs.
      if (face_small_ && (*found & *face_small_).area() > 0.5 * found->area()) {
        cv::Rect& f = *face_small_;
        f = cv::Rect(static_cast<int>(std::lround(0.5 * f.x + 0.5 * found->x)),
                     static_cast<int>(std::lround(0.5 * f.y + 0.5 * found->y)),
                     static_cast<int>(std::lround(0.5 * f.width + 0.5 * found->width)),
                     static_cast<int>(std::lround(0.5 * f.height + 0.5 * found->height)));
      } else {
        face_small_ = found;
      }
      *face_small_ &= cv::Rect(0, 0, grey.cols, grey.rows);
      template_ = grey(*face_small_).clone();
      misses_ = 0;
    } else if (++misses_ >= 2) {
      face_small_.reset();  // two detections in a row found nothing: the face is gone
    }
  } else if (face_small_) {
    const cv::Rect before = *face_small_;
    face_small_ = track(grey);
    if (face_small_) {
      const double moved = std::hypot(face_small_->x - before.x, face_small_->y - before.y) / before.width;
      detect_every_ = moved > kFastMotion ? std::max(options_.detect_every_min_frames, detect_every_ / 2)
                                          : std::min(options_.detect_every_max_frames, detect_every_ + 1);
    }
  }
  obs.detect_every_frames = detect_every_;
  if (face_small_) {
    cv::Rect full = scale_rect(*face_small_, 1.0 / scale_) & cv::Rect(0, 0, bgr.cols, bgr.rows);
    if (full.area() > 0) obs.face = full;
  }
  return obs;
}

std::optional<cv::Rect> FaceTracker::detect(const cv::Mat& grey_small) {
  std::vector<cv::Rect> faces;
  const cv::Rect frame(0, 0, grey_small.cols, grey_small.rows);
  if (face_small_) {
    // A full-frame cascade pass costs 10-20 ms even at 160 px; around a known
    // face, at scales near its size, it costs a small fraction of that.
    const cv::Rect& f = *face_small_;
    const cv::Rect area = cv::Rect(f.x - f.width / 2, f.y - f.height / 2, f.width * 2, f.height * 2) & frame;
    const int lo = std::max(20, f.width * 3 / 4), hi = f.width * 4 / 3 + 1;
    if (area.width >= lo && area.height >= lo) {
      cascade_.detectMultiScale(grey_small(area), faces, 1.1, 3, 0, cv::Size(lo, lo), cv::Size(hi, hi));
      for (auto& r : faces) r += area.tl();
    }
  }
  if (faces.empty()) {
    const int min_side = std::max(20, grey_small.cols / 8);
    cascade_.detectMultiScale(grey_small, faces, 1.1, 4, 0, cv::Size(min_side, min_side));
  }
  if (faces.empty()) return std::nullopt;
  return *std::max_element(faces.begin(), faces.end(), [](auto& a, auto& b) { return a.area() < b.area(); });
}

std::optional<cv::Rect> FaceTracker::track(const cv::Mat& grey_small) {
  const cv::Rect last = *face_small_;
  const int pad_x = last.width / 2, pad_y = last.height / 2;
  cv::Rect search = cv::Rect(last.x - pad_x, last.y - pad_y, last.width + 2 * pad_x, last.height + 2 * pad_y) &
                    cv::Rect(0, 0, grey_small.cols, grey_small.rows);
  if (search.width < template_.cols || search.height < template_.rows) return std::nullopt;
  cv::Mat score;
  cv::matchTemplate(grey_small(search), template_, score, cv::TM_CCOEFF_NORMED);
  double best = 0;
  cv::Point at;
  cv::minMaxLoc(score, nullptr, &best, nullptr, &at);
  if (best < kMinTrackScore) {
    since_detect_ = detect_every_;  // lost: detect on the next frame
    return last;
  }
  return cv::Rect(search.x + at.x, search.y + at.y, last.width, last.height);
}

SkinColour skin_colour(const cv::Mat& bgr, const cv::Rect& face) {
  SkinColour out;
  cv::Rect roi(face.x + face.width / 5, face.y + face.height / 10, face.width * 3 / 5, face.height * 4 / 5);
  roi &= cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (roi.area() < 16) return out;
  cv::Mat ycrcb, mask;
  cv::cvtColor(bgr(roi), ycrcb, cv::COLOR_BGR2YCrCb);
  cv::inRange(ycrcb, cv::Scalar(0, 133, 77), cv::Scalar(255, 178, 130), mask);
  out.skin_pixels = cv::countNonZero(mask);
  // Fewer than 5% skin pixels means the box is on something else.
  if (out.skin_pixels < std::max(16, roi.area() / 20)) return out;
  const cv::Scalar mean = cv::mean(bgr(roi), mask);
  out.rgb = cv::Vec3d(mean[2], mean[1], mean[0]);
  out.valid = true;
  return out;
}

}  // namespace inferlab
