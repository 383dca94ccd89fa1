#include <chrono>

#include <opencv2/imgproc.hpp>

#include "inferlab/error.h"
#include "inferlab/registry.h"
#include "inferlab/rppg_model.h"

namespace inferlab {

namespace {

const Shape kContractShape{1, 6, kRppgCropSide, kRppgCropSide};

bool fits_contract(const Shape& shape) {
  if (shape.size() != 4) return false;
  for (std::size_t i = 1; i < 4; ++i) {
    if (shape[i] != kContractShape[i]) return false;
  }
  return shape[0] == -1 || shape[0] >= 1;
}

}  // namespace

cv::Mat rppg_face_crop(const cv::Mat& bgr, const cv::Rect& face) {
  const cv::Rect box = face & cv::Rect(0, 0, bgr.cols, bgr.rows);
  cv::Mat small, rgb, out;
  cv::resize(bgr(box), small, cv::Size(kRppgCropSide, kRppgCropSide), 0, 0, cv::INTER_AREA);
  cv::cvtColor(small, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(out, CV_32FC3, 1.0 / 255.0);
  return out;
}

void fill_rppg_input(const cv::Mat& previous_crop, const cv::Mat& crop, Tensor& input) {
  constexpr int kPlane = kRppgCropSide * kRppgCropSide;
  float* data = input.data_as<float>();
  cv::Scalar mean, stddev;
  cv::meanStdDev(crop.reshape(1), mean, stddev);
  const float scale = 1.0f / static_cast<float>(stddev[0] + 1e-6);
  for (int y = 0; y < kRppgCropSide; ++y) {
    const auto* cur = crop.ptr<cv::Vec3f>(y);
    const auto* prev = previous_crop.ptr<cv::Vec3f>(y);
    for (int x = 0; x < kRppgCropSide; ++x) {
      const int at = y * kRppgCropSide + x;
      for (int c = 0; c < 3; ++c) {
        data[c * kPlane + at] = 100.0f * (cur[x][c] - prev[x][c]) / (cur[x][c] + prev[x][c] + 1e-3f);
        data[(3 + c) * kPlane + at] = (cur[x][c] - static_cast<float>(mean[0])) * scale;
      }
    }
  }
}

NeuralPulseModel::NeuralPulseModel(const std::string& backend_name, const ResolvedModel& model, int threads,
                                   const std::string& model_flag)
    : backend_name_(backend_name) {
  const auto start = std::chrono::steady_clock::now();
  const std::string who = model_flag + " " + model.argument;
  backend_ = create_backend(backend_name);
  if (backend_name == "null") throw Error("--backend null runs no model: it cannot drive the neural method");
  ModelSource source = model.source_for(backend_->format());
  if (source.path.empty()) {
    throw Error(who + ": has no " + model_format_name(backend_->format()) + " file, which backend '" + backend_name +
                "' reads");
  }
  if (source.inputs.size() > 1 || source.outputs.size() > 1) {
    throw Error(who + ": has " + std::to_string(source.inputs.size()) + " inputs and " +
                std::to_string(source.outputs.size()) +
                " outputs; the rPPG contract is one input Nx6x36x36 and one output (docs/rppg.md)");
  }
  if (!source.inputs.empty()) {
    const TensorSpec& in = source.inputs.front();
    if (in.dtype != DType::kFloat32 || !fits_contract(in.shape)) {
      throw Error(who + ": input '" + in.name + "' is " + dtype_name(in.dtype) + " " + shape_to_string(in.shape) +
                  "; the rPPG contract needs float32 Nx6x36x36 (docs/rppg.md)");
    }
  } else {
    source.inputs.push_back({"frames", DType::kFloat32, {-1, 6, kRppgCropSide, kRppgCropSide}, "NCHW"});
  }
  SessionOptions options;
  options.intra_op_threads = threads;
  session_ = backend_->load(source, options);
  try {
    session_->prepare({kContractShape});
  } catch (const Error& e) {
    throw Error(who + ": does not accept a 1x6x36x36 input (" + e.what() + ")");
  }
  const auto outputs = session_->output_specs();
  if (outputs.size() != 1 || shape_element_count(outputs[0].shape) != 1 || outputs[0].dtype != DType::kFloat32) {
    throw Error(who + ": output is " + (outputs.empty() ? std::string("missing") : shape_to_string(outputs[0].shape)) +
                "; the rPPG contract needs one float32 value per sample (docs/rppg.md)");
  }
  input_ = Tensor(DType::kFloat32, kContractShape);
  output_ = Tensor(DType::kFloat32, outputs[0].shape);
  load_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

double NeuralPulseModel::run(const cv::Mat& previous_crop, const cv::Mat& crop) {
  fill_rppg_input(previous_crop, crop, input_);
  std::vector<const Tensor*> inputs{&input_};
  std::vector<Tensor*> outputs{&output_};
  session_->run(inputs, outputs);
  return static_cast<double>(output_.data_as<float>()[0]);
}

}  // namespace inferlab
