// The declarative half of preprocessing (parsing, defaults, checks); the
// pixel work is in src/data/preprocess_image.cpp, which needs OpenCV.
#include <cmath>
#include <sstream>

#include "inferlab/error.h"
#include "inferlab/preprocess.h"

namespace inferlab {

namespace {

std::string list_text(const std::vector<float>& values) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? " " : "") << values[i];
  out << ']';
  return out.str();
}

void check_per_channel(const std::vector<float>& values, int channels, const std::string& what,
                       const std::string& where) {
  if (values.size() != 1 && values.size() != static_cast<std::size_t>(channels)) {
    throw Error(where + ": preprocess " + what + " has " + std::to_string(values.size()) + " values for " +
                std::to_string(channels) + " channel(s)");
  }
}

// [N, C, H, W] or [N, H, W, C]: which axis holds the channels.
bool looks_channels_last(const TensorSpec& input) {
  if (input.layout == "NHWC") return true;
  if (input.layout == "NCHW") return false;
  const auto& s = input.shape;
  return s.size() == 4 && (s[3] == 1 || s[3] == 3) && !(s[1] == 1 || s[1] == 3);
}

}  // namespace

Shape Preprocess::sample_shape() const {
  if (channels_last) return {crop_height_px, crop_width_px, channels()};
  return {channels(), crop_height_px, crop_width_px};
}

std::string Preprocess::describe() const {
  std::ostringstream out;
  if (resize_shorter_px > 0) out << "resize " << resize_shorter_px << ", ";
  out << "crop " << crop_height_px << "x" << crop_width_px << ", " << channel_order_name(channel_order) << ", x"
      << scale << ", mean " << list_text(mean) << ", std " << list_text(std) << ", "
      << (channels_last ? "NHWC" : "NCHW");
  return out.str();
}

Preprocess preprocess_from_json(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) throw Error(where + ": \"preprocess\" must be an object");
  Preprocess p;
  try {
    p.resize_shorter_px = json.value("resize", 0);
    const nlohmann::json& crop = json.at("crop");
    if (crop.is_array()) {
      p.crop_height_px = crop.at(0).get<int>();
      p.crop_width_px = crop.at(1).get<int>();
    } else {
      p.crop_height_px = p.crop_width_px = crop.get<int>();
    }
    p.scale = json.value("scale", 1.0 / 255.0);
    p.mean = json.value("mean", std::vector<float>{0.0F});
    p.std = json.value("std", std::vector<float>{1.0F});
    const std::string order = json.value("channel_order", std::string("RGB"));
    if (order == "RGB") {
      p.channel_order = ChannelOrder::kRgb;
    } else if (order == "BGR") {
      p.channel_order = ChannelOrder::kBgr;
    } else if (order == "GRAY") {
      p.channel_order = ChannelOrder::kGray;
    } else {
      throw Error(where + ": preprocess channel_order '" + order + "' (expected RGB, BGR or GRAY)");
    }
    const std::string layout = json.value("layout", std::string("NCHW"));
    if (layout != "NCHW" && layout != "NHWC") throw Error(where + ": preprocess layout '" + layout + "'");
    p.channels_last = layout == "NHWC";
    const std::string dtype = json.value("dtype", std::string("float32"));
    if (dtype != "float32") throw Error(where + ": preprocess dtype '" + dtype + "' (only float32 is fed)");
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": malformed \"preprocess\": " + e.what());
  }
  if (p.crop_height_px <= 0 || p.crop_width_px <= 0 || p.resize_shorter_px < 0) {
    throw Error(where + ": preprocess crop must be > 0 and resize >= 0");
  }
  check_per_channel(p.mean, p.channels(), "mean", where);
  check_per_channel(p.std, p.channels(), "std", where);
  for (float s : p.std) {
    if (!(s > 0)) throw Error(where + ": preprocess std values must be > 0");
  }
  return p;
}

Preprocess default_preprocess_for(const TensorSpec& input, const std::string& model_name) {
  const Shape& s = input.shape;
  const bool last = looks_channels_last(input);
  const std::int64_t c = s.size() == 4 ? (last ? s[3] : s[1]) : 0;
  const std::int64_t h = s.size() == 4 ? (last ? s[1] : s[2]) : 0;
  const std::int64_t w = s.size() == 4 ? (last ? s[2] : s[3]) : 0;
  if (s.size() != 4 || (c != 1 && c != 3) || h <= 0 || w <= 0) {
    throw Error(model_name + ": input '" + input.name + "' " + shape_to_string(s) +
                " is not an image batch [N,C,H,W] or [N,H,W,C] with 1 or 3 channels; accuracy needs one");
  }
  Preprocess p;
  p.crop_height_px = static_cast<int>(h);
  p.crop_width_px = static_cast<int>(w);
  p.channels_last = last;
  if (c == 3) {
    p.resize_shorter_px = static_cast<int>(std::lround(std::min(h, w) * 256.0 / 224.0));
    p.mean = {0.485F, 0.456F, 0.406F};
    p.std = {0.229F, 0.224F, 0.225F};
    p.channel_order = ChannelOrder::kRgb;
  } else {
    p.resize_shorter_px = static_cast<int>(std::min(h, w));
    p.mean = {0.0F};
    p.std = {1.0F};
    p.channel_order = ChannelOrder::kGray;
  }
  return p;
}

void check_preprocess_matches(const Preprocess& preprocess, const TensorSpec& input, const std::string& model_name) {
  const Shape& s = input.shape;
  const Shape sample = preprocess.sample_shape();
  bool match = s.size() == 4;
  for (std::size_t i = 0; match && i < 3; ++i) match = s[i + 1] == sample[i];
  if (!match) {
    throw Error(model_name + ": input '" + input.name + "' takes " + shape_to_string(s) +
                " but the preprocessing produces " + shape_to_string(sample) + " per sample (" + preprocess.describe() +
                ")");
  }
}

std::string channel_order_name(ChannelOrder order) {
  switch (order) {
    case ChannelOrder::kRgb:
      return "RGB";
    case ChannelOrder::kBgr:
      return "BGR";
    case ChannelOrder::kGray:
      return "GRAY";
  }
  return "RGB";
}

}  // namespace inferlab
