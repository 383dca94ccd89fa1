#pragma once
// The data-driven half of INT8: activation statistics over a calibration
// set, and each layer's sensitivity (the model's output SQNR when only that
// layer is quantized). Both run the model in-process on one backend.
#include <map>
#include <string>
#include <vector>

#include "inferlab/dataset.h"
#include "inferlab/onnx_graph.h"
#include "inferlab/optimizer.h"
#include "inferlab/preprocess.h"
#include "inferlab/quantize.h"

namespace inferlab {

/// Input batches for calibration: the first `count` samples of `dataset`,
/// preprocessed, in batches of the model's input shape.
struct CalibrationData {
  std::vector<Tensor> batches;
  std::vector<std::size_t> valid;  ///< real samples in each batch (the tail is padding)
  TensorSpec input;
  Shape batch_shape;
};
CalibrationData load_calibration_data(const Dataset& dataset, const Preprocess& preprocess, const TensorSpec& input,
                                      const Shape& batch_shape, std::size_t count);

/// Statistics of `activations` of `graph` (FP32, after the graph passes) over
/// the calibration data: the range (one pass) and, with `histogram`, the
/// histogram (a second pass).
std::vector<ActivationHistogram> activation_statistics(const OnnxGraph& graph,
                                                       const std::vector<std::string>& activations,
                                                       const CalibrationData& data, bool histogram,
                                                       const std::string& backend, int threads);

/// Ranges of `activations` from their statistics with one calibrator (not kAuto).
std::map<std::string, ActivationRange> activation_ranges(const std::vector<std::string>& activations,
                                                         const std::vector<ActivationHistogram>& stats,
                                                         Calibrator calibrator, double percentile);

/// Ranges of `activations` of `graph` (FP32, after the graph passes) with
/// `calibrator` (not kAuto). Runs one pass (minmax) or two (percentile, entropy).
std::map<std::string, ActivationRange> calibrate_activations(const OnnxGraph& graph,
                                                             const std::vector<std::string>& activations,
                                                             const CalibrationData& data, Calibrator calibrator,
                                                             double percentile, const std::string& backend,
                                                             int threads);

/// Calibrator::kAuto: for each activation, the model output's SQNR (dB)
/// against FP32 on the first `samples` calibration samples when only the
/// nodes reading that activation are quantized, once per calibrator
/// (entropy, percentile, minmax); the best is kept (entropy on a tie).
/// Fills `ranges.activations` with the chosen ranges, quantizing weights at
/// `ranges.weight_bits`; `stats` must hold histograms.
std::vector<ActivationCalibration> choose_calibrators(const OnnxGraph& graph,
                                                      const std::vector<std::string>& activations,
                                                      const std::vector<ActivationHistogram>& stats, double percentile,
                                                      const CalibrationData& data, std::size_t samples,
                                                      const std::string& backend, int threads, QuantizeOptions& ranges);

/// For each quantizable node: the model output's SQNR (dB) against FP32 on
/// the first `samples` calibration samples when only that node is
/// quantized. Sorted most sensitive (lowest SQNR) first.
std::vector<LayerSensitivity> measure_sensitivity(const OnnxGraph& graph, const QuantizeOptions& all_ranges,
                                                  const std::vector<QuantizedLayer>& layers,
                                                  const CalibrationData& data, std::size_t samples,
                                                  const std::string& backend, int threads);

}  // namespace inferlab
