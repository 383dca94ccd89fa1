#pragma once
/// @file preprocess.h
/// Image preprocessing as a model manifest declares it ("preprocess" in
/// manifest.json: resize, center crop, scale, mean/std, channel order,
/// layout, dtype), applied by inferlab once and identically for every backend
/// (the pixel work is preprocess_image.h's).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferlab/tensor.h"

namespace inferlab {

/// The channel order a model expects.
enum class ChannelOrder { kRgb, kBgr, kGray };

/// "RGB", "BGR" or "GRAY": the manifest's and the file metadata's spelling.
std::string channel_order_name(ChannelOrder order);

/// One model's preprocessing. Plain data; copyable.
struct Preprocess {
  int resize_shorter_px = 0;   ///< resize so the shorter side has this length (aspect kept); 0: no resize
  int crop_height_px = 0;      ///< center crop height (= the model input's H)
  int crop_width_px = 0;       ///< center crop width (= the model input's W)
  double scale = 1.0 / 255.0;  ///< applied to 0..255 pixel values before mean/std
  std::vector<float> mean;     ///< per channel (after scale); one value or one per channel
  std::vector<float> std;      ///< per channel; one value or one per channel; all > 0
  ChannelOrder channel_order = ChannelOrder::kRgb;
  bool channels_last = false;  ///< NHWC instead of NCHW

  int channels() const { return channel_order == ChannelOrder::kGray ? 1 : 3; }
  /// The shape of one preprocessed sample: {C, H, W} or {H, W, C}.
  Shape sample_shape() const;
  /// One line, e.g. "resize 256, crop 224x224, RGB, x1/255, mean [0.485 0.456 0.406], std [...], NCHW".
  std::string describe() const;
};

/// Parses a manifest's "preprocess" object (models/README.md). `where` names
/// the file in errors. Throws Error (kBadInput) on a malformed object.
Preprocess preprocess_from_json(const nlohmann::json& json, const std::string& where);

/// What a model without a declared preprocessing gets, derived from its
/// input spec ([N, C, H, W] or [N, H, W, C]): 3 channels take torchvision's
/// ImageNet recipe (resize H*256/224, crop, RGB, ImageNet mean/std); 1 channel
/// takes gray, x1/255, no normalisation. Throws Error when the input is not an image.
Preprocess default_preprocess_for(const TensorSpec& input, const std::string& model_name);

/// Throws Error (kBadInput) naming both shapes when `preprocess` does not
/// produce what `input` takes (channels, height, width, layout).
void check_preprocess_matches(const Preprocess& preprocess, const TensorSpec& input, const std::string& model_name);

}  // namespace inferlab
