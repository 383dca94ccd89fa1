#pragma once
/// @file preprocess_image.h
/// The pixel work of preprocessing: a decoded image (dataset.h) made into
/// one model-input sample as its Preprocess (preprocess.h) says, and the
/// thumbnails contact sheets show. The resizing is OpenCV's (inferlab_data).

#include "inferlab/dataset.h"
#include "inferlab/preprocess.h"

namespace inferlab {

/// Preprocesses `image` into `sample` (preprocess.sample_shape() floats).
/// Thread-safe (no shared state). Throws Error for an empty image.
void preprocess_image(const Image& image, const Preprocess& preprocess, float* sample);

/// A small copy of `image` (longest side <= `max_side_px`) for contact sheets.
Image make_thumbnail(const Image& image, int max_side_px);

}  // namespace inferlab
