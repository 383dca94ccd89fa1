#pragma once
// The epilogues the engine fuses into a Conv, Gemm or MatMul (fusion.h
// plans them), in their oneDNN post-op form: a residual binary add first,
// then one eltwise (two for HardSigmoid: oneDNN 2.6 has no hardsigmoid). Shared so that every kernel with post-ops
// reads the fusion names the same way.

#include <string>

#include <oneapi/dnnl/dnnl.hpp>

namespace inferlab::native {

struct Epilogue {
  bool residual = false;  ///< a binary add of the kernel's last input
  bool eltwise = false;   ///< then `algorithm` with `alpha`, `beta`
  dnnl::algorithm algorithm = dnnl::algorithm::eltwise_relu;
  float alpha = 0;
  float beta = 0;
  bool clip_to_unit = false;  ///< then clip to [0, 1] (HardSigmoid = linear(alpha, beta), clip)
};

/// The oneDNN form of the fusion named `op` ("Relu", "Clip" with bounds
/// `lo`, `hi`, "Sigmoid", "HardSigmoid" with alpha `lo` and beta `hi`, "Swish", "Gelu", "HardSwish", "Add",
/// "Add+Relu"); false when `op` has none (then `out` is unchanged).
bool parse_epilogue(const std::string& op, float lo, float hi, Epilogue& out);

/// Appends `epilogue`'s post-ops to `ops`; `residual` describes the added
/// tensor as the primitive reads it, `eltwise_scale` multiplies the eltwise
/// result (oneDNN's post-op scale: the int8 Conv's requantization).
void append_epilogue(const Epilogue& epilogue, const dnnl::memory::desc& residual, float eltwise_scale,
                     dnnl::post_ops& ops);

}  // namespace inferlab::native
