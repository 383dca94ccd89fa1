#!/usr/bin/python3
"""Prepares inferlab's reference models: ONNX + frozen TorchScript + manifest.json.

Run with Debian's interpreter (it has python3-torch, python3-torchvision and
python3-onnx):

    /usr/bin/python3 models/prepare.py --zoo quick|paper|digits|all --dir DIR [--force]

The quick and paper zoos are torchvision 0.14 architectures with seeded,
untrained weights (torch.manual_seed(0)); the digits zoo's digits_cnn is
trained here on OpenCV's digits.png (models/digits_cnn.py). Nothing is ever
downloaded. See models/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import re
import signal
import sys
import tempfile
import time
import warnings

# The heavy imports are checked in main(), so that a wrong interpreter gets a
# one-line answer instead of a traceback (only Debian's /usr/bin/python3 has
# python3-torch, python3-torchvision and python3-onnx).
try:
    import numpy as np
    import onnx
    import torch
    import torchvision
    from onnx import helper, mapping, numpy_helper, shape_inference
    from torch.utils._python_dispatch import TorchDispatchMode

    import digits_cnn

    IMPORT_ERROR = None
except ImportError as _e:  # pragma: no cover - depends on the interpreter
    IMPORT_ERROR = _e

# Bumping this invalidates every cached model: do it whenever the files this
# script writes would change (export settings, fixups, manifest fields).
PREPARE_VERSION = 1
SCHEMA = "inferlab.model/1"
SEED = 0
# The input used to check TorchScript against eager PyTorch; fixed so that
# every run prints the same numbers.
CHECK_SEED = 1234
CHECK_BATCH = 2

# The zoos come from models/zoo.json, the one list the CLI is built from too.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo.json")) as _zoo_file:
    ZOOS = {zoo: names for zoo, names in json.load(_zoo_file).items() if not zoo.startswith("_")}
# Models that are not torchvision ImageNet classifiers: input [C, H, W] and class count.
INPUT_CHW = {"digits_cnn": (1, 20, 20)}
CLASSES = {"digits_cnn": 10}
# Models trained here rather than taken from torchvision (models/rppg_net.py).
TRAINED_MODELS = {"rppg_net"}

# Opset per model. 13 unless OpenCV 4.6 needs an older form: from opset 11 on,
# Clip takes min/max as inputs and OpenCV 4.6's importer accepts only the
# single-input Clip of opset 6-10 (min/max attributes), so mobilenet_v2's
# ReLU6 must be exported at opset 10 to stay loadable.
DEFAULT_OPSET = 13
OPSET_OVERRIDES = {
    "mobilenet_v2": (
        10,
        "ReLU6 becomes Clip with min/max attributes, the only Clip form OpenCV 4.6 imports "
        "(from opset 11 min/max are inputs)",
    ),
}

PREPROCESS = {
    "resize": 256,
    "crop": 224,
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
    "channel_order": "RGB",
    "layout": "NCHW",
    "dtype": "float32",
    "scale": 1.0 / 255.0,
}

TORCHSCRIPT_FORM = (
    "frozen TorchScript (torch.jit.trace + torch.jit.freeze + the conv-add-relu and linear-transpose passes "
    "of optimize_for_inference; its MKLDNN conversion is left to load time because torch 1.13 cannot "
    "reload a module saved with MKLDNN constants)"
)
FLOPS_METHOD = (
    "2 x multiply-accumulates of aten.convolution, mm, addmm, bmm and baddbmm (covers Conv2d, "
    "Linear and attention matmuls), counted by a TorchDispatchMode over one eager forward at "
    "batch 1; biases, normalisation, activations, pooling and softmax are not counted"
)


class PrepareError(Exception):
    """A failure reported to the user as one line."""


# --------------------------------------------------------------------------
# Small helpers


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def release(version: str) -> str:
    """'0.14.1a0' (Debian's build) -> '0.14.1'."""
    match = re.match(r"\d+(\.\d+)*", version)
    return match.group(0) if match else version


def zoos_of(name: str) -> list[str]:
    return [zoo for zoo, names in ZOOS.items() if name in names]


def models_for(zoo: str) -> list[str]:
    if zoo == "all":
        seen: list[str] = []
        for names in ZOOS.values():
            seen += [n for n in names if n not in seen]
        return seen
    return list(ZOOS[zoo])


def remove_stale_temporaries(model_dir: str) -> None:
    """Deletes temporary files left by a run that was killed (SIGKILL, power loss)."""
    for entry in os.listdir(model_dir):
        head, sep, pid = entry.rpartition(".tmp")
        if not (entry.startswith(".") and sep and pid.isdigit()):
            continue
        try:
            os.kill(int(pid), 0)
            continue  # that run is still going
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        try:
            os.remove(os.path.join(model_dir, entry))
        except OSError:
            pass


def is_cached(model_dir: str, name: str) -> bool:
    """True when a previous run of this prepare_version left complete, intact files."""
    manifest_path = os.path.join(model_dir, "manifest.json")
    try:
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return False
    if manifest.get("prepare_version") != PREPARE_VERSION or manifest.get("name") != name:
        return False
    files = manifest.get("files", {})
    digests = manifest.get("sha256", {})
    for key in ("onnx", "torchscript"):
        if key not in files or key not in digests:
            return False
        path = os.path.join(model_dir, files[key])
        if not os.path.isfile(path) or sha256_of(path) != digests[key]:
            return False
    return True


# --------------------------------------------------------------------------
# ONNX fixups for OpenCV 4.6. Every rewrite keeps the model's meaning for every
# input shape the original accepted, so one file serves every ONNX reader.


class OnnxFixer:
    """Rewrites a torch-exported ONNX graph into a form OpenCV 4.6 imports.

    The graph is kept as a node list plus a name -> constant map; constants
    are turned into numpy arrays only when a pass needs their values (VGG-16
    has half a gigabyte of weights that no pass ever looks at).
    """

    # Folding never reads constants above this size (weights), and shape
    # inference runs on a skeleton that carries only constants up to the
    # second size (shape vectors) and declares the rest as typed inputs.
    SMALL_CONST_BYTES = 16 << 20
    SKELETON_CONST_BYTES = 1 << 12

    def __init__(self, model):
        self.model = model
        graph = model.graph
        self.nodes = list(graph.node)
        self.init_protos = {t.name: t for t in graph.initializer}
        self.values: dict = {}  # name -> np.ndarray, for constants created or read by passes
        self.graph_outputs = {o.name for o in graph.output}
        self.log: list[str] = []
        self.serial = 0
        self.evaluators = _evaluators()
        self.partial_evaluators = _partial_evaluators()

    # ---- constant access

    def is_const(self, name: str) -> bool:
        return name in self.values or name in self.init_protos

    def value(self, name: str):
        if name not in self.values:
            self.values[name] = numpy_helper.to_array(self.init_protos[name])
        return self.values[name]

    def const_nbytes(self, name: str) -> int:
        """Size in bytes; an upper bound (8 bytes an element) for unread initializers."""
        if name in self.values:
            return int(self.values[name].nbytes)
        return math.prod(self.init_protos[name].dims) * 8

    def add_const(self, name: str, array) -> str:
        self.values[name] = array
        return name

    def fresh(self, base: str) -> str:
        self.serial += 1
        return f"inferlab_fix/{self.serial}/{base}"

    # ---- rewiring

    def consumers(self) -> dict:
        uses: dict = {}
        for n in self.nodes:
            for i in n.input:
                uses.setdefault(i, []).append(n)
        return uses

    def bypass(self, node, source: str) -> bool:
        """Removes `node`, feeding its consumers from `source`. False when it must stay."""
        out = node.output[0]
        if out in self.graph_outputs:
            return False
        for n in self.nodes:
            for k, i in enumerate(n.input):
                if i == out:
                    n.input[k] = source
        self.nodes.remove(node)
        return True

    # ---- passes

    def constants_to_initializers(self) -> None:
        """Constant nodes become initializers so every pass sees one kind of constant."""
        kinds = {
            "value_float": np.float32,
            "value_floats": np.float32,
            "value_int": np.int64,
            "value_ints": np.int64,
        }
        kept = []
        count = 0
        for n in self.nodes:
            if n.op_type == "Constant" and n.output[0] not in self.graph_outputs and len(n.attribute) == 1:
                attr = n.attribute[0]
                if attr.name == "value":
                    self.values[n.output[0]] = numpy_helper.to_array(attr.t)
                    count += 1
                    continue
                if attr.name in kinds:
                    self.values[n.output[0]] = np.array(helper.get_attribute_value(attr), dtype=kinds[attr.name])
                    count += 1
                    continue
            kept.append(n)
        self.nodes = kept
        if count:
            self.log.append(f"turned {count} Constant nodes into initializers")

    def remove_identities(self) -> None:
        # torch deduplicates equal initializers (seeded models have many equal,
        # all-zero biases) and reaches the copies through Identity nodes, which
        # OpenCV 4.6 cannot import when their input is a constant.
        count = sum(1 for n in list(self.nodes) if n.op_type == "Identity" and self.bypass(n, n.input[0]))
        if count:
            self.log.append(f"removed {count} Identity nodes (rewired consumers to their inputs)")

    def remove_dropout(self) -> None:
        count = 0
        uses = self.consumers()
        for n in list(self.nodes):
            if n.op_type != "Dropout":
                continue
            if len(n.output) > 1 and n.output[1] and uses.get(n.output[1]):
                continue
            # torchvision's swin calls F.dropout(p=0.0) with its default
            # training=True, which exports as training-mode Dropout; with a
            # zero ratio that is still the identity.
            ratio = n.input[1] if len(n.input) > 1 else ""
            training = n.input[2] if len(n.input) > 2 else ""
            zero_ratio = ratio and self.is_const(ratio) and float(self.value(ratio)) == 0.0
            inference = not training or (self.is_const(training) and not bool(self.value(training)))
            if not (zero_ratio or inference):
                continue
            if self.bypass(n, n.input[0]):
                count += 1
        if count:
            self.log.append(f"removed {count} inference-mode Dropout nodes (identity at inference)")

    def skeleton(self):
        """The current graph with large constants as typed inputs: cheap to shape-infer."""
        graph = self.model.graph
        inputs = list(graph.input)
        inits = []
        for name in list(self.values) + [k for k in self.init_protos if k not in self.values]:
            if self.const_nbytes(name) <= self.SKELETON_CONST_BYTES:
                inits.append(numpy_helper.from_array(self.value(name), name))
            elif name in self.values:
                arr = self.values[name]
                elem = mapping.NP_TYPE_TO_TENSOR_TYPE[arr.dtype]
                inputs.append(helper.make_tensor_value_info(name, elem, list(arr.shape)))
            else:
                proto = self.init_protos[name]
                inputs.append(helper.make_tensor_value_info(name, proto.data_type, list(proto.dims)))
        g = helper.make_graph(self.nodes, "skeleton", inputs, list(graph.output), inits)
        return helper.make_model(g, opset_imports=list(self.model.opset_import), ir_version=self.model.ir_version)

    def infer(self) -> tuple[dict, dict]:
        """name -> dims (int, str for a symbolic dim, None when unknown), name -> elem type."""
        inferred = shape_inference.infer_shapes(self.skeleton(), data_prop=True)
        dims: dict = {}
        types: dict = {}
        g = inferred.graph
        for vi in list(g.value_info) + list(g.input) + list(g.output):
            tt = vi.type.tensor_type
            types[vi.name] = tt.elem_type
            if tt.HasField("shape"):
                dims[vi.name] = [
                    d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tt.shape.dim
                ]
        return dims, types

    def fold_constants(self) -> tuple[int, int]:
        """Evaluates everything computable without the batch size.

        torch exports shape arithmetic (H % window, pad sizes, attention masks)
        as Shape/Gather/Mod/... chains even when only the batch dimension is
        dynamic; OpenCV 4.6 has no Mod and needs constant Reshape shapes. Shape
        values are tracked element-wise with the batch entry unknown, so a
        Reshape target such as [B, 8, 7, 8, 7, 96] becomes the constant
        [-1, 8, 7, 8, 7, 96], which is the same reshape for every batch size.
        """
        folded = reshapes = 0
        for _ in range(100):
            dims, _types = self.infer()
            partial: dict = {}  # name -> (int64 values, bool known)
            changed = False
            kept = []
            for n in self.nodes:
                ins = list(n.input)
                outs_are_results = any(o in self.graph_outputs for o in n.output)
                if (
                    not outs_are_results
                    and n.op_type in self.evaluators
                    and all(i == "" or self.is_const(i) for i in ins)
                    and all(i == "" or self.const_nbytes(i) <= self.SMALL_CONST_BYTES for i in ins)
                ):
                    try:
                        results = self.evaluators[n.op_type](n, [None if i == "" else self.value(i) for i in ins])
                    except Exception:  # an op form the evaluator does not know: leave it to the runtime
                        results = None
                    if results is not None:
                        for o, r in zip(n.output, results):
                            self.values[o] = np.asarray(r)
                        folded += 1
                        changed = True
                        continue
                if n.op_type == "Shape" and not n.attribute and ins[0] in dims and not outs_are_results:
                    d = dims[ins[0]]
                    vals = np.array([x if isinstance(x, int) else 0 for x in d], dtype=np.int64)
                    known = np.array([isinstance(x, int) for x in d], dtype=bool)
                    if known.all():
                        self.values[n.output[0]] = vals
                        folded += 1
                        changed = True
                        continue
                    partial[n.output[0]] = (vals, known)
                elif n.op_type in self.partial_evaluators and any(i in partial for i in ins) and not outs_are_results:
                    args = []
                    for i in ins:
                        if i in partial:
                            args.append(partial[i])
                        elif i == "":
                            args.append(None)
                        elif self.is_const(i) and self.const_nbytes(i) <= self.SMALL_CONST_BYTES:
                            v = self.value(i)
                            args.append((v, np.ones(v.shape, dtype=bool)))
                        else:
                            args = None
                            break
                    result = None
                    if args is not None:
                        try:
                            result = self.partial_evaluators[n.op_type](n, args)
                        except Exception:  # unknown form: keep the node
                            result = None
                    if result is not None:
                        vals, known = result
                        if known.all():
                            self.values[n.output[0]] = vals
                            folded += 1
                            changed = True
                            continue
                        partial[n.output[0]] = (vals, known)
                elif n.op_type == "Reshape" and ins[1] in partial:
                    vals, known = partial[ins[1]]
                    allowzero = any(a.name == "allowzero" and a.i for a in n.attribute)
                    if (
                        vals.ndim == 1
                        and int((~known).sum()) == 1
                        and not np.any(known & (vals == -1))
                        and not (not allowzero and np.any(known & (vals == 0)))
                    ):
                        shape = np.where(known, vals, -1).astype(np.int64)
                        n.input[1] = self.add_const(self.fresh("reshape_shape"), shape)
                        reshapes += 1
                        changed = True
                kept.append(n)
            self.nodes = kept
            self.eliminate_dead()
            if not changed:
                break
        return folded, reshapes

    def remove_noops(self) -> dict:
        """Drops nodes that folding left as identities (zero Pad, full Slice, same-type Cast)."""
        dims, types = self.infer()
        counts: dict = {}
        for n in list(self.nodes):
            ins = list(n.input)
            noop = False
            if n.op_type == "Pad" and len(ins) > 1 and self.is_const(ins[1]):
                noop = not np.any(self.value(ins[1]))
            elif n.op_type == "Cast":
                to = next(a.i for a in n.attribute if a.name == "to")
                noop = types.get(ins[0]) == to
            elif n.op_type == "Slice" and all(self.is_const(i) for i in ins[1:] if i):
                shape = dims.get(ins[0])
                if shape is not None:
                    starts = self.value(ins[1])
                    ends = self.value(ins[2])
                    axes = self.value(ins[3]) if len(ins) > 3 and ins[3] else np.arange(len(starts))
                    steps = self.value(ins[4]) if len(ins) > 4 and ins[4] else np.ones(len(starts), np.int64)
                    noop = True
                    for s, e, a, st in zip(starts, ends, axes, steps):
                        d = shape[int(a)]
                        full_end = e >= (d if isinstance(d, int) else np.iinfo(np.int64).max // 2)
                        if not (s == 0 and st == 1 and full_end):
                            noop = False
            if noop and self.bypass(n, ins[0]):
                counts[n.op_type] = counts.get(n.op_type, 0) + 1
        self.eliminate_dead()
        return counts

    def fold_batch_for_broadcast(self) -> None:
        # OpenCV 4.6 broadcasts between two computed tensors of different
        # shapes (squeeze-and-excitation's [N,C,H,W] * [N,C,1,1], LayerNorm's
        # [N,H,W,C] - [N,H,W,1]) only when the batch is 1. Reshaping both
        # operands to [1, N*d1, ...] (their axis 1 is equal, so the batch folds
        # into it the same way on both sides), applying the op and reshaping
        # back gives the same values for every batch size.
        dims, _ = self.infer()
        count: dict = {}
        out = []
        for n in self.nodes:
            if n.op_type in ("Mul", "Add", "Sub", "Div") and len(n.input) == 2 and not any(
                self.is_const(i) for i in n.input
            ):
                a, b = n.input
                da, db = dims.get(a), dims.get(b)
                if (
                    da is not None
                    and db is not None
                    and len(da) == len(db) >= 3
                    and da != db
                    and da[0] == db[0]
                    and da[0] is not None
                    and not isinstance(da[0], int)
                    and all(isinstance(d, int) for d in da[1:] + db[1:])
                    and da[1] == db[1]
                ):
                    try:
                        result = list(np.broadcast_shapes(tuple(da[1:]), tuple(db[1:])))
                    except ValueError:
                        result = None
                    if result is not None:
                        base = self.fresh("batch_folded_" + n.op_type.lower())
                        sa = self.add_const(base + "_sa", np.array([1, -1] + da[2:], np.int64))
                        sb = self.add_const(base + "_sb", np.array([1, -1] + db[2:], np.int64))
                        sy = self.add_const(base + "_sy", np.array([-1] + result, np.int64))
                        out.append(helper.make_node("Reshape", [a, sa], [base + "_a"], name=base + "_ra"))
                        out.append(helper.make_node("Reshape", [b, sb], [base + "_b"], name=base + "_rb"))
                        out.append(helper.make_node(n.op_type, [base + "_a", base + "_b"], [base + "_y"], name=base))
                        out.append(helper.make_node("Reshape", [base + "_y", sy], [n.output[0]], name=base + "_ry"))
                        count[n.op_type] = count.get(n.op_type, 0) + 1
                        continue
            out.append(n)
        self.nodes = out
        if count:
            what = ", ".join(f"{c} {op}" for op, c in sorted(count.items()))
            self.log.append(
                f"folded the batch into axis 1 around {what} nodes that broadcast two computed tensors "
                "(OpenCV 4.6 broadcasts those only at batch 1)"
            )

    def expand_broadcast_constants(self) -> None:
        # OpenCV 4.6 applies a constant operand of Mul/Add as its Scale/Shift
        # layers, which line the constant up with axis 1 (channels) or with
        # everything after the batch axis, and treat a leading dimension as
        # batch. Channels-last LayerNorm weights ([C] against [N,H,W,C]), the
        # attention bias ([1,heads,49,49] against [N*windows,heads,49,49]) and
        # the shifted-window mask ([1,windows,1,49,49]) fit neither. The same
        # constant broadcast to the per-sample shape x.shape[1:] gives the
        # same result, in the form OpenCV handles for every batch size.
        dims, _ = self.infer()
        made: dict = {}
        count = 0
        for n in self.nodes:
            if n.op_type not in ("Mul", "Add", "Sub", "Div") or len(n.input) != 2:
                continue
            for k in (0, 1):
                c, x = n.input[k], n.input[1 - k]
                if not self.is_const(c) or self.is_const(x) or self.const_nbytes(c) > self.SMALL_CONST_BYTES:
                    continue
                shape = dims.get(x)
                if shape is None or len(shape) < 3 or not all(isinstance(d, int) for d in shape[1:]):
                    continue
                value = self.value(c)
                target = tuple(shape[1:])
                if value.size <= 1 or value.ndim > len(shape) or value.shape == target:
                    continue
                if value.ndim == len(shape) and value.shape[0] != 1:
                    continue  # it would broadcast over the batch axis too
                core = value.reshape(value.shape[1:]) if value.ndim == len(shape) else value
                if np.broadcast_shapes(core.shape, target) != target:
                    continue
                if n.op_type in ("Add", "Sub") and core.ndim == 1:
                    continue  # OpenCV's Shift handles a last-axis vector
                channel_form = core.ndim == len(target) and core.shape[0] == target[0] and core.size == target[0]
                if channel_form:
                    continue  # per-channel [C,1,1]: OpenCV's native form
                if (c, target) not in made:
                    made[(c, target)] = self.add_const(
                        self.fresh("expanded_constant"), np.ascontiguousarray(np.broadcast_to(core, target))
                    )
                n.input[k] = made[(c, target)]
                count += 1
        if count:
            self.log.append(
                f"broadcast the constant operand of {count} Mul/Add nodes to the per-sample shape "
                "(OpenCV 4.6 lines constants up with axis 1 and takes a leading dimension as batch)"
            )

    def gather_to_slice(self) -> None:
        # Gather with a scalar index is a Slice of width 1 that drops the axis.
        # OpenCV 4.6 keeps the axis (qkv[0] in attention then feeds a 5-D
        # tensor to a 4-D Transpose); Slice + Reshape to the known shape, with
        # -1 for the one dynamic dimension, is the same result.
        dims, _ = self.infer()
        out = []
        count = 0
        for n in self.nodes:
            if n.op_type == "Gather" and not self.is_const(n.input[0]) and self.is_const(n.input[1]):
                index = self.value(n.input[1])
                data_shape = dims.get(n.input[0])
                out_shape = dims.get(n.output[0])
                if index.ndim == 0 and data_shape is not None and out_shape is not None:
                    axis = int(_attr(n, "axis", 0)) % len(data_shape)
                    size = data_shape[axis]
                    unknown = [d for d in out_shape if not isinstance(d, int)]
                    if isinstance(size, int) and len(unknown) <= 1 and -size <= int(index) < size:
                        i = int(index) % size
                        base = self.fresh("gather_as_slice")
                        starts = self.add_const(base + "_starts", np.array([i], np.int64))
                        ends = self.add_const(base + "_ends", np.array([i + 1], np.int64))
                        axes = self.add_const(base + "_axes", np.array([axis], np.int64))
                        shape = self.add_const(
                            base + "_shape", np.array([d if isinstance(d, int) else -1 for d in out_shape], np.int64)
                        )
                        slice_inputs = [n.input[0], starts, ends, axes]
                        out.append(helper.make_node("Slice", slice_inputs, [base + "_y"], name=base))
                        out.append(helper.make_node("Reshape", [base + "_y", shape], [n.output[0]], name=base + "_r"))
                        count += 1
                        continue
            out.append(n)
        self.nodes = out
        if count:
            self.log.append(
                f"rewrote {count} scalar-index Gather nodes as Slice + Reshape (OpenCV 4.6 keeps the gathered axis)"
            )

    def eliminate_dead(self) -> None:
        live = set(self.graph_outputs)
        kept = []
        for n in reversed(self.nodes):
            if any(o in live for o in n.output):
                kept.append(n)
                live.update(i for i in n.input if i)
        kept.reverse()
        self.nodes = kept
        for name in [k for k in self.values if k not in live]:
            del self.values[name]
        for name in [k for k in self.init_protos if k not in live]:
            del self.init_protos[name]

    def run(self) -> list[str]:
        self.constants_to_initializers()
        self.remove_identities()
        self.remove_dropout()
        # Removing a no-op can make more shapes static, which lets folding go
        # further: alternate until neither finds anything.
        folded = reshapes = 0
        noops: dict = {}
        while True:
            f, r = self.fold_constants()
            removed = self.remove_noops()
            folded, reshapes = folded + f, reshapes + r
            for op, c in removed.items():
                noops[op] = noops.get(op, 0) + c
            if not removed:
                break
        if folded:
            self.log.append(f"folded {folded} shape/constant nodes into initializers (numpy evaluation)")
        if reshapes:
            self.log.append(f"made {reshapes} batch-dependent Reshape targets constant with -1 for the batch entry")
        for op, c in sorted(noops.items()):
            self.log.append(f"removed {c} no-op {op} nodes")
        self.fold_batch_for_broadcast()
        self.expand_broadcast_constants()
        self.gather_to_slice()
        self.eliminate_dead()
        return self.log

    def result(self):
        g = self.model.graph
        inits = [self.init_protos[k] for k in self.init_protos if k not in self.values]
        inits += [numpy_helper.from_array(v, k) for k, v in self.values.items()]
        graph = helper.make_graph(self.nodes, g.name, list(g.input), list(g.output), inits)
        model = helper.make_model(
            graph,
            opset_imports=list(self.model.opset_import),
            ir_version=self.model.ir_version,
            producer_name=self.model.producer_name,
            producer_version=self.model.producer_version,
        )
        return model


# ---- numpy evaluators for constant folding. Each takes (node, inputs) and
# returns the list of outputs. Only the forms torch 1.13 emits for shape
# arithmetic are needed; anything else raises and the node is left alone.


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _np_dtype(elem_type):
    return mapping.TENSOR_TYPE_TO_NP_TYPE[elem_type]


def _trunc_div(a, b):
    if np.issubdtype(np.result_type(a, b), np.integer):
        q = np.abs(a) // np.abs(b)
        return (q * np.sign(a) * np.sign(b)).astype(np.result_type(a, b))
    return (a / b).astype(np.result_type(a, b))


def _mod(node, a, b):
    if _attr(node, "fmod", 0):
        return np.fmod(a, b)
    return np.mod(a, b)


def _slice(node, ins):
    data, starts, ends = ins[0], ins[1], ins[2]
    axes = ins[3] if len(ins) > 3 and ins[3] is not None else np.arange(len(starts))
    steps = ins[4] if len(ins) > 4 and ins[4] is not None else np.ones(len(starts), np.int64)
    index = [slice(None)] * data.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[int(a)] = slice(int(s), int(e), int(st))
    return data[tuple(index)]


def _scatter_nd(data, indices, updates):
    out = data.copy()
    idx = indices.reshape(-1, indices.shape[-1])
    upd = updates.reshape((idx.shape[0],) + data.shape[indices.shape[-1]:])
    for k in range(idx.shape[0]):
        out[tuple(idx[k])] = upd[k]
    return out


def _evaluators():
    def unsq(node, ins):
        axes = ins[1] if len(ins) > 1 else _attr(node, "axes")
        out = ins[0]
        rank = out.ndim + len(axes)
        for a in sorted(int(x) % rank for x in axes):
            out = np.expand_dims(out, a)
        return out

    def sq(node, ins):
        axes = ins[1] if len(ins) > 1 and ins[1] is not None else _attr(node, "axes")
        if axes is None:
            return np.squeeze(ins[0])
        return np.squeeze(ins[0], axis=tuple(int(a) for a in axes))

    def const_of_shape(node, ins):
        t = _attr(node, "value")
        if t is None:
            return np.zeros(ins[0].astype(np.int64), np.float32)
        v = numpy_helper.to_array(t)
        return np.full(ins[0].astype(np.int64), v.reshape(-1)[0], dtype=v.dtype)

    def reshape(node, ins):
        shape = [int(s) for s in ins[1]]
        if not _attr(node, "allowzero", 0):
            shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
        return ins[0].reshape(shape)

    def expand(node, ins):
        return ins[0] * np.ones(ins[1].astype(np.int64), dtype=ins[0].dtype)

    def gather(node, ins):
        return np.take(ins[0], ins[1].astype(np.int64), axis=_attr(node, "axis", 0))

    def concat(node, ins):
        return np.concatenate([i for i in ins], axis=_attr(node, "axis"))

    def cast(node, ins):
        return ins[0].astype(_np_dtype(_attr(node, "to")))

    def rng(node, ins):
        start, limit, delta = (x.item() for x in ins)
        return np.arange(start, limit, delta, dtype=ins[0].dtype)

    def transpose(node, ins):
        return np.transpose(ins[0], _attr(node, "perm"))

    def same_type(fn):
        # numpy promotes int64 op float64 scalars etc.; ONNX keeps the input type.
        return lambda node, ins: [np.asarray(fn(node, *ins)).astype(ins[0].dtype)]

    table = {
        "Add": same_type(lambda n, a, b: a + b),
        "Sub": same_type(lambda n, a, b: a - b),
        "Mul": same_type(lambda n, a, b: a * b),
        "Div": same_type(lambda n, a, b: _trunc_div(a, b)),
        "Mod": same_type(_mod),
        "Neg": same_type(lambda n, a: -a),
        "Abs": same_type(lambda n, a: np.abs(a)),
        "Sqrt": same_type(lambda n, a: np.sqrt(a)),
        "Pow": same_type(lambda n, a, b: np.power(a, b)),
        "Floor": same_type(lambda n, a: np.floor(a)),
        "Ceil": same_type(lambda n, a: np.ceil(a)),
        "Equal": lambda n, ins: [np.equal(ins[0], ins[1])],
        "Less": lambda n, ins: [np.less(ins[0], ins[1])],
        "Greater": lambda n, ins: [np.greater(ins[0], ins[1])],
        "Not": lambda n, ins: [np.logical_not(ins[0])],
        "And": lambda n, ins: [np.logical_and(ins[0], ins[1])],
        "Or": lambda n, ins: [np.logical_or(ins[0], ins[1])],
        "Where": lambda n, ins: [np.where(ins[0], ins[1], ins[2])],
        "Unsqueeze": lambda n, ins: [unsq(n, ins)],
        "Squeeze": lambda n, ins: [sq(n, ins)],
        "ConstantOfShape": lambda n, ins: [const_of_shape(n, ins)],
        "Reshape": lambda n, ins: [reshape(n, ins)],
        "Expand": lambda n, ins: [expand(n, ins)],
        "Gather": lambda n, ins: [gather(n, ins)],
        "Concat": lambda n, ins: [concat(n, ins)],
        "Cast": lambda n, ins: [cast(n, ins)],
        "Range": lambda n, ins: [rng(n, ins)],
        "Slice": lambda n, ins: [_slice(n, ins)],
        "Transpose": lambda n, ins: [transpose(n, ins)],
        "ScatterND": lambda n, ins: [_scatter_nd(*ins)],
        "Shape": lambda n, ins: [np.array(ins[0].shape, np.int64)],
        "Size": lambda n, ins: [np.array(ins[0].size, np.int64)],
    }
    return table


def _partial_evaluators():
    """Element-wise evaluation of int64 shape vectors with unknown entries."""
    def elementwise(fn):
        def run(node, args):
            (va, ka), (vb, kb) = args
            if not (np.issubdtype(va.dtype, np.integer) and np.issubdtype(vb.dtype, np.integer)):
                raise ValueError("only integer shape arithmetic")
            known = np.broadcast_to(ka, np.broadcast(va, vb).shape) & np.broadcast_to(kb, np.broadcast(va, vb).shape)
            safe_b = np.where(np.broadcast_to(kb, known.shape), vb, 1) if node.op_type in ("Div", "Mod") else vb
            return fn(node, va, safe_b).astype(np.int64), known

        return run

    def gather(node, args):
        (v, k), (idx, idx_known) = args
        if not idx_known.all():
            raise ValueError("gather indices unknown")
        axis = _attr(node, "axis", 0)
        idx = idx.astype(np.int64)
        return np.take(v, idx, axis=axis), np.take(k, idx, axis=axis)

    def unsqueeze(node, args):
        (v, k) = args[0]
        axes = args[1][0] if len(args) > 1 else _attr(node, "axes")
        for a in sorted(int(x) % (v.ndim + len(axes)) for x in axes):
            v, k = np.expand_dims(v, a), np.expand_dims(k, a)
        return v, k

    def squeeze(node, args):
        (v, k) = args[0]
        axes = args[1][0] if len(args) > 1 and args[1] is not None else _attr(node, "axes")
        axes = tuple(int(a) for a in axes) if axes is not None else None
        return np.squeeze(v, axis=axes), np.squeeze(k, axis=axes)

    def concat(node, args):
        axis = _attr(node, "axis")
        return np.concatenate([a[0] for a in args], axis=axis), np.concatenate([a[1] for a in args], axis=axis)

    def slc(node, args):
        v, k = args[0]
        params = []
        for a in args[1:]:
            if a is not None and not a[1].all():
                raise ValueError("slice parameters unknown")
            params.append(None if a is None else a[0])
        return _slice(node, [v] + params), _slice(node, [k] + params)

    def cast(node, args):
        v, k = args[0]
        if not np.issubdtype(_np_dtype(_attr(node, "to")), np.integer):
            raise ValueError("only integer casts of shape values")
        return v, k

    return {
        "Gather": gather,
        "Unsqueeze": unsqueeze,
        "Squeeze": squeeze,
        "Concat": concat,
        "Slice": slc,
        "Cast": cast,
        "Add": elementwise(lambda n, a, b: a + b),
        "Sub": elementwise(lambda n, a, b: a - b),
        "Mul": elementwise(lambda n, a, b: a * b),
        "Div": elementwise(lambda n, a, b: _trunc_div(a, b)),
        "Mod": elementwise(_mod),
    }




# --------------------------------------------------------------------------
# Export


def input_chw(name: str) -> tuple[int, int, int]:
    return INPUT_CHW.get(name, (3, 224, 224))


def build_model(name: str) -> tuple[object, dict]:
    """The eval-mode model and the manifest fields that describe where its weights come from."""
    if name == "digits_cnn":
        model, training = digits_cnn.train(log=lambda line: print(line, flush=True))
        return model, {
            "source": "inferlab models/digits_cnn.py (DigitsCnn)",
            "weights": f"trained on the {training['train_samples']} training digits of digits.png (seed {digits_cnn.TRAIN_SEED})",
            "seed": digits_cnn.TRAIN_SEED,
            "training": training,
            "preprocess": digits_cnn.PREPROCESS,
        }
    torch.manual_seed(SEED)
    return getattr(torchvision.models, name)(weights=None).eval(), {
        "source": f"torchvision {release(torchvision.__version__)} models.{name}(weights=None)",
        "weights": f"seeded (torch.manual_seed({SEED})), not trained",
        "seed": SEED,
        "preprocess": PREPROCESS,
    }


def export_onnx(model, name: str, path: str, raw: str) -> tuple[int, list[str]]:
    """Exports to `raw`, applies the fixups and writes the result to `path`."""
    opset, opset_reason = OPSET_OVERRIDES.get(name, (DEFAULT_OPSET, ""))
    dummy = torch.zeros(1, *input_chw(name))
    try:
        with warnings.catch_warnings():
            # torch's exporter warns about every traced shape read; the fixups below handle them.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                dummy,
                raw,
                opset_version=opset,
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                do_constant_folding=True,
            )
        exported = onnx.load(raw)
    finally:
        if os.path.exists(raw):
            os.remove(raw)

    fixer = OnnxFixer(exported)
    fixups = fixer.run()
    if opset_reason:
        fixups.insert(0, f"exported at opset {opset}: {opset_reason}")
    fixed = fixer.result()
    try:
        onnx.checker.check_model(fixed)
        onnx.shape_inference.infer_shapes(fixed, strict_mode=True)
    except Exception as e:  # the checker's messages span lines; keep the first
        raise PrepareError(f"fixed ONNX model is invalid: {str(e).strip().splitlines()[0]}") from e
    onnx.save(fixed, path)
    return opset, fixups


def export_torchscript(model, path: str, example=None):
    example = torch.zeros(1, 3, 224, 224) if example is None else example
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # check_trace would run the model twice more; check_torchscript()
        # compares the saved file with eager PyTorch instead.
        traced = torch.jit.trace(model, example, check_trace=False)
        frozen = torch.jit.freeze(traced)
        graph = frozen.graph
        # optimize_for_inference minus ConvertFrozenOpsToMKLDNN, whose MKLDNN
        # constants torch.jit.save writes but torch.jit.load rejects.
        torch._C._jit_pass_fuse_frozen_conv_add_relu(graph)
        torch._C._jit_pass_transpose_frozen_linear(graph)
    # Saved through a buffer: given a path, torch names the archive's root
    # folder after the (temporary) file name.
    buffer = io.BytesIO()
    torch.jit.save(frozen, buffer)
    with open(path, "wb") as f:
        f.write(buffer.getbuffer())


def check_torchscript(model, path: str, sample_shape=(3, 224, 224)) -> dict:
    """Loads the saved TorchScript and compares it with eager PyTorch."""
    gen = torch.Generator().manual_seed(CHECK_SEED)
    x = torch.rand(CHECK_BATCH, *sample_shape, generator=gen) * 2 - 1
    loaded = torch.jit.load(path)
    with torch.no_grad():
        want = model(x)
        got = loaded(x)
    diff = float((got - want).abs().max())
    scale = float(want.abs().max())
    # Relative to the logits' own scale: seeded, untrained networks give logits
    # anywhere from 1e-14 (efficientnet_b0) to 1e8 (resnet152).
    if not math.isfinite(diff) or diff > 1e-4 * scale + 1e-6:
        raise PrepareError(
            f"TorchScript output differs from eager PyTorch: max abs diff {diff:.3g} (logits up to {scale:.3g})"
        )
    return {"max_abs_diff": diff, "max_abs_logit": scale}


def count_flops(model, example) -> int:
    """2 x multiply-accumulates of one eager forward on `example` (see FLOPS_METHOD)."""
    aten = torch.ops.aten

    class Counter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.macs = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            op = func.overloadpacket
            if op is aten.convolution:
                w = args[1]
                self.macs += out.numel() * w.shape[1] * math.prod(w.shape[2:])
            elif op is aten.mm:
                self.macs += args[0].shape[0] * args[0].shape[1] * args[1].shape[1]
            elif op is aten.addmm:
                self.macs += args[1].shape[0] * args[1].shape[1] * args[2].shape[1]
            elif op is aten.bmm:
                a, b = args[0], args[1]
                self.macs += a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
            elif op is aten.baddbmm:
                a, b = args[1], args[2]
                self.macs += a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
            return out

    counter = Counter()
    with torch.no_grad(), counter:
        model(example)
    return 2 * counter.macs


# --------------------------------------------------------------------------
# Driver


def write_model(model_dir: str, name: str, model, example, export, fields: dict) -> dict:
    """Writes <name>.onnx (through `export(tmp_onnx, tmp_raw) -> (opset, fixups)`), frozen
    TorchScript checked against eager PyTorch on `example`'s shape, and manifest.json with the
    common fields plus `fields`. Files are written under temporary names and renamed into place
    only when all are complete and checked; the manifest goes last, so a manifest always
    describes complete files. Returns the TorchScript check."""
    onnx_name, ts_name = f"{name}.onnx", f"{name}.pt"
    tmp_onnx = os.path.join(model_dir, f".{onnx_name}.tmp{os.getpid()}")
    tmp_ts = os.path.join(model_dir, f".{ts_name}.tmp{os.getpid()}")
    tmp_manifest = os.path.join(model_dir, f".manifest.json.tmp{os.getpid()}")
    tmp_raw = os.path.join(model_dir, f".{name}.torch-export.onnx.tmp{os.getpid()}")
    try:
        opset, fixups = export(tmp_onnx, tmp_raw)
        export_torchscript(model, tmp_ts, example)
        check = check_torchscript(model, tmp_ts, tuple(example.shape[1:]))
        manifest = {
            "schema": SCHEMA,
            "name": name,
            "prepare_version": PREPARE_VERSION,
            "zoos": zoos_of(name),
            "files": {"onnx": onnx_name, "torchscript": ts_name},
            "sha256": {"onnx": sha256_of(tmp_onnx), "torchscript": sha256_of(tmp_ts)},
            "torchscript_form": TORCHSCRIPT_FORM,
            "onnx_opset": opset,
            "onnx_fixups": fixups,
            "parameters": sum(p.numel() for p in model.parameters()),
            "flops_per_sample": count_flops(model, example),
            "flops_method": FLOPS_METHOD,
            **fields,
            "torchscript_check": {
                "input": f"torch.rand({CHECK_BATCH},{','.join(map(str, example.shape[1:]))}) * 2 - 1, "
                f"generator seed {CHECK_SEED}",
                "max_abs_diff_vs_eager": check["max_abs_diff"],
                "max_abs_logit": check["max_abs_logit"],
            },
        }
        with open(tmp_manifest, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        os.replace(tmp_onnx, os.path.join(model_dir, onnx_name))
        os.replace(tmp_ts, os.path.join(model_dir, ts_name))
        os.replace(tmp_manifest, os.path.join(model_dir, "manifest.json"))
    finally:
        for tmp in (tmp_onnx, tmp_ts, tmp_manifest, tmp_raw):
            if os.path.exists(tmp):
                os.remove(tmp)
    return check


def prepare_one(name: str, root: str, force: bool) -> str:
    model_dir = os.path.join(root, name)
    if not force and is_cached(model_dir, name):
        return "cached"
    os.makedirs(model_dir, exist_ok=True)
    remove_stale_temporaries(model_dir)
    if name in TRAINED_MODELS:
        return prepare_rppg_net(name, model_dir)

    model, origin = build_model(name)
    chw = list(input_chw(name))
    fields = {
        "source": origin["source"],
        "weights": origin["weights"],
        "seed": origin["seed"],
        "inputs": [{"name": "input", "dtype": "float32", "shape": [-1, *chw], "layout": "NCHW"}],
        "outputs": [{"name": "logits", "dtype": "float32", "shape": [-1, CLASSES.get(name, 1000)]}],
        "preprocess": origin["preprocess"],
    }
    if "training" in origin:
        fields["training"] = origin["training"]
    check = write_model(
        model_dir, name, model, torch.zeros(1, *chw), lambda out, raw: export_onnx(model, name, out, raw), fields
    )
    return f"prepared (torchscript max abs diff {check['max_abs_diff']:.3g}, logits up to {check['max_abs_logit']:.3g})"


def export_rppg_onnx(model, example, out: str, raw: str) -> tuple[int, list[str]]:
    """rppg_net at opset 11 (inputs frames, output pulse_diff), with the same fixups as the zoo."""
    opset = 11
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            example,
            raw,
            opset_version=opset,
            input_names=["frames"],
            output_names=["pulse_diff"],
            dynamic_axes={"frames": {0: "batch"}, "pulse_diff": {0: "batch"}},
            do_constant_folding=True,
        )
    fixer = OnnxFixer(onnx.load(raw))
    fixups = fixer.run()
    fixed = fixer.result()
    onnx.checker.check_model(fixed)
    onnx.save(fixed, out)
    return opset, fixups


def prepare_rppg_net(name: str, model_dir: str) -> str:
    """Trains the neural rPPG model on synthetic clips (seeded) and writes it like the other models."""
    import rppg_net  # models/rppg_net.py, beside this script

    model, training = rppg_net.train(SEED)
    example = torch.zeros(1, 6, rppg_net.SIDE, rppg_net.SIDE)
    fields = {
        "source": "inferlab models/rppg_net.py RppgNet (DeepPhys-style motion branch gated by appearance attention)",
        "weights": f"trained on synthetic skin patches only (seed {SEED}); see docs/rppg.md",
        "seed": SEED,
        "inputs": [{"name": "frames", "dtype": "float32", "shape": [-1, 6, rppg_net.SIDE, rppg_net.SIDE], "layout": "NCHW"}],
        "outputs": [{"name": "pulse_diff", "dtype": "float32", "shape": [-1, 1]}],
        "contract": "docs/rppg.md: channels 0-2 100*(c_t-c_{t-1})/(c_t+c_{t-1}+1e-3), 3-5 c_t standardised; "
        "output: pulse first difference x 10",
        "training": training,
    }
    write_model(
        model_dir, name, model, example, lambda out, raw: export_rppg_onnx(model, example, out, raw), fields
    )
    v = training["validation"]
    return (
        f"trained in {training['seconds']} s on synthetic clips; held-out synthetic BPM MAE {v['bpm_mae']}, "
        f"output-vs-truth r {v['pearson_r_output_vs_true_difference']}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Prepare inferlab reference models (ONNX + TorchScript + manifest).")
    parser.add_argument("--zoo", required=True, choices=sorted(ZOOS) + ["all"])
    parser.add_argument("--dir", required=True, help="model directory; each model goes to DIR/<name>/")
    parser.add_argument("--force", action="store_true", help="rebuild even when an up-to-date copy exists")
    args = parser.parse_args(argv)

    if IMPORT_ERROR is not None:
        print(
            f"prepare.py: {IMPORT_ERROR} (run with /usr/bin/python3, which has python3-torch, "
            "python3-torchvision and python3-onnx)",
            file=sys.stderr,
        )
        return 2

    try:
        os.makedirs(args.dir, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=args.dir, prefix=".probe")
        probe.close()
    except OSError as e:
        print(f"prepare.py: --dir {args.dir}: {e.strerror or e}", file=sys.stderr)
        return 2
    torch.set_num_threads(os.cpu_count() or 1)
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C so the temporary files are removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    total = time.monotonic()
    for name in models_for(args.zoo):
        start = time.monotonic()
        try:
            status = prepare_one(name, args.dir, args.force)
        except PrepareError as e:
            print(f"prepare.py: {name}: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"prepare.py: {name}: interrupted", file=sys.stderr)
            return 130
        except Exception as e:  # torch/onnx failures: one line, not a traceback
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            print(f"prepare.py: {name}: {type(e).__name__}: {first}", file=sys.stderr)
            return 1
        print(f"{name}: {status} in {time.monotonic() - start:.1f} s", flush=True)
    print(f"zoo {args.zoo}: done in {time.monotonic() - total:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
