"""sum, mean and max: the kernel (emulated, and on the GPU) vs the NumPy reference.

max is bit-exact; sum and mean within the error bound of two summation orders of the same terms
(kernel_testing.sum_error_bound), which a fixed tolerance cannot be: the fp32 column sums of a
(1024, 4096) array differ from NumPy's by more than 2e-5 in places. Covers the row path
(last axis and all axes, including rows long enough to be split over blocks), the column path,
NaN, 1-element, empty and non-contiguous inputs, keepdims, every float dtype.
"""

from __future__ import annotations

import numpy as np
import pytest
from kernel_testing import assert_close, assert_same, assert_within, random_array, sum_error_bound

from gpucell.backend.kernel_ops import reduce
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES, acc_dtype

# (shape, axis): rows, split rows, columns, all axes, 1 element, empty outputs and empty axes.
CASES = [((7, 300), 1), ((3000,), None), ((2, 2500), -1), ((300, 45), 0), ((3, 70, 5), 1), ((4, 5, 6), None),
         ((2000, 5), 0), ((3001, 7), 0),  # long columns: the axis is split over blocks, then combined
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
                continue
            magnitude = np.abs(x.astype(np.float64)).sum(axis=axis, keepdims=keepdims)
            if name == "mean":
                magnitude = magnitude / max(length, 1) * 2  # the division rounds once more
            assert_within(expected, actual, sum_error_bound(magnitude, max(length, 1), x.dtype, acc_dtype(x.dtype)))


def test_nan_and_non_contiguous(run):
    x = np.random.default_rng(1).standard_normal((6, 40)).astype(np.float32)
    x[2, 17] = np.nan
    for name in ("sum", "mean", "max"):
        assert_close(reduce(name, x, axis=1), run(reduce, name, x, axis=1), 2e-6, 2e-5)
        assert_close(reduce(name, x.T, axis=0), run(reduce, name, x.T, axis=0), 2e-6, 2e-5)
        view = x[::2, ::3]
        assert_close(reduce(name, view, axis=0), run(reduce, name, view, axis=0), 2e-6, 2e-5)
