#pragma once
/// @file rppg_assets.h
/// Files the rPPG pipeline reads from Debian packages (opencv-data, opencv-doc).

#include <string>

namespace inferlab {

/// The frontal-face Haar cascade: $INFERLAB_FACE_CASCADE, else
/// /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml (opencv-data).
std::string face_cascade_path();

/// The photo the synthetic source animates: $INFERLAB_FACE_PHOTO, else
/// /usr/share/doc/opencv-doc/examples/data/messi5.jpg (opencv-doc).
std::string face_photo_path();

}  // namespace inferlab
