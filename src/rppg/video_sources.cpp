// Camera, video file and UBFC-rPPG sources, and the --source spec parser.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "inferlab/error.h"
#include "inferlab/frame_source.h"

namespace inferlab {

namespace {

// OpenCV's video backends log to stderr when a device or file will not open;
// the CLI promises one line for bad input, so its log is silenced while opening.
class QuietLog {
 public:
  QuietLog() : previous_(cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT)) {}
  ~QuietLog() { cv::utils::logging::setLogLevel(previous_); }
  QuietLog(const QuietLog&) = delete;
  QuietLog& operator=(const QuietLog&) = delete;

 private:
  cv::utils::logging::LogLevel previous_;
};

// Reads frames from cv::VideoCapture. Media time comes from the frame index
// for files (their timestamps are the recording's) and from the wall clock
// for cameras (frames arrive when the sensor delivers them).
class CaptureSource : public FrameSource {
 public:
  CaptureSource(cv::VideoCapture capture, cv::Mat first, std::string description, bool is_camera)
      : capture_(std::move(capture)),
        first_(std::move(first)),
        description_(std::move(description)),
        camera_(is_camera),
        start_(std::chrono::steady_clock::now()) {
    fps_ = capture_.get(cv::CAP_PROP_FPS);
    if (!(fps_ > 0 && fps_ < 1000)) fps_ = 30;  // some containers and drivers report 0
  }

  bool next(Frame& frame) override {
    cv::Mat image;
    if (!first_.empty()) {
      image = first_;
      first_.release();
    } else {
      if (!capture_.read(image)) return false;
      if (image.empty()) return false;
    }
    if (image.channels() == 1) cv::cvtColor(image, image, cv::COLOR_GRAY2BGR);
    frame.bgr = image;
    frame.index = index_;
    frame.t_s = camera_ ? std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count()
                        : static_cast<double>(index_) / fps_;
    frame.truth_bpm = truth_at(frame.t_s);
    ++index_;
    return true;
  }

  double fps() const override { return fps_; }
  bool live() const override { return camera_; }
  std::string describe() const override { return description_; }

 protected:
  virtual std::optional<double> truth_at(double /*t_s*/) const { return std::nullopt; }

 private:
  cv::VideoCapture capture_;
  cv::Mat first_;
  std::string description_;
  bool camera_;
  std::chrono::steady_clock::time_point start_;
  double fps_ = 30;
  std::int64_t index_ = 0;
};

// UBFC-rPPG (DATASET_2): ground_truth.txt holds three lines, the PPG
// signal, the heart rate per sample and the sample times in seconds.
class UbfcSource final : public CaptureSource {
 public:
  UbfcSource(cv::VideoCapture capture, cv::Mat first, std::string description, std::vector<double> times_s,
             std::vector<double> bpm)
      : CaptureSource(std::move(capture), std::move(first), std::move(description), false),
        times_s_(std::move(times_s)),
        bpm_(std::move(bpm)) {}

 protected:
  std::optional<double> truth_at(double t_s) const override {
    auto it = std::lower_bound(times_s_.begin(), times_s_.end(), t_s);
    if (it == times_s_.end()) return bpm_.back();
    return bpm_[static_cast<std::size_t>(it - times_s_.begin())];
  }

 private:
  std::vector<double> times_s_, bpm_;
};

std::pair<cv::VideoCapture, cv::Mat> open_video(const std::string& path, const std::string& spec) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("--source " + spec + ": no such file");
  if (std::filesystem::file_size(path, ec) == 0) throw Error("--source " + spec + ": the file is empty");
  QuietLog quiet;
  cv::VideoCapture capture(path);
  if (!capture.isOpened()) throw Error("--source " + spec + ": not a video OpenCV can read");
  cv::Mat first;
  if (!capture.read(first) || first.empty()) throw Error("--source " + spec + ": the video has no readable frames");
  return {std::move(capture), std::move(first)};
}

std::vector<double> parse_numbers(const std::string& line) {
  std::vector<double> values;
  std::istringstream in(line);
  double v = 0;
  while (in >> v) values.push_back(v);
  return values;
}

std::unique_ptr<FrameSource> open_ubfc(const std::string& dir, const std::string& spec) {
  const std::string video = dir + "/vid.avi", truth = dir + "/ground_truth.txt";
  std::ifstream in(truth);
  if (!in) throw Error("--source " + spec + ": no ground_truth.txt in " + dir + " (expected the UBFC-rPPG layout)");
  std::string signal, rate, times;
  std::getline(in, signal);
  std::getline(in, rate);
  std::getline(in, times);
  std::vector<double> bpm = parse_numbers(rate), times_s = parse_numbers(times);
  if (bpm.empty() || bpm.size() != times_s.size()) {
    throw Error("--source " + spec + ": " + truth + " does not hold the heart-rate and time lines of UBFC-rPPG");
  }
  auto [capture, first] = open_video(video, spec);
  return std::make_unique<UbfcSource>(std::move(capture), std::move(first), "ubfc " + dir, std::move(times_s),
                                      std::move(bpm));
}

std::unique_ptr<FrameSource> open_camera(const std::string& index_text, const std::string& spec) {
  int index = -1;
  try {
    std::size_t used = 0;
    index = std::stoi(index_text, &used);
    if (used != index_text.size()) index = -1;
  } catch (const std::exception&) {
    index = -1;
  }
  if (index < 0) throw Error("--source " + spec + ": the camera index must be a non-negative integer");
  // Asking OpenCV about a device that does not exist only yields log noise;
  // the device node answers the question directly.
  const std::string device = "/dev/video" + std::to_string(index);
  struct stat info {};
  if (::stat(device.c_str(), &info) != 0)
    throw Error("--source " + spec + ": no camera at index " + index_text + " (" + device + " does not exist)");
  QuietLog quiet;
  cv::VideoCapture capture(index, cv::CAP_V4L2);
  if (!capture.isOpened())
    throw Error("--source " + spec + ": cannot open " + device + " (busy, or not a capture device)");
  cv::Mat first;
  if (!capture.read(first) || first.empty()) throw Error("--source " + spec + ": " + device + " delivered no frame");
  return std::make_unique<CaptureSource>(std::move(capture), std::move(first), "camera " + device, true);
}

double parse_number(const std::string& key, const std::string& value) {
  try {
    std::size_t used = 0;
    const double v = std::stod(value, &used);
    if (used == value.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  throw Error("--source synthetic: " + key + "=" + value + " is not a number");
}

}  // namespace

SyntheticOptions parse_synthetic_options(const std::string& text) {
  SyntheticOptions o;
  std::istringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos) throw Error("--source synthetic: '" + item + "' is not key=value");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "size") {
      int w = 0, h = 0;
      char x = 0;
      std::istringstream in(value);
      if (!(in >> w >> x >> h) || x != 'x' || w < 64 || h < 64 || w > 4096 || h > 4096) {
        throw Error("--source synthetic: size=" + value + " must be WxH with sides 64..4096");
      }
      o.width = w;
      o.height = h;
      continue;
    }
    const double v = parse_number(key, value);
    auto require = [&](bool ok, const char* range) {
      if (!ok) throw Error("--source synthetic: " + key + "=" + value + " must be " + range);
    };
    if (key == "bpm") {
      require(v >= 30 && v <= 240, "30..240");
      o.bpm = v;
    } else if (key == "drift") {
      require(v >= 0 && v <= 0.5, "0..0.5");
      o.drift = v;
    } else if (key == "motion") {
      require(v >= 0 && v <= 2, "0..2");
      o.motion = v;
    } else if (key == "light") {
      require(v >= 0 && v <= 2, "0..2");
      o.light = v;
    } else if (key == "noise") {
      require(v >= 0 && v <= 50, "0..50 grey levels");
      o.noise = v;
    } else if (key == "amp") {
      require(v > 0 && v <= 0.1, "in (0, 0.1]");
      o.pulse_amplitude = v;
    } else if (key == "jpeg") {
      require(v >= 0 && v <= 100 && v == std::floor(v), "an integer 0..100");
      o.jpeg_quality = static_cast<int>(v);
    } else if (key == "fps") {
      require(v >= 5 && v <= 240, "5..240");
      o.fps = v;
    } else if (key == "duration") {
      require(v >= 0, ">= 0 seconds");
      o.duration_s = v;
    } else if (key == "seed") {
      require(v >= 0 && v == std::floor(v), "a non-negative integer");
      o.seed = static_cast<std::uint64_t>(v);
    } else if (key == "face") {
      require(v == 0 || v == 1, "0 or 1");
      o.face = v == 1;
    } else if (key == "resize_every") {
      require(v >= 0 && v == std::floor(v), "a non-negative integer number of frames");
      o.resize_every_frames = static_cast<int>(v);
    } else {
      throw Error(
          "--source synthetic: unknown key '" + key +
          "' (known: bpm, drift, motion, light, noise, amp, jpeg, size, fps, duration, seed, face, resize_every)");
    }
  }
  return o;
}

std::unique_ptr<FrameSource> open_frame_source(const std::string& spec) {
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon), rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "synthetic") return make_synthetic_source(parse_synthetic_options(rest));
  if (rest.empty()) throw Error("--source " + spec + ": expected synthetic[:k=v,...], file:PATH, camera:N or ubfc:DIR");
  if (kind == "file") {
    auto [capture, first] = open_video(rest, spec);
    return std::make_unique<CaptureSource>(std::move(capture), std::move(first), "file " + rest, false);
  }
  if (kind == "camera") return open_camera(rest, spec);
  if (kind == "ubfc") return open_ubfc(rest, spec);
  throw Error("--source " + spec + ": unknown kind '" + kind + "' (expected synthetic, file, camera or ubfc)");
}

}  // namespace inferlab
