"""softmax / log-softmax: the kernel (emulated, and on the GPU) vs the NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest
from kernel_testing import assert_close

from gpucell.backend.kernel_ops import softmax
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES

TOL = {np.dtype(np.float16): (2e-3, 2e-3), np.dtype(np.float32): (2e-6, 2e-6), np.dtype(np.float64): (1e-13, 1e-13)}
CASES = [((5, 10), -1), ((3, 300), 1), ((4, 7, 3), 1), ((1, 1), -1), ((1,), 0), ((0, 5), -1), ((6, 33), 0)]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("log", [False, True])
def test_softmax(run, dtype, log):
    rng = np.random.default_rng(0)
    cases = CASES + ([((4096, 1000), -1), ((64, 50000), -1), ((128, 129, 3), 1)] if run.name == "gpu" else [])
    for shape, axis in cases:
        x = (rng.standard_normal(shape) * 5).astype(dtype)
        assert_close(softmax(x, axis, log=log), run(softmax, x, axis, log=log), *TOL[x.dtype])


def test_nan_and_infinite_rows(run):
    x = np.array([[1.0, np.nan, 2.0], [-np.inf, 0.0, 1.0], [np.inf, 0.0, 1.0]], np.float32)
    for log in (False, True):
        with np.errstate(invalid="ignore"):
            expected = softmax(x, log=log)
        assert_close(expected, run(softmax, x, log=log), 1e-6, 1e-6)
