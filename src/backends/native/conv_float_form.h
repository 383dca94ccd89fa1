#pragma once
// The QDQ graph's own float form of an int8 Conv (kernels_conv.cpp times it
// against the int8 primitive on CPUs without VNNI and keeps the faster):
// the quantized source dequantized by one scaled reorder, oneDNN's float32
// convolution on the weights dequantized once (with the same epilogue and
// its own tactics), and the result reordered into the int8 step's output,
// quantized by 1 / s_y when the layer requantizes.

#include <memory>
#include <string>
#include <vector>

#include "kernel.h"
#include "onednn_util.h"

namespace inferlab::native {

class Tuner;

class ConvFloatForm {
 public:
  /// Prepares the float form of the int8 Conv `node` whose inputs are in
  /// Int8Operand's slots (`in`, a fused residual last when `residual`), with
  /// the fused epilogue `fused_op` (bounds `lo`, `hi`), writing `out` (the
  /// int8 step's output: u8/s8 when requantized, else float32) in
  /// `out_layout`. `tuner` (may be null) picks the float Conv's own
  /// implementation. Throws Error when the float Conv cannot be made.
  ConvFloatForm(const onnx::NodeProto& node, const std::string& fused_op, float lo, float hi,
                const std::vector<InputDesc>& in, bool residual, const OutputDesc& out, Tuner* tuner);

  /// One run: `source` is the quantized input (as the int8 step reads it),
  /// `residual` the fused residual (null without), `out` the step's output.
  void run(void* source, void* residual, void* out);
  std::string implementation() const;

 private:
  std::vector<float> weights_;            // dequantized, OIHW; released after the float Conv prepacked them
  Constant weights_constant_;             // over weights_, for the float Conv's prepare()
  std::unique_ptr<Kernel> conv_;          // the float32 Conv
  ScaledReorder dequantize_, finish_;     // source -> float32; float32 product -> the step's output
  std::vector<float> source_, product_;   // their float32 buffers
  std::vector<View> conv_in_, conv_out_;  // the float Conv's run() arguments over them (residual set per run)
};

}  // namespace inferlab::native
