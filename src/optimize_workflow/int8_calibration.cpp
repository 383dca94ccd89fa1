#include "optimize_workflow/int8_calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "inferlab/batch_loader.h"
#include "inferlab/error.h"
#include "optimize_workflow/graph_runner.h"

namespace inferlab {

namespace {

// Elements of the real (non-padding) samples at the front of a batched output.
std::size_t valid_elements(const Tensor& t, std::size_t valid, std::size_t batch) {
  return static_cast<std::size_t>(t.element_count()) / batch * valid;
}

std::size_t index_of(const std::vector<TensorSpec>& specs, const std::string& name) {
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].name == name) return i;
  }
  throw Error("calibration: the engine returned no output '" + name + "'", ErrorKind::kRuntime);
}

// The model's first output over the first calibration batches holding at
// least `samples` samples, padding dropped: what SQNR is measured on.
class OutputSampler {
 public:
  OutputSampler(const CalibrationData& data, std::size_t samples)
      : data_(data), batch_(static_cast<std::size_t>(data.batch_shape.at(0))) {
    std::size_t counted = 0;
    while (batches_ < data.batches.size() && counted < samples) counted += data.valid[batches_++];
  }
  std::vector<float> outputs(GraphRunner& runner) const {
    std::vector<float> values;
    for (std::size_t b = 0; b < batches_; ++b) {
      const Tensor& t = runner.run(data_.batches[b]).at(0);
      const std::size_t n = valid_elements(t, data_.valid[b], batch_);
      values.insert(values.end(), t.data_as<float>(), t.data_as<float>() + n);
    }
    return values;
  }

 private:
  const CalibrationData& data_;
  std::size_t batch_;
  std::size_t batches_ = 0;
};

}  // namespace

CalibrationData load_calibration_data(const Dataset& dataset, const Preprocess& preprocess, const TensorSpec& input,
                                      const Shape& batch_shape, std::size_t count) {
  CalibrationData data;
  data.input = input;
  data.batch_shape = batch_shape;
  LoaderOptions options;
  options.batch = batch_shape.at(0);
  options.limit = count;
  BatchLoader loader(dataset, preprocess, options);
  while (auto batch = loader.next()) {
    if (batch->valid == 0) continue;
    if (batch->input.shape() != batch_shape)
      throw Error("--calib " + dataset.name() + ": preprocessing gives " + shape_to_string(batch->input.shape()) +
                      " but the model takes " + shape_to_string(batch_shape),
                  ErrorKind::kBadInput);
    data.valid.push_back(batch->valid);
    data.batches.push_back(std::move(batch->input));
  }
  if (data.batches.empty())
    throw Error("--calib " + dataset.name() + ": no sample could be decoded", ErrorKind::kBadInput);
  return data;
}

std::vector<ActivationHistogram> activation_statistics(const OnnxGraph& graph,
                                                       const std::vector<std::string>& activations,
                                                       const CalibrationData& data, bool histogram,
                                                       const std::string& backend, int threads) {
  const OnnxGraph probe = with_extra_outputs(graph, activations);
  GraphRunner runner(probe, backend, data.input, data.batch_shape, threads);
  std::vector<std::size_t> slots;
  for (const auto& name : activations) slots.push_back(index_of(runner.output_specs(), name));
  std::vector<ActivationHistogram> stats(activations.size());
  const auto batch = static_cast<std::size_t>(data.batch_shape.at(0));
  const int passes = histogram ? 2 : 1;
  for (int pass = 0; pass < passes; ++pass) {
    for (std::size_t b = 0; b < data.batches.size(); ++b) {
      const auto& outputs = runner.run(data.batches[b]);
      for (std::size_t a = 0; a < activations.size(); ++a) {
        const Tensor& t = outputs[slots[a]];
        if (t.dtype() != DType::kFloat32)
          throw Error("calibration: activation '" + activations[a] + "' is " + dtype_name(t.dtype()) + ", not float32",
                      ErrorKind::kRuntime);
        const std::size_t n = valid_elements(t, data.valid[b], batch);
        if (pass == 0) {
          stats[a].observe_range(t.data_as<float>(), n);
        } else {
          stats[a].observe_histogram(t.data_as<float>(), n);
        }
      }
    }
  }
  return stats;
}

std::map<std::string, ActivationRange> activation_ranges(const std::vector<std::string>& activations,
                                                         const std::vector<ActivationHistogram>& stats,
                                                         Calibrator calibrator, double percentile) {
  std::map<std::string, ActivationRange> ranges;
  for (std::size_t a = 0; a < activations.size(); ++a) {
    ActivationRange r;
    r.non_negative = stats[a].min() >= 0;
    r.threshold = calibration_threshold(stats[a], calibrator, percentile, r.non_negative);
    ranges[activations[a]] = r;
  }
  return ranges;
}

std::map<std::string, ActivationRange> calibrate_activations(const OnnxGraph& graph,
                                                             const std::vector<std::string>& activations,
                                                             const CalibrationData& data, Calibrator calibrator,
                                                             double percentile, const std::string& backend,
                                                             int threads) {
  const auto stats =
      activation_statistics(graph, activations, data, calibrator != Calibrator::kMinMax, backend, threads);
  return activation_ranges(activations, stats, calibrator, percentile);
}

std::vector<ActivationCalibration> choose_calibrators(const OnnxGraph& graph,
                                                      const std::vector<std::string>& activations,
                                                      const std::vector<ActivationHistogram>& stats, double percentile,
                                                      const CalibrationData& data, std::size_t samples,
                                                      const std::string& backend, int threads,
                                                      QuantizeOptions& ranges) {
  // Entropy first: on a tie the documented default stands.
  const std::vector<Calibrator> candidates{Calibrator::kEntropy, Calibrator::kPercentile, Calibrator::kMinMax};
  std::vector<std::map<std::string, ActivationRange>> by_calibrator;
  for (Calibrator c : candidates) by_calibrator.push_back(activation_ranges(activations, stats, c, percentile));

  // Which quantizable nodes read each activation (a node's activation
  // inputs are what activation_inputs() lists with only that node quantized).
  const std::vector<std::string> nodes = quantizable_nodes(graph);
  const std::set<std::string> all_nodes(nodes.begin(), nodes.end());
  std::map<std::string, std::set<std::string>> consumers;
  for (const auto& node : nodes) {
    std::set<std::string> others = all_nodes;
    others.erase(node);
    for (const auto& tensor : activation_inputs(graph, others)) consumers[tensor].insert(node);
  }

  const OutputSampler sampler(data, samples);
  GraphRunner reference_runner(graph, backend, data.input, data.batch_shape, threads);
  const std::vector<float> reference = sampler.outputs(reference_runner);
  std::vector<ActivationCalibration> choices;
  ranges.activations = by_calibrator.front();
  for (const auto& tensor : activations) {
    ActivationCalibration choice;
    choice.activation = tensor;
    double best_sqnr_db = -std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < candidates.size(); ++c) {
      QuantizeOptions variant_options;
      variant_options.weight_bits = ranges.weight_bits;
      variant_options.activations = by_calibrator[c];
      variant_options.keep_fp32_nodes = all_nodes;
      for (const auto& node : consumers[tensor]) variant_options.keep_fp32_nodes.erase(node);
      OnnxGraph variant = graph;
      quantize_qdq(variant, variant_options);
      GraphRunner runner(variant, backend, data.input, data.batch_shape, threads);
      const std::vector<float> out = sampler.outputs(runner);
      const double sqnr = sqnr_db(reference.data(), out.data(), std::min(reference.size(), out.size()));
      choice.output_sqnr_db[calibrator_name(candidates[c])] = sqnr;
      if (sqnr > best_sqnr_db) {
        best_sqnr_db = sqnr;
        choice.chosen = candidates[c];
        choice.threshold = by_calibrator[c].at(tensor).threshold;
        ranges.activations[tensor] = by_calibrator[c].at(tensor);
      }
    }
    choices.push_back(choice);
  }
  return choices;
}

std::vector<LayerSensitivity> measure_sensitivity(const OnnxGraph& graph, const QuantizeOptions& all_ranges,
                                                  const std::vector<QuantizedLayer>& layers,
                                                  const CalibrationData& data, std::size_t samples,
                                                  const std::string& backend, int threads) {
  // The FP32 outputs (first graph output) once, then one variant per layer.
  const OutputSampler sampler(data, samples);
  GraphRunner reference_runner(graph, backend, data.input, data.batch_shape, threads);
  const std::vector<float> reference = sampler.outputs(reference_runner);

  std::set<std::string> all_nodes;
  for (const auto& l : layers) all_nodes.insert(l.node);
  std::vector<LayerSensitivity> result;
  for (const auto& layer : layers) {
    QuantizeOptions only = all_ranges;
    only.keep_fp32_nodes = all_nodes;
    only.keep_fp32_nodes.erase(layer.node);
    OnnxGraph variant = graph;
    quantize_qdq(variant, only);
    GraphRunner runner(variant, backend, data.input, data.batch_shape, threads);
    const std::vector<float> out = sampler.outputs(runner);
    LayerSensitivity s;
    s.node = layer.node;
    s.op = layer.op;
    s.weight_sqnr_db = layer.weight_sqnr_db;
    s.output_sqnr_db = sqnr_db(reference.data(), out.data(), std::min(reference.size(), out.size()));
    result.push_back(s);
  }
  std::stable_sort(result.begin(), result.end(), [](const LayerSensitivity& a, const LayerSensitivity& b) {
    return a.output_sqnr_db < b.output_sqnr_db;
  });
  return result;
}

}  // namespace inferlab
