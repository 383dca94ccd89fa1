"""An ONNX graph as one JAX function, op by op (lowerings in jax_ops.OPS)."""
from onnx import helper, numpy_helper

from inferlab_py import Unsupported
from inferlab_py.jax_ops import OPS


def lower(model):
    """(fn, params, input_names): fn(params, *inputs) -> list of outputs.

    Float initializers become `params`, a jit argument, so XLA gets weights as
    device buffers rather than folding hundreds of MB of constants into the
    executable; integer initializers (shapes, axes) stay numpy constants.
    Raises Unsupported naming the first ONNX op with no lowering.
    """
    graph = model.graph
    missing = sorted({n.op_type for n in graph.node if n.domain in ("", "ai.onnx")} - OPS.keys()
                     | {f"{n.domain}.{n.op_type}" for n in graph.node if n.domain not in ("", "ai.onnx")})
    if missing:
        raise Unsupported(f"the jax backend cannot lower ONNX op {missing[0]} (unlowered: {', '.join(missing)})")
    initializers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    params = {k: v for k, v in initializers.items() if v.dtype.kind == "f"}
    constants = {k: v for k, v in initializers.items() if k not in params}
    input_names = [i.name for i in graph.input if i.name not in initializers]
    nodes = [(n.op_type, list(n.input), list(n.output), {a.name: helper.get_attribute_value(a) for a in n.attribute})
             for n in graph.node]
    output_names = [o.name for o in graph.output]

    def fn(weights, *inputs):
        env = dict(constants)
        env.update(weights)
        env.update(zip(input_names, inputs))
        for op_type, ins, outs, attrs in nodes:
            results = OPS[op_type]([env[name] if name else None for name in ins], attrs)
            env.update(zip(outs, results))
        return [env[name] for name in output_names]

    return fn, params, input_names


def supported_ops():
    """The ONNX ops (default domain) this lowering covers, sorted."""
    return sorted(OPS)


if __name__ == "__main__":
    print("\n".join(supported_ops()))
