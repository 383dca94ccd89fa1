#pragma once
/// @file contact_sheet.h
/// One PNG showing misclassified samples as a grid of thumbnails, each
/// captioned with its true and predicted label: the quickest way to see
/// whether failures are label noise, preprocessing bugs or real errors.
/// The samples are the ones run_accuracy() kept (accuracy.h).

#include <string>
#include <vector>

#include "inferlab/accuracy.h"

namespace inferlab {

/// Writes `samples` as a grid (8 per row) under a title line to `path` (PNG),
/// atomically. Labels are shown by name when `class_names` has them. Throws
/// Error when the file cannot be written. An empty `samples` writes a sheet
/// that says so.
void write_contact_sheet(const std::vector<Misclassified>& samples, const std::vector<std::string>& class_names,
                         const std::string& title, const std::string& path);

}  // namespace inferlab
