"""Shared fixtures of the arrowquant Python tests (run them with `make pytest`)."""

import pathlib
import sys

import numpy as np
import pytest

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[1]
REPO_DIR = PYTHON_DIR.parent

# Import the package from this checkout, as `PYTHONPATH=python` would.
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

import arrowquant  # noqa: E402


@pytest.fixture
def q():
    return arrowquant.ArrowQuantV2()


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


@pytest.fixture(scope="session")
def big():
    """One 1000x1000 float32 array (4 MB), shared read-only by the tests that
    need long batches: many layer names may view the same array."""
    x = np.random.default_rng(1).standard_normal((1000, 1000), dtype=np.float32)
    x.setflags(write=False)
    return x


def reference_codes(result):
    """Unpack quantized_data bit by bit, following the documented layout, to a
    [rows, cols] array of codes."""
    shape, bits = result["shape"], result["bit_width"]
    cols = shape[-1]
    rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    row_bytes = (cols * bits + 7) // 8
    data = result["quantized_data"]
    codes = np.zeros((rows, cols), dtype=np.int64)
    for r in range(rows):
        row = data[r * row_bytes:(r + 1) * row_bytes]
        for c in range(cols):
            value = 0
            for k in range(bits):  # bit k of the code is bit c*bits + k of the row
                bit = c * bits + k
                value |= ((row[bit // 8] >> (bit % 8)) & 1) << k
            codes[r, c] = value
    return codes


def per_column(params, result):
    """Expand row-major [rows, groups] scales or zero points to [rows, cols]."""
    shape, gs = result["shape"], result["group_size"]
    cols = shape[-1]
    groups = -(-cols // gs)
    p = np.asarray(params, dtype=np.float32).reshape(-1, groups)
    return np.repeat(p, gs, axis=1)[:, :cols]
