"""Writes the bad-input fixtures for the e2e tests into DIR.

Run with /usr/bin/python3 (Debian's, which has python3-onnx and python3-torch).
Every fixture is generated here, so the tests need no files from elsewhere.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch


def small_conv_model():
    weight = numpy_helper.from_array(np.ones((4, 3, 3, 3), dtype=np.float32), "w")
    node = helper.make_node("Conv", ["input", "w"], ["output"], pads=[1, 1, 1, 1])
    graph = helper.make_graph(
        [node], "small",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 8, 8])],
        [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    onnx.save(small_conv_model(), os.path.join(out_dir, "small_conv.onnx"))  # trainable, 3x8x8 input
    data = small_conv_model().SerializeToString()
    # Cut inside the weight tensor: protobuf parsing must fail.
    with open(os.path.join(out_dir, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])

    # A zip archive, but a state dict: torch.save, not torch.jit.save.
    torch.save({"w": torch.zeros(3)}, os.path.join(out_dir, "state_dict.pt"))
    with open(os.path.join(out_dir, "garbage.pt"), "wb") as f:
        f.write(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())

    cast = helper.make_node("Cast", ["tokens"], ["output"], to=TensorProto.FLOAT)
    graph = helper.make_graph(
        [cast], "int64_input",
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, 16])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 16])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, "int64_input.onnx"))

    relu = helper.make_node("Relu", ["input"], ["output"])
    graph = helper.make_graph(
        [relu], "dynamic_hw",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 3, "H", "W"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, "dynamic_hw.onnx"))
    # LRN: OpenCV runs it, the native engine has no kernel for it.
    lrn = helper.make_node("LRN", ["input"], ["output"], size=3)
    graph = helper.make_graph(
        [lrn], "lrn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 8, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, "lrn.onnx"))
    # What torch's export of ShuffleNet-v2 does to calibration: a channel
    # chunk whose Slice bound is computed (Shape, Gather, Div), so shape
    # inference gives its output no rank, and a Reshape that fixes the batch
    # at 1 although the input's batch is dynamic.
    rng = np.random.default_rng(3)
    inits = [
        numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.standard_normal((2, 2, 1, 1)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.standard_normal((10, 800)).astype(np.float32) * 0.05, "w3"),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "channel_axis"),
        numpy_helper.from_array(np.array(2, dtype=np.int64), "two"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axes_c"),
        numpy_helper.from_array(np.array([1, 800], dtype=np.int64), "flat_shape"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "w1"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["c"], ["c_shape"]),
        helper.make_node("Gather", ["c_shape", "channel_axis"], ["channels"], axis=0),
        helper.make_node("Div", ["channels", "two"], ["half"]),
        helper.make_node("Unsqueeze", ["half", "zero"], ["half_1d"]),
        helper.make_node("Slice", ["c", "zero", "half_1d", "axes_c"], ["chunk"]),
        helper.make_node("Conv", ["chunk", "w2"], ["d"]),
        helper.make_node("Reshape", ["d", "flat_shape"], ["flat"]),
        helper.make_node("Gemm", ["flat", "w3"], ["output"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "batch1_chunk",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 20, 20])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, "batch1_chunk.onnx"))
    # An opset-10 CNN (as the quick zoo's mobilenet_v2 is): Conv with bias,
    # Clip with attribute bounds. Its QDQ form at opset 10 made ONNX Runtime
    # insert Round (opset 11) and refuse the model.
    inits = [
        numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.standard_normal((4,)).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.standard_normal((10, 1600)).astype(np.float32) * 0.05, "w2"),
        numpy_helper.from_array(np.zeros(10, dtype=np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c"], ["r"], min=0.0, max=6.0),
        helper.make_node("Flatten", ["r"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w2", "b2"], ["output"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "opset10_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 20, 20])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 10)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, "opset10_cnn.onnx"))
    # Celu: a standard op (opset 12) that TVM's Relax ONNX frontend has no converter for.
    celu = helper.make_node("Celu", ["input"], ["output"], alpha=1.0)
    graph = helper.make_graph(
        [celu], "celu",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 8, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, "celu.onnx"))
    # A digits-shaped classifier with 5 classes: a distillation student whose
    # outputs cannot match digits_cnn's 10.
    gemm = helper.make_node("Gemm", ["flat", "w5", "b5"], ["logits"], transB=1)
    flatten = helper.make_node("Flatten", ["input"], ["flat"], axis=1)
    graph = helper.make_graph(
        [flatten, gemm], "digits_5class",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 20, 20])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5])],
        [numpy_helper.from_array(np.zeros((5, 400), dtype=np.float32), "w5"),
         numpy_helper.from_array(np.zeros(5, dtype=np.float32), "b5")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, "digits_5class.onnx"))
    print("fixtures in", out_dir)


if __name__ == "__main__":
    main(sys.argv[1])
