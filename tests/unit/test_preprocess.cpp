// Preprocessing: manifest parsing, derived defaults, the size check that must
// name both shapes, and the pixel arithmetic against hand-computed values.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "inferlab/error.h"
#include "inferlab/preprocess_image.h"

namespace inferlab {
namespace {

Image gray(int width, int height, std::vector<std::uint8_t> pixels) {
  return Image{width, height, 1, std::move(pixels)};
}

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PreprocessSpec, ParsesTheManifestForm) {
  const auto json = nlohmann::json::parse(R"({"resize": 256, "crop": 224, "mean": [0.485, 0.456, 0.406],
      "std": [0.229, 0.224, 0.225], "channel_order": "RGB", "layout": "NCHW", "dtype": "float32", "scale": 0.00392156862745098})");
  const Preprocess p = preprocess_from_json(json, "m.json");
  EXPECT_EQ(p.resize_shorter_px, 256);
  EXPECT_EQ(p.crop_height_px, 224);
  EXPECT_EQ(p.channels(), 3);
  EXPECT_EQ(p.sample_shape(), (Shape{3, 224, 224}));
  EXPECT_NE(p.describe().find("resize 256, crop 224x224, RGB"), std::string::npos) << p.describe();
}

TEST(PreprocessSpec, RejectsMalformedObjects) {
  auto bad = [](const char* text) {
    return error_text([&] { preprocess_from_json(nlohmann::json::parse(text), "m.json"); });
  };
  EXPECT_NE(bad(R"({"crop": 20, "channel_order": "YUV"})").find("channel_order 'YUV'"), std::string::npos);
  EXPECT_NE(bad(R"({"crop": 20, "mean": [0.1, 0.2]})").find("mean has 2 values for 3 channel(s)"), std::string::npos);
  EXPECT_NE(bad(R"({"crop": 20, "std": [0]})").find("std values must be > 0"), std::string::npos);
  EXPECT_NE(bad(R"({"resize": 20})").find("m.json: malformed"), std::string::npos);
  EXPECT_NE(bad(R"({"crop": 20, "dtype": "uint8"})").find("only float32"), std::string::npos);
}

TEST(PreprocessSpec, DefaultsFollowTheInput) {
  const Preprocess rgb = default_preprocess_for({"input", DType::kFloat32, {-1, 3, 224, 224}, ""}, "m");
  EXPECT_EQ(rgb.resize_shorter_px, 256);
  EXPECT_EQ(rgb.channel_order, ChannelOrder::kRgb);
  const Preprocess nhwc = default_preprocess_for({"input", DType::kFloat32, {-1, 28, 28, 1}, ""}, "m");
  EXPECT_TRUE(nhwc.channels_last);
  EXPECT_EQ(nhwc.channel_order, ChannelOrder::kGray);
  EXPECT_EQ(nhwc.sample_shape(), (Shape{28, 28, 1}));
  EXPECT_THROW(default_preprocess_for({"tokens", DType::kFloat32, {-1, 128}, ""}, "m"), Error);
}

TEST(PreprocessSpec, SizeMismatchNamesBothShapes) {
  Preprocess p = default_preprocess_for({"input", DType::kFloat32, {-1, 1, 20, 20}, ""}, "digits_cnn");
  p.crop_height_px = p.crop_width_px = 28;
  const std::string message = error_text([&] {
    check_preprocess_matches(p, {"input", DType::kFloat32, {-1, 1, 20, 20}, ""}, "digits_cnn");
  });
  EXPECT_NE(message.find("takes ?x1x20x20"), std::string::npos) << message;
  EXPECT_NE(message.find("produces 1x28x28"), std::string::npos) << message;
}

TEST(PreprocessImage, NormalisesEveryPixel) {
  Preprocess p;
  p.crop_height_px = 1;
  p.crop_width_px = 2;
  p.channel_order = ChannelOrder::kGray;
  p.scale = 1.0 / 255.0;
  p.mean = {0.5F};
  p.std = {0.5F};
  float out[2];
  preprocess_image(gray(2, 1, {0, 255}), p, out);
  EXPECT_FLOAT_EQ(out[0], -1.0F);
  EXPECT_FLOAT_EQ(out[1], 1.0F);
}

TEST(PreprocessImage, ColourOrderAndLayout) {
  // One BGR pixel (b=10, g=20, r=30), scale 1, no normalisation.
  Image bgr{1, 1, 3, {10, 20, 30}};
  Preprocess p;
  p.crop_height_px = p.crop_width_px = 1;
  p.scale = 1.0;
  p.mean = {0.0F};
  p.std = {1.0F};
  float out[3];
  p.channel_order = ChannelOrder::kRgb;
  preprocess_image(bgr, p, out);
  EXPECT_EQ((std::vector<float>{out[0], out[1], out[2]}), (std::vector<float>{30, 20, 10}));
  p.channel_order = ChannelOrder::kBgr;
  preprocess_image(bgr, p, out);
  EXPECT_EQ((std::vector<float>{out[0], out[1], out[2]}), (std::vector<float>{10, 20, 30}));
  // Gray input to an RGB model: all channels equal.
  p.channel_order = ChannelOrder::kRgb;
  preprocess_image(gray(1, 1, {77}), p, out);
  EXPECT_EQ((std::vector<float>{out[0], out[1], out[2]}), (std::vector<float>{77, 77, 77}));
}

TEST(PreprocessImage, PlanarVersusInterleaved) {
  Image bgr{2, 1, 3, {1, 2, 3, 4, 5, 6}};  // two pixels
  Preprocess p;
  p.crop_height_px = 1;
  p.crop_width_px = 2;
  p.scale = 1.0;
  p.mean = {0.0F};
  p.std = {1.0F};
  p.channel_order = ChannelOrder::kBgr;
  float out[6];
  preprocess_image(bgr, p, out);
  EXPECT_EQ((std::vector<float>(out, out + 6)), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  p.channels_last = true;
  preprocess_image(bgr, p, out);
  EXPECT_EQ((std::vector<float>(out, out + 6)), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(PreprocessImage, CenterCropAndPadding) {
  // 4x1 row 0,1,2,3: a 2-wide center crop keeps 1,2.
  Preprocess p;
  p.crop_height_px = 1;
  p.crop_width_px = 2;
  p.channel_order = ChannelOrder::kGray;
  p.scale = 1.0;
  p.mean = {0.0F};
  p.std = {1.0F};
  float out[4];
  preprocess_image(gray(4, 1, {0, 1, 2, 3}), p, out);
  EXPECT_EQ((std::vector<float>{out[0], out[1]}), (std::vector<float>{1, 2}));
  // A crop larger than the image pads with zeros around it.
  p.crop_width_px = 4;
  preprocess_image(gray(2, 1, {5, 6}), p, out);
  EXPECT_EQ((std::vector<float>(out, out + 4)), (std::vector<float>{0, 5, 6, 0}));
}

TEST(PreprocessImage, ResizeKeepsTheAspectOfTheShorterSide) {
  // 8x4 uniform image resized so the shorter side is 2: 4x2, then cropped 2x2.
  Preprocess p;
  p.resize_shorter_px = 2;
  p.crop_height_px = p.crop_width_px = 2;
  p.channel_order = ChannelOrder::kGray;
  p.scale = 1.0;
  p.mean = {0.0F};
  p.std = {1.0F};
  float out[4];
  preprocess_image(gray(8, 4, std::vector<std::uint8_t>(32, 100)), p, out);
  for (float v : out) EXPECT_FLOAT_EQ(v, 100.0F);
  const Image thumb = make_thumbnail(gray(8, 4, std::vector<std::uint8_t>(32, 100)), 4);
  EXPECT_EQ(thumb.width, 4);
  EXPECT_EQ(thumb.height, 2);
  EXPECT_THROW(preprocess_image(Image{}, p, out), Error);
}

}  // namespace
}  // namespace inferlab
