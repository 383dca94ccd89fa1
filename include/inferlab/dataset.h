#pragma once
/// @file dataset.h
/// Labelled image datasets for `inferlab accuracy` and calibration:
/// the built-in `digits` (OpenCV's digits.png), `imagenet:DIR` (the ILSVRC2012
/// validation layout) and `folder:DIR` (one sub-folder per class).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace inferlab {

/// A decoded 8-bit image, rows packed without padding. Owns its pixels.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;  ///< 1 (gray) or 3 (BGR, OpenCV's decode order)
  std::vector<std::uint8_t> pixels;
  bool empty() const { return pixels.empty(); }
};

/// A labelled image collection. Sample indices run 0..size()-1 in a fixed
/// order. decode() is safe to call from several threads at once; everything
/// else is immutable after construction.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// What the user typed, normalised, e.g. "digits:test" or "folder:/data/pets".
  virtual std::string name() const = 0;
  virtual std::size_t size() const = 0;
  /// Number of classes the dataset declares; -1 when the layout does not say
  /// (the val.txt form of imagenet:, whose labels are bare indices).
  virtual int class_count() const = 0;
  /// Class names by index (folder names, synset words); empty when unknown.
  virtual std::vector<std::string> class_names() const = 0;
  /// The label of sample `index` (0-based class index).
  virtual int label(std::size_t index) const = 0;
  /// A short identifier for reports: the file name, or "digit #123".
  virtual std::string sample_id(std::size_t index) const = 0;
  /// Decodes sample `index`. Returns an empty Image when the file cannot be
  /// decoded (corrupt or truncated): callers skip and count such samples.
  virtual Image decode(std::size_t index) const = 0;
  /// Largest label + 1 over all samples.
  int max_label_plus_one() const;
};

/// Where the built-in digits dataset reads digits.png: $INFERLAB_DIGITS_PNG,
/// else Debian opencv-doc's /usr/share/doc/opencv-doc/examples/data/digits.png.
std::string digits_png_path();

/// Opens a dataset from its command-line form:
///   `digits` or `digits:test` (1000 held-out digits), `digits:train` (4000),
///   `digits:all` (5000); `imagenet:DIR`; `folder:DIR`.
/// Throws Error (kBadInput) with one line starting "`flag` `spec`: " (the
/// command-line flag that named it, e.g. "--calib") and the problem: a
/// missing path, a folder without images, a label file naming missing files.
/// Files are checked to exist here; decoding happens later (decode()).
std::unique_ptr<Dataset> open_dataset(const std::string& spec, const std::string& flag = "--dataset");

/// The digits split shared with models/digits_cnn.py: per class, in class
/// order, a Fisher-Yates shuffle of the class's 500 cell indices driven by
/// splitmix64 seeded with kDigitsSplitSeed; the first 400 train, the last
/// 100 test. Returns the sorted indices (row-major cell order) of `part`
/// ("train", "test" or "all").
std::vector<std::size_t> digits_split(const std::string& part);

/// The seed of digits_split(); models/digits_cnn.py uses the same value.
inline constexpr std::uint64_t kDigitsSplitSeed = 20261124;

/// True when `path` has an image extension the loaders accept
/// (.jpg .jpeg .png .bmp .ppm .pgm .webp .tif .tiff, any case).
bool has_image_extension(const std::string& path);

}  // namespace inferlab
