// Contact sheets of misclassified samples, drawn and encoded with OpenCV.
#include "inferlab/contact_sheet.h"

#include <algorithm>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "inferlab/error.h"
#include "inferlab/files.h"

namespace inferlab {

namespace {

constexpr int kColumns = 8;
constexpr int kTilePx = 112;    // thumbnail area per tile
constexpr int kCaptionPx = 30;  // two caption lines under each thumbnail
constexpr int kTitlePx = 28;
constexpr double kFontScale = 0.38;

std::string label_text(int index, const std::vector<std::string>& names) {
  if (index >= 0 && static_cast<std::size_t>(index) < names.size() && names[index] != std::to_string(index)) {
    return std::to_string(index) + " " + names[index].substr(0, 12);
  }
  return std::to_string(index);
}

// Thumbnails are small; scale them up with nearest-neighbour so 20x20
// digits stay crisp, keeping the aspect ratio inside the tile.
cv::Mat tile_image(const Image& image) {
  cv::Mat tile(kTilePx, kTilePx, CV_8UC3, cv::Scalar(40, 40, 40));
  if (image.empty()) return tile;
  cv::Mat mat(image.height, image.width, image.channels == 1 ? CV_8UC1 : CV_8UC3,
              const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat bgr;
  if (image.channels == 1) {
    cv::cvtColor(mat, bgr, cv::COLOR_GRAY2BGR);
  } else {
    bgr = mat;
  }
  const double ratio =
      std::min(static_cast<double>(kTilePx) / image.width, static_cast<double>(kTilePx) / image.height);
  cv::Mat scaled;
  cv::resize(
      bgr, scaled,
      cv::Size(std::max(1, static_cast<int>(image.width * ratio)), std::max(1, static_cast<int>(image.height * ratio))),
      0, 0, ratio > 1 ? cv::INTER_NEAREST : cv::INTER_AREA);
  scaled.copyTo(tile(cv::Rect((kTilePx - scaled.cols) / 2, (kTilePx - scaled.rows) / 2, scaled.cols, scaled.rows)));
  return tile;
}

}  // namespace

void write_contact_sheet(const std::vector<Misclassified>& samples, const std::vector<std::string>& class_names,
                         const std::string& title, const std::string& path) {
  const int rows = std::max<int>(1, (static_cast<int>(samples.size()) + kColumns - 1) / kColumns);
  const int cell_height = kTilePx + kCaptionPx;
  cv::Mat sheet(kTitlePx + rows * cell_height, kColumns * kTilePx, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(sheet, samples.empty() ? title + " - no misclassified samples" : title, cv::Point(6, 19),
              cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const int x = static_cast<int>(i % kColumns) * kTilePx;
    const int y = kTitlePx + static_cast<int>(i / kColumns) * cell_height;
    tile_image(samples[i].thumbnail).copyTo(sheet(cv::Rect(x, y, kTilePx, kTilePx)));
    cv::rectangle(sheet, cv::Rect(x, y, kTilePx, cell_height), cv::Scalar(200, 200, 200));
    cv::putText(sheet, "true " + label_text(samples[i].label, class_names), cv::Point(x + 4, y + kTilePx + 12),
                cv::FONT_HERSHEY_SIMPLEX, kFontScale, cv::Scalar(0, 120, 0), 1, cv::LINE_AA);
    cv::putText(sheet, "pred " + label_text(samples[i].predicted, class_names), cv::Point(x + 4, y + kTilePx + 26),
                cv::FONT_HERSHEY_SIMPLEX, kFontScale, cv::Scalar(0, 0, 200), 1, cv::LINE_AA);
  }
  std::vector<std::uint8_t> png;
  if (!cv::imencode(".png", sheet, png)) throw Error(path + ": PNG encoding failed", ErrorKind::kRuntime);
  write_file_atomically(path, std::string(png.begin(), png.end()));
}

}  // namespace inferlab
