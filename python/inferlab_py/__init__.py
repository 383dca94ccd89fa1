"""inferlab's Python side: the python-worker backends (jax, openvino, tvm).

The C++ launcher (inferlab-worker-<backend>) starts python/inferlab_worker.py
in the project's virtual environment and drives it iteration by iteration;
every run rule and every statistic stays in C++ (src/backends/python/python_worker.cpp).
"""


class Unsupported(Exception):
    """The framework cannot run this model (e.g. an ONNX op it cannot lower)."""
