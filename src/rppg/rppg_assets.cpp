#include "inferlab/rppg_assets.h"

#include <cstdlib>

namespace inferlab {

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

std::string face_cascade_path() {
  return env_or("INFERLAB_FACE_CASCADE", "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml");
}

std::string face_photo_path() {
  return env_or("INFERLAB_FACE_PHOTO", "/usr/share/doc/opencv-doc/examples/data/messi5.jpg");
}

}  // namespace inferlab
