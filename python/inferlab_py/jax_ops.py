"""ONNX operators as jax.numpy / lax functions, one reference lowering each.

Each lowering takes (inputs, attributes) and returns a list of outputs.
Values that are numpy arrays (constants, shapes) stay numpy, so shape
arithmetic (Shape -> Gather -> Concat -> Reshape) is folded while tracing
and every shape XLA sees is static; values derived from the model inputs or
weights are jax tracers.
"""
import math

import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import erf
from onnx import helper


def _xp(*values):
    return np if all(isinstance(v, (np.ndarray, np.generic)) or v is None for v in values) else jnp


def _ints(value):
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _elementwise(fn_np, fn_jnp):
    def lower(args, attrs):
        xp = _xp(*args)
        return [(fn_np if xp is np else fn_jnp)(*args)]
    return lower


def _binary(name):
    return _elementwise(getattr(np, name), getattr(jnp, name))


def _pads(attrs, spatial):
    pads = attrs.get("pads", [0] * (2 * spatial))
    return [(pads[i], pads[i + spatial]) for i in range(spatial)]


def _auto_pads(attrs, in_sizes, kernel, strides, dilations):
    mode = attrs.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode in ("NOTSET", ""):
        return _pads(attrs, len(in_sizes))
    if mode == "VALID":
        return [(0, 0)] * len(in_sizes)
    pads = []
    for size, k, s, d in zip(in_sizes, kernel, strides, dilations):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small = total // 2
        pads.append((small, total - small) if mode == "SAME_UPPER" else (total - small, small))
    return pads


def conv(args, attrs):
    x, w = args[0], args[1]
    spatial = w.ndim - 2
    strides = attrs.get("strides", [1] * spatial)
    dilations = attrs.get("dilations", [1] * spatial)
    pads = _auto_pads(attrs, x.shape[2:], w.shape[2:], strides, dilations)
    names = {1: ("NCH", "OIH", "NCH"), 2: ("NCHW", "OIHW", "NCHW"), 3: ("NCDHW", "OIDHW", "NCDHW")}[spatial]
    y = lax.conv_general_dilated(x, w, window_strides=strides, padding=pads, rhs_dilation=dilations,
                                 dimension_numbers=names, feature_group_count=attrs.get("group", 1),
                                 precision=lax.Precision.HIGHEST)
    if len(args) > 2 and args[2] is not None:
        y = y + jnp.reshape(args[2], (1, -1) + (1,) * spatial)
    return [y]


def _pool_pads(attrs, x, kernel, strides):
    spatial = len(kernel)
    pads = _auto_pads(attrs, x.shape[2:], kernel, strides, [1] * spatial)
    if attrs.get("ceil_mode", 0):
        grown = []
        for size, k, s, (lo, hi) in zip(x.shape[2:], kernel, strides, pads):
            out = -(-(size + lo + hi - k) // s) + 1
            if (out - 1) * s >= size + lo:  # the last window must start inside the input or its left pad
                out -= 1
            grown.append((lo, max(hi, (out - 1) * s + k - size - lo)))
        pads = grown
    return [(0, 0), (0, 0)] + pads


def max_pool(args, attrs):
    x = args[0]
    kernel = attrs["kernel_shape"]
    strides = attrs.get("strides", [1] * len(kernel))
    pads = _pool_pads(attrs, x, kernel, strides)
    return [lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, *kernel), (1, 1, *strides), pads)]


def average_pool(args, attrs):
    x = args[0]
    kernel = attrs["kernel_shape"]
    strides = attrs.get("strides", [1] * len(kernel))
    pads = _pool_pads(attrs, x, kernel, strides)
    window, step = (1, 1, *kernel), (1, 1, *strides)
    total = lax.reduce_window(x, 0.0, lax.add, window, step, pads)
    if attrs.get("count_include_pad", 0):
        return [total / float(math.prod(kernel))]
    ones = jnp.ones((1, 1) + x.shape[2:], x.dtype)
    count = lax.reduce_window(ones, 0.0, lax.add, window, step, pads)
    return [total / count]


def global_average_pool(args, attrs):
    x = args[0]
    return [jnp.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True)]


def clip(args, attrs):
    x = args[0]
    low = args[1] if len(args) > 1 and args[1] is not None else attrs.get("min", None)
    high = args[2] if len(args) > 2 and args[2] is not None else attrs.get("max", None)
    if low is not None:
        x = jnp.maximum(x, low)
    if high is not None:
        x = jnp.minimum(x, high)
    return [x]


def gemm(args, attrs):
    a, b = args[0], args[1]
    if attrs.get("transA", 0):
        a = a.T
    if attrs.get("transB", 0):
        b = b.T
    y = attrs.get("alpha", 1.0) * jnp.matmul(a, b, precision=lax.Precision.HIGHEST)
    if len(args) > 2 and args[2] is not None:
        y = y + attrs.get("beta", 1.0) * args[2]
    return [y]


def matmul(args, attrs):
    return [jnp.matmul(args[0], args[1], precision=lax.Precision.HIGHEST)]


def flatten(args, attrs):
    x = args[0]
    axis = attrs.get("axis", 1) % max(x.ndim, 1) if attrs.get("axis", 1) < 0 else attrs.get("axis", 1)
    return [_xp(x).reshape(x, (math.prod(x.shape[:axis]), -1))]


def reshape(args, attrs):
    x, shape = args[0], _ints(args[1])
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return [_xp(x).reshape(x, shape)]


def transpose(args, attrs):
    x = args[0]
    return [_xp(x).transpose(x, attrs.get("perm", list(reversed(range(x.ndim)))))]


def concat(args, attrs):
    parts = [a for a in args if a is not None]
    return [_xp(*parts).concatenate(parts, axis=attrs["axis"])]


def softmax(args, attrs):
    import jax
    return [jax.nn.softmax(args[0], axis=attrs.get("axis", -1))]


def batch_norm(args, attrs):
    x, scale, bias, mean, var = args[:5]
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = jnp.reshape(scale / jnp.sqrt(var + attrs.get("epsilon", 1e-5)), shape)
    return [(x - jnp.reshape(mean, shape)) * inv + jnp.reshape(bias, shape)]


def layer_norm(args, attrs):
    x = args[0]
    axis = attrs.get("axis", -1) % x.ndim
    axes = tuple(range(axis, x.ndim))
    mean = jnp.mean(x, axis=axes, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=axes, keepdims=True)
    y = (x - mean) / jnp.sqrt(var + attrs.get("epsilon", 1e-5)) * args[1]
    if len(args) > 2 and args[2] is not None:
        y = y + args[2]
    return [y]


def _axes(args, attrs, index):
    if len(args) > index and args[index] is not None:
        return _ints(args[index])
    return attrs.get("axes", None)


def reduce_mean(args, attrs):
    axes = _axes(args, attrs, 1)
    x = args[0]
    return [_xp(x).mean(x, axis=None if axes is None else tuple(axes), keepdims=bool(attrs.get("keepdims", 1)))]


def squeeze(args, attrs):
    axes = _axes(args, attrs, 1)
    x = args[0]
    return [_xp(x).squeeze(x, axis=None if axes is None else tuple(axes))]


def unsqueeze(args, attrs):
    x = args[0]
    out_rank = np.ndim(x) + len(_axes(args, attrs, 1))
    axes = sorted(a % out_rank for a in _axes(args, attrs, 1))
    for a in axes:
        x = _xp(x).expand_dims(x, a)
    return [x]


def shape(args, attrs):
    dims = np.array(args[0].shape, dtype=np.int64)
    return [dims[attrs.get("start", 0):attrs.get("end", None)]]


def gather(args, attrs):
    return [_xp(*args).take(args[0], args[1], axis=attrs.get("axis", 0))]


def slice_(args, attrs):
    x = args[0]
    starts, ends = _ints(args[1]), _ints(args[2])
    axes = _ints(args[3]) if len(args) > 3 and args[3] is not None else list(range(len(starts)))
    steps = _ints(args[4]) if len(args) > 4 and args[4] is not None else [1] * len(starts)
    index = [slice(None)] * np.ndim(x)
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[a] = slice(s, e, st)
    return [x[tuple(index)]]


def cast(args, attrs):
    dtype = helper.tensor_dtype_to_np_dtype(attrs["to"])
    return [_xp(args[0]).asarray(args[0]).astype(dtype)]


def constant(args, attrs):
    from onnx import numpy_helper
    if "value" in attrs:
        return [numpy_helper.to_array(attrs["value"])]
    for key in ("value_float", "value_int"):
        if key in attrs:
            return [np.array(attrs[key])]
    for key in ("value_floats", "value_ints"):
        if key in attrs:
            return [np.array(attrs[key])]
    raise ValueError("Constant without a value")


def constant_of_shape(args, attrs):
    from onnx import numpy_helper
    value = numpy_helper.to_array(attrs["value"]) if "value" in attrs else np.zeros(1, np.float32)
    return [np.full(_ints(args[0]), value.reshape(-1)[0], dtype=value.dtype)]


def expand(args, attrs):
    x = args[0]
    xp = _xp(x)
    return [xp.broadcast_to(x, np.broadcast_shapes(np.shape(x), tuple(_ints(args[1]))))]


def where(args, attrs):
    return [_xp(*args).where(*args)]


def hard_sigmoid(args, attrs):
    return [jnp.clip(attrs.get("alpha", 0.2) * args[0] + attrs.get("beta", 0.5), 0, 1)]


def hard_swish(args, attrs):
    x = args[0]
    return [x * jnp.clip(x / 6.0 + 0.5, 0, 1)]


def _first(args, attrs):
    return [args[0]]


def _unary(fn):
    return lambda args, attrs: [fn(args[0])]


OPS = {
    "Add": _binary("add"), "Sub": _binary("subtract"), "Mul": _binary("multiply"), "Div": _binary("divide"),
    "Pow": _binary("power"), "Equal": _binary("equal"),
    "Relu": _unary(lambda x: jnp.maximum(x, 0)), "Sigmoid": _unary(lambda x: 1 / (1 + jnp.exp(-x))),
    "Tanh": _unary(jnp.tanh), "Exp": _unary(jnp.exp), "Sqrt": _unary(jnp.sqrt), "Erf": _unary(erf),
    "Neg": _unary(jnp.negative), "Reciprocal": _unary(jnp.reciprocal),
    "Clip": clip, "HardSigmoid": hard_sigmoid, "HardSwish": hard_swish,
    "Conv": conv, "MaxPool": max_pool, "AveragePool": average_pool, "GlobalAveragePool": global_average_pool,
    "Gemm": gemm, "MatMul": matmul, "BatchNormalization": batch_norm, "LayerNormalization": layer_norm,
    "Softmax": softmax, "ReduceMean": reduce_mean,
    "Flatten": flatten, "Reshape": reshape, "Transpose": transpose, "Concat": concat, "Squeeze": squeeze,
    "Unsqueeze": unsqueeze, "Shape": shape, "Gather": gather, "Slice": slice_, "Cast": cast, "Expand": expand,
    "Where": where, "Constant": constant, "ConstantOfShape": constant_of_shape,
    "Identity": _first, "Dropout": _first,
}
