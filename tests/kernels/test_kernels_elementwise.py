"""fill, select, comparisons and threshold: the kernel (emulated, and on the GPU) vs the reference.

Bit-exact: these kernels only move or compare values. Shapes include tails that are not a
multiple of the 256-thread block or of the grid (the emulator caps grids at 3 blocks, so the
grid-stride loops run several trips), 1-element, empty, broadcast and non-contiguous inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from kernel_testing import assert_same, random_array

from gpucell.backend.kernel_ops import compare, fill, select, threshold
from gpucell.backend.kernel_ops._checks import ALL_DTYPES, FLOAT_DTYPES
from gpucell.backend.kernel_ops.elementwise import COMPARISONS

# (cond, x, y) shapes: same shape with tails, broadcasting of every kind, 1 element, empty.
SELECT_SHAPES = [((1000,), (1000,), (1000,)), ((3, 1, 5), (4, 1), (1,)), ((1,), (1,), (1,)),
                 ((0, 3), (3,), (0, 1)), ((), (2, 3), ()), ((2, 1, 3, 1, 2, 1, 3), (1, 2, 1, 2, 1, 2, 1), (3,))]


def _shapes(run, fixed, rng):
    if run.name != "gpu":
        return fixed
    extra = []
    for _ in range(6):  # random, broadcastable, often large
        base = tuple(int(s) for s in rng.integers(1, 70, size=rng.integers(1, 5)))
        extra.append(tuple(tuple(1 if rng.random() < 0.3 else s for s in base) for _ in range(len(fixed[0]))))
    return fixed + extra + [((1 << 20) + 3,) * len(fixed[0])]


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_select(run, dtype):
    rng = np.random.default_rng(0)
    for c, xs, ys in _shapes(run, SELECT_SHAPES, rng):
        cond = np.asarray(rng.random(c) < 0.5)
        x, y = random_array(rng, xs, dtype, nan=True), random_array(rng, ys, dtype)
        assert_same(select(cond, x, y), run(select, cond, x, y))


def test_select_non_contiguous_and_negative_strides(run):
    rng = np.random.default_rng(1)
    base = random_array(rng, (9, 12), np.float32)
    x = base[::2, ::-3]  # (5, 4), strides in both directions
    y = base.T[:4, :5].T  # (5, 4) transposed view
    cond = (rng.random((4, 5)) < 0.5).T
    assert_same(select(cond, x, y), run(select, cond, x, y))
    # A byte stride that is not a whole number of elements is copied, then read normally.
    odd = np.ndarray((4,), np.float32, buffer=np.arange(80, dtype=np.uint8).view(np.float32).tobytes(),
                     offset=0, strides=(6,))
    assert_same(select(cond[:, :1], x, odd), run(select, cond[:, :1], x, odd))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_compare(run, dtype):
    rng = np.random.default_rng(2)
    for xs, ys in [(a, b) for a, b, _ in _shapes(run, [s[1:] + (s[0],) for s in SELECT_SHAPES], rng)]:
        x, y = random_array(rng, xs, dtype, nan=True), random_array(rng, ys, dtype, nan=True)
        for name in COMPARISONS:
            assert_same(compare(name, x, y), run(compare, name, x, y))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_threshold(run, dtype):
    rng = np.random.default_rng(3)
    for shape in [(1000,), (1,), (0,), (7, 300), (257,)]:
        x = random_array(rng, shape, dtype, nan=True)
        assert_same(threshold(x, 0.25, -7.5), run(threshold, x, 0.25, -7.5))
    x = random_array(rng, (40, 30), dtype)[::3, 1::2]
    assert_same(threshold(x, -0.1, 0.0), run(threshold, x, -0.1, 0.0))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_fill(run, dtype):
    like = np.zeros(1, np.float32)
    value = {"b": True, "i": -3, "u": 200}.get(np.dtype(dtype).kind, 1.5)
    for shape in [(1000,), (1,), (0,), (3, 257), ()]:
        assert_same(fill(shape, value, dtype), run(fill, shape, value, dtype, like=like))


def test_grid_stride_loops_take_several_trips(emulator, run):
    if run.name != "emulated":
        pytest.skip("launch records are kept by the emulator")
    x = np.arange(5000, dtype=np.float32)
    run(threshold, x, 10.0, 0.0)
    expression, grid, block = emulator.launches[-1]
    assert expression == "threshold<float>" and grid[0] * block[0] < x.size
