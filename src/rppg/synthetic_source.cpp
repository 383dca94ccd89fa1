// The synthetic face: a real photo whose skin pixels are modulated by a
// blood-volume pulse with a known rate, so every frame has ground truth.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <random>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "inferlab/error.h"
#include "inferlab/frame_source.h"
#include "inferlab/rppg_assets.h"

namespace inferlab {

namespace {

constexpr double kTwoPi = 2 * std::numbers::pi;
// Relative pulse strength per channel (B, G, R): the blood-volume-pulse
// signature of skin (de Haan & van Leest 2014, normalised to green = 1).
constexpr double kPbvBgr[3] = {0.54 / 0.80, 1.0, 0.27 / 0.80};
// The face in messi5.jpg (548x342) as the frontal cascade finds it, and the
// crop height around it that makes the face fill about half the frame.
constexpr double kFaceCentreX = 245, kFaceCentreY = 113, kCropHeight = 75;
// Room around the visible frame for head motion, as a fraction of the frame.
constexpr double kMargin = 0.12;
constexpr int kNoiseBank = 8;
// Extra noise columns so a frame can start at a random offset without wrapping.
constexpr int kNoiseSlack = 192;

class SyntheticSource final : public FrameSource {
 public:
  explicit SyntheticSource(const SyntheticOptions& o) : o_(o), rng_(o.seed) {
    margin_x_ = static_cast<int>(std::lround(o_.width * kMargin));
    margin_y_ = static_cast<int>(std::lround(o_.height * kMargin));
    const cv::Size canvas_size(o_.width + 2 * margin_x_, o_.height + 2 * margin_y_);
    if (o_.face) {
      build_face_canvas(canvas_size);
    } else {
      build_empty_canvas(canvas_size);
    }
    if (o_.noise > 0) build_noise_bank();
    if (o_.light > 0) build_light_steps();
    max_frames_ = o_.duration_s > 0 ? static_cast<std::int64_t>(std::llround(o_.duration_s * o_.fps)) : -1;
  }

  bool next(Frame& frame) override {
    if (max_frames_ >= 0 && index_ >= max_frames_) return false;
    const double t = static_cast<double>(index_) / o_.fps;
    const double bpm = o_.bpm * (1 + o_.drift * std::sin(kTwoPi * t / 60.0));
    phase_ += kTwoPi * bpm / 60.0 / o_.fps;
    // A rounded pulse with a dicrotic second harmonic, scaled to peak ~1.
    const double pulse = (std::sin(phase_) + 0.3 * std::sin(2 * phase_ + 0.9)) / 1.2;
    cv::Mat out(o_.height, o_.width, CV_8UC3);
    render(out, t, pulse);
    if (o_.jpeg_quality > 0) {
      cv::imencode(".jpg", out, jpeg_buffer_, {cv::IMWRITE_JPEG_QUALITY, o_.jpeg_quality});
      out = cv::imdecode(jpeg_buffer_, cv::IMREAD_COLOR);
    }
    if (o_.resize_every_frames > 0 && (index_ / o_.resize_every_frames) % 2 == 1) {
      cv::Mat smaller;
      cv::resize(out, smaller, cv::Size(o_.width * 3 / 4, o_.height * 3 / 4), 0, 0, cv::INTER_AREA);
      out = smaller;
    }
    frame.bgr = out;
    frame.index = index_;
    frame.t_s = t;
    frame.truth_bpm = o_.face ? std::optional<double>(bpm) : std::nullopt;
    ++index_;
    return true;
  }

  double fps() const override { return o_.fps; }
  bool live() const override { return false; }
  std::string describe() const override {
    char text[256];
    std::snprintf(text, sizeof text,
                  "synthetic %dx%d @%.0f fps, bpm=%.0f drift=%.2f motion=%.2f light=%.2f noise=%.1f seed=%llu%s",
                  o_.width, o_.height, o_.fps, o_.bpm, o_.drift, o_.motion, o_.light, o_.noise,
                  static_cast<unsigned long long>(o_.seed), o_.face ? "" : " (no face)");
    return text;
  }

 private:
  void build_face_canvas(cv::Size canvas_size) {
    const std::string path = face_photo_path();
    cv::Mat photo = cv::imread(path, cv::IMREAD_COLOR);
    if (photo.empty()) {
      throw Error("--source synthetic: cannot read the face photo " + path + " (install opencv-doc)");
    }
    const double crop_h = kCropHeight * (1 + 2 * kMargin);
    const double crop_w = crop_h * canvas_size.width / canvas_size.height;
    cv::Rect crop(static_cast<int>(kFaceCentreX - crop_w / 2), static_cast<int>(kFaceCentreY - crop_h / 2),
                  static_cast<int>(crop_w), static_cast<int>(crop_h));
    crop &= cv::Rect(0, 0, photo.cols, photo.rows);
    cv::resize(photo(crop), canvas_, canvas_size, 0, 0, cv::INTER_CUBIC);
    skin_ = skin_weights(canvas_);
  }

  // Skin = inside the detected face's ellipse and skin-coloured (YCrCb box),
  // softened so the pulse fades out at the edges rather than stopping at a seam.
  static cv::Mat skin_weights(const cv::Mat& canvas) {
    cv::CascadeClassifier cascade(face_cascade_path());
    if (cascade.empty())
      throw Error("--source synthetic: cannot load " + face_cascade_path() + " (install opencv-data)");
    const double scale = 160.0 / canvas.cols;
    cv::Mat small, grey;
    cv::resize(canvas, small, cv::Size(), scale, scale, cv::INTER_AREA);
    cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);
    std::vector<cv::Rect> faces;
    cascade.detectMultiScale(grey, faces, 1.1, 4, 0, cv::Size(24, 24));
    if (faces.empty()) throw Error("--source synthetic: the face photo has no detectable face", ErrorKind::kRuntime);
    const cv::Rect face =
        *std::max_element(faces.begin(), faces.end(), [](auto& a, auto& b) { return a.area() < b.area(); });
    cv::Mat ellipse = cv::Mat::zeros(canvas.size(), CV_8U);
    const cv::Point centre(static_cast<int>((face.x + face.width / 2.0) / scale),
                           static_cast<int>((face.y + face.height / 2.0) / scale));
    const cv::Size axes(static_cast<int>(face.width * 0.42 / scale), static_cast<int>(face.height * 0.55 / scale));
    cv::ellipse(ellipse, centre, axes, 0, 0, 360, cv::Scalar(255), cv::FILLED);
    cv::Mat ycrcb, skin;
    cv::cvtColor(canvas, ycrcb, cv::COLOR_BGR2YCrCb);
    cv::inRange(ycrcb, cv::Scalar(0, 133, 77), cv::Scalar(255, 178, 130), skin);
    cv::bitwise_and(skin, ellipse, skin);
    cv::GaussianBlur(skin, skin, cv::Size(9, 9), 0);
    return skin;
  }

  // No face: a smooth colour gradient, so the detector has nothing to find.
  void build_empty_canvas(cv::Size canvas_size) {
    canvas_.create(canvas_size, CV_8UC3);
    for (int y = 0; y < canvas_.rows; ++y) {
      auto* row = canvas_.ptr<cv::Vec3b>(y);
      for (int x = 0; x < canvas_.cols; ++x) {
        row[x] = cv::Vec3b(static_cast<uchar>(60 + 120 * x / canvas_.cols), 110,
                           static_cast<uchar>(60 + 120 * y / canvas_.rows));
      }
    }
    skin_ = cv::Mat::zeros(canvas_size, CV_8U);
  }

  // A few frames of Gaussian noise, reused in a seeded random order: drawing
  // fresh noise for 640x480x3 values every frame would cost more than the
  // rest of the pipeline.
  void build_noise_bank() {
    for (int i = 0; i < kNoiseBank; ++i) {
      cv::Mat n(o_.height, o_.width * 3 + kNoiseSlack, CV_16S);
      cv::RNG rng(o_.seed * 7919 + static_cast<std::uint64_t>(i));
      rng.fill(n, cv::RNG::NORMAL, 0, o_.noise);
      noise_.push_back(n);
    }
  }

  // Brightness steps every 4-8 s (seeded), each ramped over one second.
  void build_light_steps() {
    std::uniform_real_distribution<double> gap(4, 8), level(-1, 1);
    double t = gap(rng_);
    for (int i = 0; i < 64; ++i, t += gap(rng_)) light_steps_.push_back({t, level(rng_)});
  }

  double light_gain(double t) const {
    if (o_.light <= 0) return 1;
    double step = 0;
    for (const auto& [at, level] : light_steps_) {
      if (t < at) break;
      step = step + (level - step) * std::min(1.0, t - at);  // ramp towards the new level
    }
    return 1 + o_.light * (0.3 * std::sin(kTwoPi * 0.07 * t) + 0.15 * step);
  }

  void render(cv::Mat& out, double t, double pulse) {
    int dx = 0, dy = 0;
    if (o_.motion > 0) {
      // Sway below the heart-rate band plus a seeded jitter of a few pixels.
      std::normal_distribution<double> jitter(0, 1.5 * o_.motion);
      dx = static_cast<int>(std::lround(o_.motion * 0.08 * o_.width * std::sin(kTwoPi * 0.2 * t) +
                                        o_.motion * 0.02 * o_.width * std::sin(kTwoPi * 0.53 * t + 1) + jitter(rng_)));
      dy = static_cast<int>(std::lround(o_.motion * 0.05 * o_.height * std::sin(kTwoPi * 0.15 * t + 2) + jitter(rng_)));
      dx = std::clamp(dx, -margin_x_, margin_x_);
      dy = std::clamp(dy, -margin_y_, margin_y_);
    }
    const float light = static_cast<float>(light_gain(t));
    float gain[3];
    for (int c = 0; c < 3; ++c) gain[c] = static_cast<float>(light * o_.pulse_amplitude * kPbvBgr[c] * pulse / 255.0);
    const cv::Mat* noise = nullptr;
    int noise_shift = 0;
    if (!noise_.empty()) {
      noise = &noise_[std::uniform_int_distribution<int>(0, kNoiseBank - 1)(rng_)];
      noise_shift = std::uniform_int_distribution<int>(0, kNoiseSlack - 1)(rng_);
    }
    for (int y = 0; y < o_.height; ++y) {
      const uchar* base = canvas_.ptr<uchar>(y + margin_y_ + dy) + 3 * (margin_x_ + dx);
      const uchar* skin = skin_.ptr<uchar>(y + margin_y_ + dy) + (margin_x_ + dx);
      const short* n = noise ? noise->ptr<short>((y + noise_shift) % o_.height) + noise_shift : nullptr;
      uchar* dst = out.ptr<uchar>(y);
      for (int x = 0; x < o_.width; ++x) {
        const float s = skin[x];
        for (int c = 0; c < 3; ++c) {
          float v = base[3 * x + c] * (light + gain[c] * s);
          if (n) v += n[3 * x + c];
          dst[3 * x + c] = cv::saturate_cast<uchar>(v);
        }
      }
    }
  }

  SyntheticOptions o_;
  std::mt19937_64 rng_;
  cv::Mat canvas_;  // BGR, frame size plus motion margins
  cv::Mat skin_;    // 0..255 weight of the pulse per canvas pixel
  std::vector<cv::Mat> noise_;
  std::vector<std::pair<double, double>> light_steps_;
  std::vector<uchar> jpeg_buffer_;
  int margin_x_ = 0, margin_y_ = 0;
  double phase_ = 0;
  std::int64_t index_ = 0;
  std::int64_t max_frames_ = -1;
};

}  // namespace

std::unique_ptr<FrameSource> make_synthetic_source(const SyntheticOptions& options) {
  return std::make_unique<SyntheticSource>(options);
}

}  // namespace inferlab
