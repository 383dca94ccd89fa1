"""A byte-exact port of inferlab's fill_seeded_uniform (src/core/tensor.cpp).

Every backend must see the same seeded input bytes so that their outputs can
be compared; the C++ generator is splitmix64, whose n-th output depends only on
seed + n * golden, so numpy can compute all of them at once with wrapping
uint64 arithmetic.
"""
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)


def splitmix64(seed: int, count: int) -> np.ndarray:
    """The first `count` outputs of splitmix64 started at `seed` (uint64)."""
    with np.errstate(over="ignore"):
        state = np.uint64(seed) + _GOLDEN * np.arange(1, count + 1, dtype=np.uint64)
        z = (state ^ (state >> np.uint64(30))) * _MUL1
        z = (z ^ (z >> np.uint64(27))) * _MUL2
        return z ^ (z >> np.uint64(31))


def seeded_uniform(shape, seed: int) -> np.ndarray:
    """float32 values in [-1, 1), identical to fill_seeded_uniform(tensor, seed)."""
    count = int(np.prod(shape, dtype=np.int64))
    bits = (splitmix64(seed, count) >> np.uint64(40)).astype(np.int32)
    values = (bits - (1 << 23)).astype(np.float32) * np.float32(1.0 / (1 << 23))
    return values.reshape(shape)
