#pragma once
/// @file contact_sheet.h
/// One PNG showing misclassified samples as a grid of thumbnails, each
/// captioned with its true and predicted label: the quickest way to see
/// whether failures are label noise, preprocessing bugs or real errors.

#include <string>
#include <vector>

#include "inferlab/dataset.h"

namespace inferlab {

/// A sample a model got wrong.
struct Misclassified {
  Image thumbnail;    ///< small copy of the decoded image (see make_thumbnail)
  std::string id;     ///< sample id (file name or "digit #123")
  int label = 0;      ///< true class index
  int predicted = 0;  ///< the model's top-1 class index
};

/// Writes `samples` as a grid (8 per row) under a title line to `path` (PNG),
/// atomically. Labels are shown by name when `class_names` has them. Throws
/// Error when the file cannot be written. An empty `samples` writes a sheet
/// that says so.
void write_contact_sheet(const std::vector<Misclassified>& samples, const std::vector<std::string>& class_names,
                         const std::string& title, const std::string& path);

}  // namespace inferlab
