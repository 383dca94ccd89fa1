// Dispatch from the command-line form of a dataset to its loader, plus the
// helpers every loader shares.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <opencv2/imgcodecs.hpp>

#include "datasets_detail.h"
#include "inferlab/error.h"

namespace inferlab {

int Dataset::max_label_plus_one() const {
  int highest = -1;
  for (std::size_t i = 0; i < size(); ++i) highest = std::max(highest, label(i));
  return highest + 1;
}

bool has_image_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  static const char* const kExtensions[] = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".webp", ".tif", ".tiff"};
  return std::any_of(std::begin(kExtensions), std::end(kExtensions), [&](const char* e) { return ext == e; });
}

std::unique_ptr<Dataset> open_dataset(const std::string& spec, const std::string& flag) {
  const std::string where = flag + " " + spec;
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const std::string rest = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
  if (kind == "digits") return data_detail::open_digits(rest.empty() ? "test" : rest, where);
  if (kind == "imagenet" || kind == "folder") {
    if (rest.empty()) throw Error(where + ": give a directory, e.g. " + kind + ":/data/" + kind);
    std::error_code ec;
    if (!std::filesystem::exists(rest, ec)) throw Error(where + ": " + rest + ": no such directory");
    if (!std::filesystem::is_directory(rest, ec)) throw Error(where + ": " + rest + ": not a directory");
    return kind == "imagenet" ? data_detail::open_imagenet(rest, where) : data_detail::open_folder(rest, where);
  }
  throw Error(where + ": unknown dataset (expected digits, digits:train, imagenet:DIR or folder:DIR)");
}

namespace data_detail {

namespace {

bool is_jpeg(const std::vector<std::uint8_t>& bytes) {
  return bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

// libjpeg decodes a truncated file into a half-grey picture with only a
// warning; a missing end-of-image marker (FF D9 near the end) is the reliable sign.
bool jpeg_is_truncated(const std::vector<std::uint8_t>& bytes) {
  const std::size_t tail = std::min<std::size_t>(bytes.size(), 64);
  for (std::size_t i = bytes.size() - tail; i + 1 < bytes.size(); ++i) {
    if (bytes[i] == 0xFF && bytes[i + 1] == 0xD9) return false;
  }
  return true;
}

}  // namespace

Image decode_image_file(const std::string& path) {
  Image image;
  std::ifstream in(path, std::ios::binary);
  if (!in) return image;
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty() || (is_jpeg(bytes) && jpeg_is_truncated(bytes))) return image;
  // imdecode (unlike imread) logs nothing for undecodable bytes. IMREAD_ANYCOLOR
  // keeps gray images at one channel. A codec may still throw on odd data.
  cv::Mat mat;
  try {
    mat = cv::imdecode(bytes, cv::IMREAD_ANYCOLOR);
  } catch (const cv::Exception&) {
    return image;
  }
  if (mat.empty() || mat.depth() != CV_8U || (mat.channels() != 1 && mat.channels() != 3)) return image;
  image.width = mat.cols;
  image.height = mat.rows;
  image.channels = mat.channels();
  image.pixels.resize(static_cast<std::size_t>(mat.total()) * image.channels);
  const std::size_t row_bytes = static_cast<std::size_t>(mat.cols) * image.channels;
  for (int y = 0; y < mat.rows; ++y) std::copy_n(mat.ptr<std::uint8_t>(y), row_bytes, &image.pixels[y * row_bytes]);
  return image;
}

}  // namespace data_detail
}  // namespace inferlab
