"""Writes two versions of one small CNN for the compare e2e test:
DIR/base/cnn.onnx and DIR/slow/cnn.onnx. The slow version is the same network
with eight extra 3x3 convolutions after its two (5x the convolutions) (the "extra heavy
layer" a careless model change adds): same name, same inputs and outputs,
several times the work. Seeded weights. Run with /usr/bin/python3.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIZE = 64
CHANNELS = 16
BASE_CONVS = 2  # enough work (~1-2 ms) that scheduling noise does not dominate the tail
EXTRA_CONVS = 8


def conv(name, inp, out, cin, cout, rng, inits, nodes):
    w = (rng.standard_normal((cout, cin, 3, 3)) * (1.0 / np.sqrt(cin * 9))).astype(np.float32)
    b = np.zeros(cout, dtype=np.float32)
    inits += [numpy_helper.from_array(w, name + "_w"), numpy_helper.from_array(b, name + "_b")]
    nodes.append(helper.make_node("Conv", [inp, name + "_w", name + "_b"], [name + "_c"], kernel_shape=[3, 3],
                                  pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("Relu", [name + "_c"], [out]))


def model(extra):
    rng = np.random.default_rng(14)
    inits, nodes = [], []
    conv("stem", "input", "x0", 3, CHANNELS, rng, inits, nodes)
    x = "x0"
    # The base model draws the extra weights too (and drops them), so the
    # layers both versions share get identical weights.
    for i in range(BASE_CONVS + EXTRA_CONVS):
        extra_nodes, extra_inits = [], []
        conv(f"extra{i}", x, f"e{i}", CHANNELS, CHANNELS, rng, extra_inits, extra_nodes)
        if extra or i < BASE_CONVS:
            nodes += extra_nodes
            inits += extra_inits
            x = f"e{i}"
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"], axis=1))
    fc_w = (rng.standard_normal((10, CHANNELS)) * 0.25).astype(np.float32)
    inits += [numpy_helper.from_array(fc_w, "fc_w"), numpy_helper.from_array(np.zeros(10, np.float32), "fc_b")]
    nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, "cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def main(out_dir):
    for sub, extra in (("base", False), ("slow", True)):
        os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
        onnx.save(model(extra), os.path.join(out_dir, sub, "cnn.onnx"))


if __name__ == "__main__":
    main(sys.argv[1])
