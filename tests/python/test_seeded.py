"""The Python workers' seeded input equals C++'s fill_seeded_uniform, byte for
byte (the same numbers are asserted in tests/unit/test_seeded_input.cpp)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from inferlab_py.seeded import seeded_uniform  # noqa: E402

v = seeded_uniform((2, 3, 5, 7), 20261124).reshape(-1)
assert v.dtype == np.float32
expected = np.array([0.0041321516, -0.553278327, 0.734575987, -0.361197472, -0.207595468, 0.407503963], np.float32)
assert np.array_equal(v[:6], expected), v[:6]
assert v[209] == np.float32(0.386660337), v[209]
weighted = sum(float(x) * (i + 1) for i, x in enumerate(v))
assert weighted == 1383.7371019124985, repr(weighted)
print("seeded input matches C++")
