#include "epilogue.h"

namespace inferlab::native {

bool parse_epilogue(const std::string& op, float lo, float hi, Epilogue& out) {
  using alg = dnnl::algorithm;
  Epilogue e;
  e.residual = op == "Add" || op == "Add+Relu";
  e.eltwise = op != "Add";
  if (op == "Relu" || op == "Add+Relu") {
    e.algorithm = alg::eltwise_relu;
  } else if (op == "Clip") {
    e.algorithm = alg::eltwise_clip;
    e.alpha = lo;
    e.beta = hi;
  } else if (op == "HardSigmoid") {
    e.algorithm = alg::eltwise_linear;
    e.alpha = lo;
    e.beta = hi;
    e.clip_to_unit = true;
  } else if (op == "Sigmoid") {
    e.algorithm = alg::eltwise_logistic;
  } else if (op == "Swish") {
    e.algorithm = alg::eltwise_swish;  // x * sigmoid(alpha * x)
    e.alpha = 1.0F;
  } else if (op == "Gelu") {
    // rewrite_gelu() only makes the exact (erf) form.
    e.algorithm = alg::eltwise_gelu_erf;
  } else if (op == "HardSwish") {
    // ONNX's x * max(0, min(1, x / 6 + 1 / 2)) is oneDNN 2.6's fixed hardswish.
    e.algorithm = alg::eltwise_hardswish;
  } else if (op != "Add") {
    return false;
  }
  out = e;
  return true;
}

void append_epilogue(const Epilogue& epilogue, const dnnl::memory::desc& residual, float eltwise_scale,
                     dnnl::post_ops& ops) {
  if (epilogue.residual) ops.append_binary(dnnl::algorithm::binary_add, residual);
  if (!epilogue.eltwise) return;
  if (epilogue.clip_to_unit) {
    // The scale (requantization) goes on the last step: the clip's bounds are pre-scale.
    ops.append_eltwise(1.0F, epilogue.algorithm, epilogue.alpha, epilogue.beta);
    ops.append_eltwise(eltwise_scale, dnnl::algorithm::eltwise_clip, 0.0F, 1.0F);
    return;
  }
  ops.append_eltwise(eltwise_scale, epilogue.algorithm, epilogue.alpha, epilogue.beta);
}

}  // namespace inferlab::native
