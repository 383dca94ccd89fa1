#pragma once
/// @file rppg_model.h
/// The neural rPPG method: a model with the DeepPhys/TS-CAN-style contract of
/// docs/rppg.md, run through any backend's Session.
///
/// Contract: one float32 input `frames` of shape [N, 6, 36, 36] (NCHW);
/// channels 0-2 are the motion representation of a 36x36 RGB face crop,
/// 100 * (c_t - c_{t-1}) / (c_t + c_{t-1} + 1e-3), channels 3-5 the
/// appearance, c_t standardised over the crop; one output with one value per
/// sample, the first difference of the blood-volume pulse at frame t.

#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "inferlab/backend.h"
#include "inferlab/tensor.h"
#include "inferlab/zoo.h"

namespace inferlab {

/// Side of the square face crop the contract takes, in pixels.
constexpr int kRppgCropSide = 36;

/// Cuts the face box out of a BGR frame and returns the 36x36 RGB crop as
/// float32 in [0, 1] (CV_32FC3). Thread-safe (pure function).
cv::Mat rppg_face_crop(const cv::Mat& bgr, const cv::Rect& face);

/// Fills a [1, 6, 36, 36] float32 tensor from two consecutive crops, as the
/// contract says. Thread-safe (pure function; `input` is the caller's).
void fill_rppg_input(const cv::Mat& previous_crop, const cv::Mat& crop, Tensor& input);

/// A loaded rPPG model on one backend. Not thread-safe: one stage drives it.
class NeuralPulseModel {
 public:
  /// Loads `model` on backend `backend_name` and checks the contract (input
  /// shape, one output value). Throws Error (kBadInput) naming `model_flag`
  /// and the model argument when the model does not fit the contract or the
  /// backend cannot read it.
  NeuralPulseModel(const std::string& backend_name, const ResolvedModel& model, int threads,
                   const std::string& model_flag = "--model");

  /// Runs one frame pair; returns the model's pulse-difference output.
  double run(const cv::Mat& previous_crop, const cv::Mat& crop);

  const std::string& backend_name() const { return backend_name_; }
  /// Time the load (engine load + prepare) took, in milliseconds.
  double load_ms() const { return load_ms_; }

 private:
  std::string backend_name_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Session> session_;
  Tensor input_;
  Tensor output_;
  double load_ms_ = 0;
};

}  // namespace inferlab
