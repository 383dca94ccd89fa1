#!/usr/bin/python3
"""Benchmark fixture: a QDQ INT8 copy of an fp32 ONNX model, in exactly the
format `inferlab optimize --int8` emits (see docs/native.md), so the native
engine's int8 path can be timed before the optimizer is merged. Not the
optimizer: calibration is max-abs over a few seeded uniform [-1, 1) inputs,
evaluated with torch for the ops the reference CNNs use (Conv, Relu, Clip,
Constant, Add, MaxPool, GlobalAveragePool, Flatten, Gemm).

Usage: make_qdq_model.py IN.onnx OUT.onnx [--batches N]
"""
import argparse

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper, version_converter


def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def evaluate(graph, feed):
    """Every value of `graph` for one input, by torch (ops of the reference CNNs only)."""
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    env.update(feed)
    for n in graph.node:
        a = attrs(n)
        x = [env[i] if i else None for i in n.input]
        op = n.op_type
        if op == "Conv":
            p = a.get("pads", [0, 0, 0, 0])
            assert p[0] == p[2] and p[1] == p[3], "asymmetric pads"
            y = F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, a.get("strides", [1, 1]), p[:2],
                         a.get("dilations", [1, 1]), a.get("group", 1))
        elif op == "Constant":
            y = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
        elif op == "Relu":
            y = F.relu(x[0])
        elif op == "Clip":
            lo = x[1].item() if len(x) > 1 and x[1] is not None else a.get("min", -np.inf)
            hi = x[2].item() if len(x) > 2 and x[2] is not None else a.get("max", np.inf)
            y = torch.clamp(x[0], lo, hi)
        elif op == "Add":
            y = x[0] + x[1]
        elif op == "MaxPool":
            y = F.max_pool2d(x[0], a["kernel_shape"], a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0])[:2])
        elif op == "GlobalAveragePool":
            y = x[0].mean(dim=(2, 3), keepdim=True)
        elif op == "Flatten":
            y = torch.flatten(x[0], a.get("axis", 1))
        elif op == "Gemm":
            b = x[1].t() if a.get("transB", 0) else x[1]
            y = a.get("alpha", 1.0) * (x[0] @ b) + (a.get("beta", 1.0) * x[2] if len(x) > 2 else 0)
        else:
            raise SystemExit(f"make_qdq_model: op {op} is not evaluated here")
        env[n.output[0]] = y
    return env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--batches", type=int, default=4)
    args = ap.parse_args()
    model = onnx.load(args.src)
    if model.opset_import[0].version < 13:
        model = version_converter.convert_version(model, 13)  # Clip's bounds become inputs
    g = model.graph
    inp = g.input[0]
    shape = [d.dim_value if d.dim_value > 0 else 1 for d in inp.type.tensor_type.shape.dim]
    consumers = [n for n in g.node if n.op_type in ("Conv", "Gemm")]
    acts = {n.input[0] for n in consumers}
    lo = {a: np.inf for a in acts}
    hi = {a: -np.inf for a in acts}
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for _ in range(args.batches):
            x = torch.from_numpy(rng.uniform(-1, 1, shape).astype(np.float32))
            env = evaluate(g, {inp.name: x})
            for a in acts:
                lo[a] = min(lo[a], env[a].min().item())
                hi[a] = max(hi[a], env[a].max().item())

    inits = {t.name: t for t in g.initializer}
    new_inits, new_nodes, dq_of = [], [], {}
    for a in sorted(acts):
        unsigned = lo[a] >= 0  # after Relu: uint8 uses the whole range
        peak = max(abs(lo[a]), abs(hi[a]), 1e-8)
        scale = peak / (255.0 if unsigned else 127.0)
        key = a.replace("/", "_").replace(":", "_")
        new_inits.append(numpy_helper.from_array(np.array(scale, np.float32), key + "_scale"))
        new_inits.append(numpy_helper.from_array(np.array(0, np.uint8 if unsigned else np.int8), key + "_zp"))
        new_nodes.append(helper.make_node("QuantizeLinear", [a, key + "_scale", key + "_zp"], [key + "_q"]))
        new_nodes.append(helper.make_node("DequantizeLinear", [key + "_q", key + "_scale", key + "_zp"], [key + "_dq"]))
        dq_of[a] = key + "_dq"
    for n in consumers:
        w = numpy_helper.to_array(inits[n.input[1]])
        axis = 0 if n.op_type == "Conv" or attrs(n).get("transB", 0) else 1
        peak = np.abs(np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)).max(axis=1)
        scale = np.maximum(peak, 1e-12) / 127.0
        bshape = [1] * w.ndim
        bshape[axis] = -1
        w_q = np.clip(np.rint(w / scale.reshape(bshape)), -127, 127).astype(np.int8)
        key = n.input[1].replace("/", "_").replace(":", "_")
        new_inits += [numpy_helper.from_array(w_q, key + "_q"),
                      numpy_helper.from_array(scale.astype(np.float32), key + "_scale"),
                      numpy_helper.from_array(np.zeros(w.shape[axis], np.int8), key + "_zp")]
        new_nodes.append(helper.make_node("DequantizeLinear", [key + "_q", key + "_scale", key + "_zp"],
                                          [key + "_dq"], axis=axis))
        g.initializer.remove(inits[n.input[1]])
        n.input[0] = dq_of[n.input[0]]
        n.input[1] = key + "_dq"
    g.initializer.extend(new_inits)
    # Each Q/DQ chain goes right before its first reader: the list stays sorted.
    producer = {o: q for q in new_nodes for o in q.output}
    order = list(g.node)
    del g.node[:]
    placed = set()

    def place(name):
        q = producer.get(name)
        if q is None or id(q) in placed:
            return
        for i in q.input:
            place(i)
        g.node.append(q)
        placed.add(id(q))

    for n in order:
        for i in n.input:
            place(i)
        g.node.append(n)
    onnx.checker.check_model(model)
    onnx.save(model, args.dst)
    print(f"{args.dst}: {len(acts)} activations (per-tensor), {len(consumers)} weights (per-channel) quantized")


if __name__ == "__main__":
    main()
