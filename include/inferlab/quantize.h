#pragma once
/// @file quantize.h
/// Static post-training INT8 quantization in the ONNX QDQ format:
/// calibration statistics and the three calibrators (minmax, percentile,
/// entropy), and the rewrite that puts QuantizeLinear/DequantizeLinear pairs
/// in front of Conv, Gemm and MatMul.
///
/// The format (what the native engine folds into INT8 primitives):
///  - activations per tensor, symmetric (zero point 0): uint8 when the
///    calibrated tensor is never negative, else int8;
///  - weights int8, symmetric, per output channel (DequantizeLinear axis)
///    at opset >= 13, per tensor below; 7-bit by default (values in
///    [-63, 63]: the sums are then exact on CPUs without VNNI too, whose
///    16-bit u8 x s8 pair sums saturate or whose kernels halve the weights),
///    8-bit ([-127, 127]) on request; biases stay float32;
///  - the quantized ops' outputs stay float32.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "inferlab/graph_passes.h"
#include "inferlab/onnx_graph.h"

namespace inferlab {

/// Statistics of one activation over the calibration set, gathered in two
/// passes: observe_range() over every sample first, then (for percentile and
/// entropy) observe_histogram() with the range fixed. Not thread-safe.
class ActivationHistogram {
 public:
  static constexpr int kBins = 2048;
  /// Pass 1: running minimum and maximum.
  void observe_range(const float* values, std::size_t count);
  /// Pass 2: histogram of the non-zero |x| over [0, max |x| of pass 1] in
  /// kBins bins (exact zeros are exact under any symmetric scale).
  void observe_histogram(const float* values, std::size_t count);
  float min() const { return min_; }
  float max() const { return max_; }
  float abs_max() const;
  bool has_histogram() const { return !bins_.empty(); }
  const std::vector<double>& bins() const { return bins_; }
  /// Width of one histogram bin in the tensor's units.
  double bin_width() const { return abs_max() / kBins; }

 private:
  float min_ = 0, max_ = 0;
  bool seen_ = false;
  std::vector<double> bins_;
};

/// How the clipping threshold of an activation is chosen.
enum class Calibrator {
  kMinMax,      ///< the largest |x| seen
  kPercentile,  ///< the given percentile of the non-zero |x|
  kEntropy,     ///< the threshold minimising the KL divergence between the histogram and its quantized form
  /// Per activation, whichever of the three above gives the model's output
  /// the best SQNR when only that activation's consumers are quantized
  /// (choose_calibrators() in the optimizer); calibration_threshold() refuses it.
  kAuto,
};
std::string calibrator_name(Calibrator calibrator);
/// Parses "minmax", "percentile", "entropy", "auto"; throws Error (kBadInput) otherwise.
Calibrator calibrator_from_name(const std::string& name);

/// The threshold T (> 0, in the tensor's units): values are quantized over
/// [-T, T] (int8) or [0, T] (uint8, when `non_negative`). `percentile` is in
/// (0, 100] and used by kPercentile only. Percentile and entropy need the
/// histogram; throws Error when it is missing.
double calibration_threshold(const ActivationHistogram& stats, Calibrator calibrator, double percentile,
                             bool non_negative);

/// A calibrated activation.
struct ActivationRange {
  double threshold = 0;       ///< T of calibration_threshold()
  bool non_negative = false;  ///< quantized as uint8 over [0, T]
};

/// The calibrator chosen for one activation under Calibrator::kAuto, with
/// the measurement that chose it.
struct ActivationCalibration {
  std::string activation;  ///< tensor name
  Calibrator chosen = Calibrator::kEntropy;
  double threshold = 0;                          ///< the chosen T
  std::map<std::string, double> output_sqnr_db;  ///< calibrator name -> model output SQNR (dB)
};

/// Options of quantize_qdq().
struct QuantizeOptions {
  std::map<std::string, ActivationRange> activations;  ///< every activation activation_inputs() names
  std::set<std::string> keep_fp32_nodes;               ///< node names left unquantized
  /// Weight precision: 7 (values in [-63, 63], the same results on every x86
  /// ISA) or 8 ([-127, 127]; exact in native's int8 kernels only with VNNI).
  int weight_bits = 7;
};

/// The largest weight magnitude quantize_qdq() writes for `weight_bits` (7
/// or 8); throws Error (kBadInput) for any other value.
int int8_weight_limit(int weight_bits);

/// One node that was (or could have been) quantized.
struct QuantizedLayer {
  std::string node;  ///< node name
  std::string op;    ///< Conv, Gemm, MatMul
  std::string weight;
  bool per_channel = false;
  double weight_sqnr_db = 0;  ///< 10 log10(sum w^2 / sum (w - dequant(quant(w)))^2); +inf when exact
};

/// What quantize_qdq() did.
struct QuantizeReport {
  PassReport pass;
  std::vector<QuantizedLayer> layers;     ///< quantized nodes, graph order
  std::vector<std::string> left_in_fp32;  ///< "<node> (<op>): <reason>" for every node not quantized
};

/// Gives every unnamed node a unique name (the quantizer and its reports
/// refer to nodes by name). Returns how many were named.
std::int64_t name_unnamed_nodes(OnnxGraph& graph);

/// Conv, Gemm and MatMul nodes (by name, graph order) that quantize_qdq()
/// can quantize: float32 initializer weights for Conv and Gemm; any MatMul.
/// Call name_unnamed_nodes() first.
std::vector<std::string> quantizable_nodes(const OnnxGraph& graph);

/// The activation values that quantize_qdq() will quantize for the
/// quantizable nodes not in `keep_fp32_nodes`, in graph order, each once.
std::vector<std::string> activation_inputs(const OnnxGraph& graph, const std::set<std::string>& keep_fp32_nodes);

/// Rewrites `graph` into the QDQ format above. Throws Error (kBadInput) when
/// an activation it needs has no range in `options`, or when the opset is
/// below 10 (no QuantizeLinear). Nodes of other op types, and ones in
/// `keep_fp32_nodes`, are left in float32 and listed, not refused.
QuantizeReport quantize_qdq(OnnxGraph& graph, const QuantizeOptions& options);

}  // namespace inferlab
