#include "opencv_backend.h"

#include <chrono>
#include <cstring>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include "inferlab/error.h"

namespace inferlab {

namespace {

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

// OpenCV messages span several lines, embed "OpenCV(<version>) <source
// path>:<line>: error: " prefixes (sometimes nested) and end with the C++
// function name; users act on the description, so keep only that.
std::string first_line_of(const cv::Exception& e) {
  std::string text = e.err.empty() ? std::string(e.what()) : e.err;
  for (auto at = text.find("OpenCV("); at != std::string::npos; at = text.find("OpenCV(", at)) {
    const auto marker = text.find(" error: ", at);
    if (marker == std::string::npos) break;
    text.erase(at, marker + 8 - at);
  }
  if (const auto at = text.find(" in function '"); at != std::string::npos) text.erase(at);
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    line = trim(line);
    if (line.rfind("> ", 0) == 0) line = trim(line.substr(2));
    if (!line.empty()) return line;
  }
  return "unknown OpenCV error";
}

// Value of the first "  Key:   value" line of cv::getBuildInformation().
std::string build_value(const std::string& info, const std::string& key) {
  std::istringstream lines(info);
  std::string line;
  while (std::getline(lines, line)) {
    const std::string trimmed = trim(line);
    if (trimmed.rfind(key + ":", 0) == 0) return trim(trimmed.substr(key.size() + 1));
  }
  return "unknown";
}

// The ONNX importer logs each node it rejects to stderr before throwing; the
// Error thrown from load() carries the same message, and the CLI promises one
// line on stderr, so the log is silenced while a model is read.
class QuietOpenCvLog {
 public:
  QuietOpenCvLog() : previous_(cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT)) {}
  ~QuietOpenCvLog() { cv::utils::logging::setLogLevel(previous_); }
  QuietOpenCvLog(const QuietOpenCvLog&) = delete;
  QuietOpenCvLog& operator=(const QuietOpenCvLog&) = delete;

 private:
  cv::utils::logging::LogLevel previous_;
};

Shape shape_of(const cv::Mat& mat) {
  Shape shape;
  for (int i = 0; i < mat.dims; ++i) shape.push_back(mat.size[i]);
  return shape;
}

class OpenCvSession final : public Session {
 public:
  OpenCvSession(ModelSource model, cv::dnn::Net net, int threads)
      : model_(std::move(model)), net_(std::move(net)), threads_(threads) {}

  void prepare(const std::vector<Shape>& input_shapes) override {
    if (input_shapes.empty()) throw Error("opencv: prepare() needs at least one input shape");
    if (!model_.inputs.empty() && input_shapes.size() != model_.inputs.size()) {
      throw Error("opencv: model '" + model_.name + "' has " + std::to_string(model_.inputs.size()) + " inputs but " +
                  std::to_string(input_shapes.size()) + " shapes were given");
    }
    input_names_.clear();
    if (input_shapes.size() == 1 && model_.inputs.empty()) {
      // An empty name addresses the network's first input.
      input_names_.push_back("");
    } else {
      for (std::size_t i = 0; i < input_shapes.size(); ++i) {
        if (i >= model_.inputs.size() || model_.inputs[i].name.empty()) {
          throw Error("opencv: model '" + model_.name + "' has several inputs but their names are not declared");
        }
        input_names_.push_back(model_.inputs[i].name);
      }
    }

    cv::setNumThreads(threads_);
    blobs_.clear();
    input_bytes_.clear();
    for (const Shape& shape : input_shapes) {
      if (!shape_is_static(shape) || shape.empty()) {
        throw Error("opencv: input shape " + shape_to_string(shape) + " must be fully known");
      }
      std::vector<int> sizes(shape.begin(), shape.end());
      blobs_.emplace_back(static_cast<int>(sizes.size()), sizes.data(), CV_32F, cv::Scalar(0));
      input_bytes_.push_back(blobs_.back().total() * blobs_.back().elemSize());
    }

    output_names_ = net_.getUnconnectedOutLayersNames();
    try {
      for (std::size_t i = 0; i < blobs_.size(); ++i) net_.setInput(blobs_[i], input_names_[i]);
      net_.forward(outs_, output_names_);
    } catch (const cv::Exception& e) {
      throw Error("opencv: model '" + model_.name + "' rejected input shape " + shape_to_string(input_shapes[0]) +
                      ": " + first_line_of(e),
                  ErrorKind::kRuntime);
    }
    if (!model_.outputs.empty() && outs_.size() != model_.outputs.size()) {
      throw Error("opencv: model '" + model_.name + "' declares " + std::to_string(model_.outputs.size()) +
                      " outputs but OpenCV produced " + std::to_string(outs_.size()),
                  ErrorKind::kRuntime);
    }
    output_specs_.clear();
    for (std::size_t i = 0; i < outs_.size(); ++i) {
      if (outs_[i].type() != CV_32F) {
        throw Error("opencv: output " + std::to_string(i) + " of model '" + model_.name + "' is not float32",
                    ErrorKind::kRuntime);
      }
      TensorSpec spec;
      spec.name = i < model_.outputs.size() ? model_.outputs[i].name : output_names_[i];
      spec.dtype = DType::kFloat32;
      spec.shape = shape_of(outs_[i]);
      output_specs_.push_back(std::move(spec));
    }
  }

  std::vector<TensorSpec> output_specs() const override { return output_specs_; }

  void run(const std::vector<const Tensor*>& inputs, std::vector<Tensor*>& outputs) override {
    if (inputs.size() != blobs_.size() || outputs.size() != output_specs_.size()) {
      throw Error("opencv: run() got " + std::to_string(inputs.size()) + " inputs and " +
                  std::to_string(outputs.size()) + " outputs, prepared for " + std::to_string(blobs_.size()) + " and " +
                  std::to_string(output_specs_.size()));
    }
    try {
      for (std::size_t i = 0; i < blobs_.size(); ++i) {
        if (inputs[i]->dtype() != DType::kFloat32 || inputs[i]->size_bytes() != input_bytes_[i]) {
          throw Error("opencv: input " + std::to_string(i) + " is " + dtype_name(inputs[i]->dtype()) + " " +
                      shape_to_string(inputs[i]->shape()) + ", prepared for float32 with " +
                      std::to_string(input_bytes_[i]) + " bytes");
        }
        std::memcpy(blobs_[i].data, inputs[i]->data(), input_bytes_[i]);
        net_.setInput(blobs_[i], input_names_[i]);
      }
      const auto start = std::chrono::steady_clock::now();
      net_.forward(outs_, output_names_);
      if (profiling_) record_layer_times(start);
    } catch (const cv::Exception& e) {
      throw Error("opencv: forward failed for model '" + model_.name + "': " + first_line_of(e), ErrorKind::kRuntime);
    }
    for (std::size_t i = 0; i < outs_.size(); ++i) {
      const std::size_t bytes = outs_[i].total() * outs_[i].elemSize();
      if (!outs_[i].isContinuous() || bytes != outputs[i]->size_bytes()) {
        throw Error("opencv: output " + std::to_string(i) + " has " + std::to_string(bytes) +
                        " bytes, the caller's tensor " + std::to_string(outputs[i]->size_bytes()),
                    ErrorKind::kRuntime);
      }
      std::memcpy(outputs[i]->data(), outs_[i].data, bytes);
    }
  }

  bool set_profiling(bool on) override {
    profiling_ = on;
    layer_ms_.clear();
    events_.clear();
    profiled_runs_ = 0;
    profile_start_ = std::chrono::steady_clock::now();
    if (on) {
      // Layer ids run from 1 (0 is the network's input); names come in id order.
      layer_names_ = net_.getLayerNames();
      layer_types_.clear();
      for (std::size_t i = 0; i < layer_names_.size(); ++i)
        layer_types_.push_back(net_.getLayer(static_cast<int>(i + 1))->type);
      layer_ms_.assign(layer_names_.size(), 0.0);
    }
    return true;
  }

  SessionProfile profile() const override {
    SessionProfile p;
    p.runs = profiled_runs_;
    // Layers OpenCV fused into a neighbour report no time; they are left out.
    std::vector<std::int32_t> index_of(layer_ms_.size(), -1);
    std::size_t fused_away = 0;
    for (std::size_t i = 0; i < layer_ms_.size(); ++i) {
      if (layer_ms_[i] <= 0) {
        ++fused_away;
        continue;
      }
      index_of[i] = static_cast<std::int32_t>(p.layers.size());
      p.layers.push_back({layer_names_[i], layer_types_[i], "opencv:" + layer_types_[i], "", layer_ms_[i], p.runs});
    }
    for (const auto& e : events_) {
      if (index_of[static_cast<std::size_t>(e.layer)] >= 0)
        p.events.push_back({index_of[static_cast<std::size_t>(e.layer)], e.run, e.start_us, e.duration_us});
    }
    p.note =
        "opencv: Net::getPerfProfile per layer (durations only: the trace places layers back to back from the "
        "start of forward, in layer order); " +
        std::to_string(fused_away) + " layers fused into a neighbour report no time and are not listed";
    return p;
  }

  TimingBoundary timing_boundary() const override { return TimingBoundary::kWithCopies; }
  std::string timed_region_description() const override {
    return "input memcpy'd into the prepared cv::Mat blob, Net::setInput (OpenCV copies it into the network's "
           "input buffer), Net::forward on DNN_BACKEND_OPENCV/DNN_TARGET_CPU, outputs memcpy'd into the caller's "
           "tensors";
  }

 private:
  ModelSource model_;
  cv::dnn::Net net_;
  int threads_;
  std::vector<std::string> input_names_;
  std::vector<cv::Mat> blobs_;
  std::vector<std::size_t> input_bytes_;
  std::vector<std::string> output_names_;
  std::vector<cv::Mat> outs_;
  std::vector<TensorSpec> output_specs_;

  // Profile: OpenCV keeps only the last forward's per-layer ticks, so each
  // profiled run adds them up here.
  void record_layer_times(std::chrono::steady_clock::time_point forward_start) {
    std::vector<double> ticks;
    net_.getPerfProfile(ticks);
    const double ms_per_tick = 1000.0 / cv::getTickFrequency();
    double start_us = std::chrono::duration<double, std::micro>(forward_start - profile_start_).count();
    for (std::size_t i = 0; i < ticks.size() && i < layer_ms_.size(); ++i) {
      const double ms = ticks[i] * ms_per_tick;
      layer_ms_[i] += ms;
      if (profiled_runs_ < kTraceRuns)
        events_.push_back(
            {static_cast<std::int32_t>(i), static_cast<std::int32_t>(profiled_runs_), start_us, ms * 1e3});
      start_us += ms * 1e3;
    }
    ++profiled_runs_;
  }
  static constexpr std::int64_t kTraceRuns = 20;
  bool profiling_ = false;
  std::vector<std::string> layer_names_, layer_types_;
  std::vector<double> layer_ms_;
  std::vector<LayerEvent> events_;
  std::int64_t profiled_runs_ = 0;
  std::chrono::steady_clock::time_point profile_start_;
};

class OpenCvBackend final : public Backend {
 public:
  std::string name() const override { return "opencv"; }
  std::string version() const override { return CV_VERSION; }
  std::vector<std::string> devices() const override { return {"cpu"}; }

  std::map<std::string, std::string> build_info() const override {
    const std::string info = cv::getBuildInformation();
    return {
        {"parallel_framework", build_value(info, "Parallel framework")},
        {"cpu_baseline", build_value(info, "Baseline")},
        {"cpu_dispatch", build_value(info, "Dispatched code generation")},
        {"lapack", build_value(info, "Lapack")},
        {"dnn_target", "DNN_BACKEND_OPENCV / DNN_TARGET_CPU"},
    };
  }

  std::string threading_description(int threads) const override {
    return "cv::setNumThreads(" + std::to_string(threads) + ") on the " +
           build_value(cv::getBuildInformation(), "Parallel framework") +
           " parallel framework; DNN_BACKEND_OPENCV / DNN_TARGET_CPU";
  }

  ModelFormat format() const override { return ModelFormat::kOnnx; }

  SupportAnswer supports(const ModelSource& model, Precision precision) const override {
    if (model.format != ModelFormat::kOnnx) {
      return SupportAnswer::no("opencv reads ONNX models only (this one is " + model_format_name(model.format) + ")");
    }
    switch (precision) {
      case Precision::kFp32:
        return SupportAnswer::yes();
      case Precision::kFp16:
        return SupportAnswer::no(
            "OpenCV DNN's CPU target has no FP16 path (FP16 exists only for the OpenCL and CUDA targets)");
      case Precision::kBf16:
        return SupportAnswer::no("OpenCV DNN has no BF16 path on any target");
      case Precision::kInt8:
        return SupportAnswer::no(
            "int8 is not wired in this adapter (OpenCV 4.6 runs int8 only from a model already quantized to QDQ "
            "ONNX; use `inferlab optimize --int8` and run the result at fp32 precision)");
    }
    return SupportAnswer::no("unknown precision");
  }

  std::unique_ptr<Session> load(const ModelSource& model, const SessionOptions& options) override {
    check_load_preconditions(*this, model, options);
    cv::setNumThreads(options.intra_op_threads);
    try {
      const QuietOpenCvLog quiet;
      cv::dnn::Net net = cv::dnn::readNetFromONNX(model.path);
      if (net.empty()) throw Error("opencv: '" + model.path + "' holds no network", ErrorKind::kRuntime);
      net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
      return std::make_unique<OpenCvSession>(model, std::move(net), options.intra_op_threads);
    } catch (const cv::Exception& e) {
      throw Error("opencv: cannot load '" + model.path + "': " + first_line_of(e), ErrorKind::kRuntime);
    }
  }
};

}  // namespace

std::unique_ptr<Backend> make_opencv_backend() { return std::make_unique<OpenCvBackend>(); }

}  // namespace inferlab
