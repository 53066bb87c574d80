"""dropout and dropout2d: the kernel (emulated, and on the GPU) draws bit-identical masks and
outputs to the NumPy reference for the same [seed, offset] and base, and leaves the state as it was
(launches on several streams only read it)."""

from __future__ import annotations

import numpy as np
import pytest
from kernel_testing import assert_same

from gpucell.backend.kernel_ops import dropout, dropout2d
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES
from gpucell.backend.kernel_ops.dropout import set_state

SHAPES_2D = [(2, 3, 5, 7), (1, 1, 1, 1), (3, 5, 1, 1), (2, 3, 0, 4), (0, 3, 2, 2), (2, 9, 33, 17)]
SHAPES = [(1000,), (1,), (0,), (3, 7, 11), (1031,)]


def _check(run, fn, x, keep_prob, seed, offset, base=0):
    state_ref = np.array([seed, offset], np.uint64)
    state_run = state_ref.copy()
    out_ref, mask_ref = fn(x, keep_prob, state_ref, base)
    out, mask = run(fn, x, keep_prob, state_run, base)
    assert_same(mask_ref, mask)
    assert_same(out_ref, out)
    assert_same(np.array([seed, offset], np.uint64), state_run)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_dropout2d(run, dtype):
    rng = np.random.default_rng(0)
    shapes = SHAPES_2D + ([(8, 64, 56, 56), (3, 5, 1023, 1)] if run.name == "gpu" else [])
    for i, shape in enumerate(shapes):
        x = rng.standard_normal(shape).astype(dtype)
        _check(run, dropout2d, x, (0.5, 0.8, 0.1)[i % 3], seed=1234 + i, offset=i * 1000)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_dropout(run, dtype):
    rng = np.random.default_rng(1)
    shapes = SHAPES + ([(1 << 20) + 5, (64, 1000)] if run.name == "gpu" else [])
    for i, shape in enumerate(shapes):
        x = rng.standard_normal(shape).astype(dtype)
        _check(run, dropout, x, (0.5, 0.8, 0.1)[i % 3], seed=99 + i, offset=7 + i, base=1000 * i)


@pytest.mark.parametrize("keep_prob", [0.0, 1.0, 1 - 2**-24])
def test_extreme_keep_probabilities(run, keep_prob):
    x = np.random.default_rng(2).standard_normal((3, 4, 5, 6)).astype(np.float32)
    _check(run, dropout2d, x, keep_prob, seed=5, offset=0)


def test_offset_near_wraparound_and_large_seed(run):
    x = np.ones((4, 10, 3, 3), np.float32)
    _check(run, dropout2d, x, 0.5, seed=(1 << 64) - 3, offset=(1 << 64) - 5)
    _check(run, dropout2d, x, 0.5, seed=7, offset=(1 << 64) - 5, base=9)  # offset + base wraps


def test_the_base_is_added_to_the_offset(run):
    """Disjoint bases give fresh masks from one state; base b is the offset moved by b."""
    x = np.ones((2, 16, 2, 2), np.float32)
    state = np.array([42, 0], np.uint64)
    first = run(dropout2d, x, 0.5, state, 0)[1]
    second = run(dropout2d, x, 0.5, state, 8)[1]
    assert not np.array_equal(first, second)
    assert_same(second, run(dropout2d, x, 0.5, np.array([42, 8], np.uint64), 0)[1])


def test_set_state_writes_seed_and_offset(run):
    state = np.array([1, 2], np.uint64)
    run(set_state, state, 5, (1 << 64) - 1)
    assert_same(np.array([5, (1 << 64) - 1], np.uint64), state)


def test_bad_base_is_refused():
    with pytest.raises(TypeError, match=r"For 'Dropout', the 'base' must be an int in \[0, 2\*\*64\)"):
        dropout(np.ones(4, np.float32), 0.5, np.array([1, 0], np.uint64), -1)


def test_non_contiguous_input(run):
    x = np.random.default_rng(3).standard_normal((2, 6, 4, 10)).astype(np.float32)[:, ::2, :, ::3]
    _check(run, dropout2d, x, 0.6, seed=11, offset=3)
    _check(run, dropout, x, 0.6, seed=11, offset=3)
