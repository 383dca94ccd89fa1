// The pixel half of preprocessing, on OpenCV: colour conversion, resize of
// the shorter side, center crop, normalisation into the model's layout.
#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "inferlab/error.h"
#include "inferlab/preprocess_image.h"

namespace inferlab {

namespace {

cv::Mat as_mat(const Image& image) {
  // const_cast: the Mat header only reads; nothing below writes through it.
  return cv::Mat(image.height, image.width, image.channels == 1 ? CV_8UC1 : CV_8UC3,
                 const_cast<std::uint8_t*>(image.pixels.data()));
}

cv::Mat to_channel_order(const cv::Mat& bgr_or_gray, ChannelOrder order) {
  cv::Mat out;
  const bool gray = bgr_or_gray.channels() == 1;
  switch (order) {
    case ChannelOrder::kGray:
      if (gray) return bgr_or_gray;
      cv::cvtColor(bgr_or_gray, out, cv::COLOR_BGR2GRAY);
      return out;
    case ChannelOrder::kRgb:
      cv::cvtColor(bgr_or_gray, out, gray ? cv::COLOR_GRAY2RGB : cv::COLOR_BGR2RGB);
      return out;
    case ChannelOrder::kBgr:
      if (!gray) return bgr_or_gray;
      cv::cvtColor(bgr_or_gray, out, cv::COLOR_GRAY2BGR);
      return out;
  }
  return bgr_or_gray;
}

// torchvision's Resize(int): the shorter side becomes `target`, the longer
// one int(target * long / short); area interpolation when shrinking avoids
// the aliasing that plain bilinear would add.
cv::Mat resize_shorter(const cv::Mat& in, int target) {
  if (target <= 0) return in;
  const int shorter = std::min(in.cols, in.rows);
  if (shorter == target) return in;
  const double ratio = static_cast<double>(target) / shorter;
  const int width = in.cols <= in.rows ? target : static_cast<int>(in.cols * ratio);
  const int height = in.rows < in.cols ? target : static_cast<int>(in.rows * ratio);
  cv::Mat out;
  cv::resize(in, out, cv::Size(std::max(width, 1), std::max(height, 1)), 0, 0,
             ratio < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

// Center crop as torchvision does it (offset round((size - crop) / 2)); an
// image smaller than the crop is padded with zeros around the center.
cv::Mat center_crop(const cv::Mat& in, int height, int width) {
  if (in.rows == height && in.cols == width) return in;
  cv::Mat out = cv::Mat::zeros(height, width, in.type());
  const int top = static_cast<int>(std::lround((in.rows - height) / 2.0));
  const int left = static_cast<int>(std::lround((in.cols - width) / 2.0));
  const cv::Rect src = cv::Rect(left, top, width, height) & cv::Rect(0, 0, in.cols, in.rows);
  in(src).copyTo(out(cv::Rect(src.x - left, src.y - top, src.width, src.height)));
  return out;
}

}  // namespace

void preprocess_image(const Image& image, const Preprocess& p, float* sample) {
  if (image.empty()) throw Error("preprocess: empty image");
  const cv::Mat cropped =
      center_crop(resize_shorter(to_channel_order(as_mat(image), p.channel_order), p.resize_shorter_px),
                  p.crop_height_px, p.crop_width_px);
  const int channels = p.channels();
  const std::size_t plane = static_cast<std::size_t>(p.crop_height_px) * p.crop_width_px;
  float scale[3], offset[3];
  for (int c = 0; c < channels; ++c) {
    const float mean = p.mean.size() == 1 ? p.mean[0] : p.mean[c];
    const float std = p.std.size() == 1 ? p.std[0] : p.std[c];
    // (v * scale - mean) / std as one multiply-add per value.
    scale[c] = static_cast<float>(p.scale / std);
    offset[c] = -mean / std;
  }
  for (int y = 0; y < p.crop_height_px; ++y) {
    const std::uint8_t* row = cropped.ptr<std::uint8_t>(y);
    for (int x = 0; x < p.crop_width_px; ++x) {
      const std::size_t pixel = static_cast<std::size_t>(y) * p.crop_width_px + x;
      for (int c = 0; c < channels; ++c) {
        const float value = row[x * channels + c] * scale[c] + offset[c];
        sample[p.channels_last ? pixel * channels + c : c * plane + pixel] = value;
      }
    }
  }
}

Image make_thumbnail(const Image& image, int max_side_px) {
  if (image.empty()) return image;
  const double ratio = std::min(1.0, static_cast<double>(max_side_px) / std::max(image.width, image.height));
  if (ratio >= 1.0) return image;
  cv::Mat small;
  cv::resize(
      as_mat(image), small,
      cv::Size(std::max(1, static_cast<int>(image.width * ratio)), std::max(1, static_cast<int>(image.height * ratio))),
      0, 0, cv::INTER_AREA);
  Image out{small.cols, small.rows, small.channels(), {}};
  out.pixels.assign(small.datastart, small.dataend);
  return out;
}

}  // namespace inferlab
