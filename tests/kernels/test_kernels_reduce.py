"""sum, mean and max: the kernel (emulated, and on the GPU) vs the NumPy reference.

max is bit-exact; sum and mean within tolerance (another summation order). Covers the row path
(last axis and all axes, including rows long enough to be split over blocks), the column path,
NaN, 1-element, empty and non-contiguous inputs, keepdims, every float dtype.
"""

from __future__ import annotations

import numpy as np
import pytest
from kernel_testing import assert_close, assert_same, random_array

from gpucell.backend.kernel_ops import reduce
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES

TOL = {np.dtype(np.float16): (4e-3, 4e-3), np.dtype(np.float32): (2e-6, 2e-5), np.dtype(np.float64): (1e-13, 1e-12)}
# (shape, axis): rows, split rows, columns, all axes, 1 element, empty outputs and empty axes.
CASES = [((7, 300), 1), ((3000,), None), ((2, 2500), -1), ((300, 45), 0), ((3, 70, 5), 1), ((4, 5, 6), None),
         ((1,), 0), ((1, 1), None), ((0, 4), 1), ((4, 0), 1), ((0, 4), 0)]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reduce(run, name, dtype):
    rng = np.random.default_rng(0)
    cases = CASES + ([(((1 << 22) + 1,), None), ((1024, 4096), 0), ((4096, 1000), 1)] if run.name == "gpu" else [])
    for shape, axis in cases:
        length = int(np.prod(shape)) if axis is None else shape[axis]
        if name == "max" and length == 0:
            continue
        x = random_array(rng, shape, dtype)
        for keepdims in (False, True):
            expected = reduce(name, x, axis=axis, keepdims=keepdims)
            actual = run(reduce, name, x, axis=axis, keepdims=keepdims)
            if name == "max":
                assert_same(expected, actual)
            else:
                assert_close(expected, actual, *TOL[x.dtype])


def test_nan_and_non_contiguous(run):
    x = np.random.default_rng(1).standard_normal((6, 40)).astype(np.float32)
    x[2, 17] = np.nan
    for name in ("sum", "mean", "max"):
        assert_close(reduce(name, x, axis=1), run(reduce, name, x, axis=1), 2e-6, 2e-5)
        assert_close(reduce(name, x.T, axis=0), run(reduce, name, x.T, axis=0), 2e-6, 2e-5)
        view = x[::2, ::3]
        assert_close(reduce(name, view, axis=0), run(reduce, name, view, axis=0), 2e-6, 2e-5)
