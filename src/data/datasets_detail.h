#pragma once
// Shared by the dataset loaders in src/data: file decoding and the factory
// functions open_dataset() dispatches to.

#include <memory>
#include <string>

#include "inferlab/dataset.h"

namespace inferlab::data_detail {

/// Decodes an image file with OpenCV (gray stays 1 channel, colour becomes
/// BGR, alpha is dropped). Empty when the file cannot be read or decoded.
Image decode_image_file(const std::string& path);

std::unique_ptr<Dataset> open_digits(const std::string& part, const std::string& where);
std::unique_ptr<Dataset> open_imagenet(const std::string& dir, const std::string& where);
std::unique_ptr<Dataset> open_folder(const std::string& dir, const std::string& where);

}  // namespace inferlab::data_detail
