#pragma once
// models/prepare.py folds the batch into axis 1 around a binary op that
// broadcasts two computed tensors (OpenCV 4.6 broadcasts those only at
// batch 1): Reshape(a, [1, -1, ...]), Reshape(b, [1, -1, ...]), op,
// Reshape(y, [-1, ...]). For the native engine the folded form is slower:
// the Reshapes force a blocked tensor back to a plain layout and the op
// runs as a strided loop (EfficientNet-B0's squeeze-excitation Muls and
// their reorders: 19% of its profiled time at batch 4). Wherever the folded graph
// is valid, op(a, b) with numpy broadcasting computes the same values, so
// the engine runs that instead, in whatever layout a arrives.

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

namespace inferlab::native {

/// Rewrites every fold prepare.py made (its node names, constant shapes of
/// the forms above, intermediates read by nothing else) back into the one
/// binary op. Returns how many were rewritten.
int unfold_batch_folds(onnx::GraphProto& graph);

}  // namespace inferlab::native
