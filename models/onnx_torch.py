"""An ONNX graph as a trainable torch module: the trainable form of a model inferlab rewrote.

A pruned model (channel-pruned shapes, zeroed weights) exists only as the ONNX
graph inferlab measured, so fine-tuning trains that graph's own initializers
with torch autograd: no name mapping to a PyTorch definition, no re-applied
surgery, and the file written back is the same graph with new weight values
(its metadata_props, preprocessing included, untouched).

Supported ops are those of small CNN classifiers. Any other op raises
NoTrainableForm naming it.
"""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn
from torch.nn import functional as F


class NoTrainableForm(ValueError):
    """The graph holds an op this module cannot differentiate."""


SUPPORTED = {
    "Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Gemm", "MatMul",
    "Add", "Mul", "Sub", "BatchNormalization", "Sigmoid", "Identity", "Dropout", "Clip", "Softmax",
}
# Inputs that are learned: the weight (input 1) and bias (input 2) of these ops.
LEARNED = {"Conv": (1, 2), "Gemm": (1, 2), "MatMul": (1,), "BatchNormalization": (1, 2)}
MASKED = {"Conv", "Gemm", "MatMul"}  # weights whose zeros (pruning) stay zero


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pads(pads, dims: int):
    """ONNX pads [b1..bn, e1..en] as (symmetric padding, or None and an F.pad list)."""
    if not pads:
        return [0] * dims, None
    begin, end = list(pads[:dims]), list(pads[dims:])
    if begin == end:
        return begin, None
    explicit = []
    for b, e in zip(reversed(begin), reversed(end)):
        explicit += [b, e]
    return [0] * dims, explicit


class OnnxModule(nn.Module):
    def __init__(self, model: onnx.ModelProto):
        super().__init__()
        self.model = model
        g = model.graph
        for node in g.node:
            if node.op_type not in SUPPORTED:
                raise NoTrainableForm(f"op {node.op_type} (node {node.name or node.output[0]}) is not trainable here")
            if _attrs(node).get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise NoTrainableForm(f"node {node.name}: auto_pad is not supported")
        learned = set()
        for node in g.node:
            for i in LEARNED.get(node.op_type, ()):
                if i < len(node.input):
                    learned.add(node.input[i])
        self.names: list[str] = []
        self.params = nn.ParameterList()
        self.consts: dict[str, torch.Tensor] = {}
        self.index: dict[str, int] = {}
        for init in g.initializer:
            array = numpy_helper.to_array(init).copy()
            if init.name in learned and array.dtype == np.float32:
                self.index[init.name] = len(self.names)
                self.names.append(init.name)
                self.params.append(nn.Parameter(torch.from_numpy(array)))
            else:
                self.consts[init.name] = torch.from_numpy(array)
        self.masks: dict[int, torch.Tensor] = {}
        graph_inits = {i.name for i in g.initializer}
        self.input_name = next(i.name for i in g.input if i.name not in graph_inits)
        self.output_name = g.output[0].name

    def keep_zeros_fixed(self) -> int:
        """Records the zeros of every Conv/Gemm/MatMul weight as a fixed mask; returns how many."""
        zeros = 0
        for node in self.model.graph.node:
            if node.op_type in MASKED and node.input[1] in self.index:
                i = self.index[node.input[1]]
                mask = (self.params[i].detach() != 0).float()
                self.masks[i] = mask
                zeros += int((mask == 0).sum())
        return zeros

    def apply_masks(self) -> None:
        with torch.no_grad():
            for i, mask in self.masks.items():
                self.params[i].mul_(mask)

    def _value(self, env: dict, name: str):
        if name == "":
            return None
        if name in env:
            return env[name]
        if name in self.index:
            return self.params[self.index[name]]
        return self.consts[name]

    def forward(self, x):
        env = {self.input_name: x}
        for node in self.model.graph.node:
            ins = [self._value(env, n) for n in node.input]
            a = _attrs(node)
            op = node.op_type
            if op == "Conv":
                dims = ins[1].dim() - 2
                pad, explicit = _pads(a.get("pads"), dims)
                inp = F.pad(ins[0], explicit) if explicit else ins[0]
                conv = F.conv2d if dims == 2 else F.conv1d
                y = conv(inp, ins[1], ins[2] if len(ins) > 2 else None, stride=a.get("strides", 1), padding=pad,
                         dilation=a.get("dilations", 1), groups=a.get("group", 1))
            elif op in ("MaxPool", "AveragePool"):
                k = a["kernel_shape"]
                pad, explicit = _pads(a.get("pads"), len(k))
                inp = F.pad(ins[0], explicit, value=-float("inf") if op == "MaxPool" else 0.0) if explicit else ins[0]
                pool = F.max_pool2d if op == "MaxPool" else F.avg_pool2d
                y = pool(inp, k, stride=a.get("strides", k), padding=pad, ceil_mode=bool(a.get("ceil_mode", 0)))
            elif op == "GlobalAveragePool":
                y = ins[0].mean(dim=tuple(range(2, ins[0].dim())), keepdim=True)
            elif op == "Relu":
                y = F.relu(ins[0])
            elif op == "Sigmoid":
                y = torch.sigmoid(ins[0])
            elif op == "Clip":
                lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min")
                hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max")
                y = torch.clamp(ins[0], None if lo is None else float(lo), None if hi is None else float(hi))
            elif op == "Softmax":
                y = F.softmax(ins[0], dim=a.get("axis", -1))
            elif op in ("Identity", "Dropout"):
                y = ins[0]
            elif op == "Flatten":
                y = torch.flatten(ins[0], a.get("axis", 1))
            elif op == "Reshape":
                shape = [int(s) for s in ins[1].tolist()]
                shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
                y = ins[0].reshape(shape)
            elif op == "Gemm":
                A = ins[0].t() if a.get("transA", 0) else ins[0]
                B = ins[1].t() if a.get("transB", 0) else ins[1]
                y = a.get("alpha", 1.0) * (A @ B)
                if len(ins) > 2 and ins[2] is not None:
                    y = y + a.get("beta", 1.0) * ins[2]
            elif op == "MatMul":
                y = ins[0] @ ins[1]
            elif op == "Add":
                y = ins[0] + ins[1]
            elif op == "Sub":
                y = ins[0] - ins[1]
            elif op == "Mul":
                y = ins[0] * ins[1]
            elif op == "BatchNormalization":
                y = F.batch_norm(ins[0], ins[3], ins[4], ins[1], ins[2], False, 0.0, a.get("epsilon", 1e-5))
            env[node.output[0]] = y
        return env[self.output_name]

    def to_onnx(self) -> onnx.ModelProto:
        """The same graph with the trained values (everything else, metadata included, kept)."""
        out = onnx.ModelProto()
        out.CopyFrom(self.model)
        for init in out.graph.initializer:
            if init.name in self.index:
                array = self.params[self.index[init.name]].detach().numpy().astype(np.float32)
                init.CopyFrom(numpy_helper.from_array(array, init.name))
        return out


def input_chw(model: onnx.ModelProto) -> tuple:
    """The graph input's per-sample shape (dims after the batch)."""
    inits = {i.name for i in model.graph.initializer}
    inp = next(i for i in model.graph.input if i.name not in inits)
    return tuple(d.dim_value if d.HasField("dim_value") else -1 for d in inp.type.tensor_type.shape.dim[1:])
