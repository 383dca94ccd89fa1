// The built-in digits dataset: OpenCV's digits.png, 5000 handwritten digits of
// 20x20 pixels in a 100x50 grid, every five rows one class.
#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <opencv2/core.hpp>

#include "datasets_detail.h"
#include "inferlab/error.h"
#include "inferlab/tensor.h"

namespace inferlab {

namespace {

constexpr int kCellPixels = 20;
constexpr int kGridColumns = 100;
constexpr int kGridRows = 50;
constexpr int kClasses = 10;
constexpr std::size_t kPerClass = 500;
constexpr std::size_t kTrainPerClass = 400;

class DigitsDataset final : public Dataset {
 public:
  DigitsDataset(std::string name, Image grid, std::vector<std::size_t> cells)
      : name_(std::move(name)), grid_(std::move(grid)), cells_(std::move(cells)) {}

  std::string name() const override { return name_; }
  std::size_t size() const override { return cells_.size(); }
  int class_count() const override { return kClasses; }
  std::vector<std::string> class_names() const override {
    std::vector<std::string> names;
    for (int c = 0; c < kClasses; ++c) names.push_back(std::to_string(c));
    return names;
  }
  int label(std::size_t index) const override { return static_cast<int>(cells_.at(index) / kPerClass); }
  std::string sample_id(std::size_t index) const override { return "digit #" + std::to_string(cells_.at(index)); }

  Image decode(std::size_t index) const override {
    const std::size_t cell = cells_.at(index);
    const std::size_t top = (cell / kGridColumns) * kCellPixels;
    const std::size_t left = (cell % kGridColumns) * kCellPixels;
    Image image{kCellPixels, kCellPixels, 1, std::vector<std::uint8_t>(kCellPixels * kCellPixels)};
    for (int y = 0; y < kCellPixels; ++y) {
      const std::uint8_t* row = &grid_.pixels[(top + y) * grid_.width + left];
      std::copy_n(row, kCellPixels, &image.pixels[y * kCellPixels]);
    }
    return image;
  }

 private:
  std::string name_;
  Image grid_;
  std::vector<std::size_t> cells_;
};

}  // namespace

std::string digits_png_path() {
  const char* override_path = std::getenv("INFERLAB_DIGITS_PNG");
  if (override_path != nullptr && *override_path != '\0') return override_path;
  return "/usr/share/doc/opencv-doc/examples/data/digits.png";
}

std::vector<std::size_t> digits_split(const std::string& part) {
  if (part != "train" && part != "test" && part != "all") {
    throw Error("digits:" + part + ": unknown part (expected train, test or all)");
  }
  std::vector<std::size_t> picked;
  std::uint64_t state = kDigitsSplitSeed;
  for (std::size_t label = 0; label < kClasses; ++label) {
    std::vector<std::size_t> order(kPerClass);
    for (std::size_t i = 0; i < kPerClass; ++i) order[i] = label * kPerClass + i;
    for (std::size_t i = kPerClass - 1; i > 0; --i) std::swap(order[i], order[splitmix64_next(state) % (i + 1)]);
    const auto split = order.begin() + kTrainPerClass;
    if (part != "test") picked.insert(picked.end(), order.begin(), split);
    if (part != "train") picked.insert(picked.end(), split, order.end());
  }
  std::sort(picked.begin(), picked.end());
  return picked;
}

namespace data_detail {

std::unique_ptr<Dataset> open_digits(const std::string& part, const std::string& where) {
  std::vector<std::size_t> cells;
  try {
    cells = digits_split(part);
  } catch (const Error& e) {
    throw Error(where + ": unknown digits part '" + part + "' (expected train, test or all)");
  }
  const std::string path = digits_png_path();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error(where + ": " + path + " not found (install Debian's opencv-doc or set INFERLAB_DIGITS_PNG)");
  }
  Image grid = decode_image_file(path);
  if (grid.empty()) throw Error(where + ": " + path + ": cannot decode the image");
  if (grid.channels != 1 || grid.width != kGridColumns * kCellPixels || grid.height != kGridRows * kCellPixels) {
    throw Error(where + ": " + path + ": expected a 2000x1000 gray image, got " + std::to_string(grid.width) + "x" +
                std::to_string(grid.height) + "x" + std::to_string(grid.channels));
  }
  return std::make_unique<DigitsDataset>("digits:" + part, std::move(grid), std::move(cells));
}

}  // namespace data_detail
}  // namespace inferlab
