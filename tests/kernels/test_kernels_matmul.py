"""matmul_bias: kernels/matmul.cu (emulated, and on the GPU) vs the NumPy reference.

Every tile configuration is forced in turn; M, N and K have tails that are not multiples of the
tile or of the 16-deep K slice; transposes, batching (with a shared 2-D operand), strided views,
no bias, ReLU, 1-element and empty outputs. The summation order differs from NumPy's, so each
element is checked against the bound on two such sums (kernel_testing.sum_error_bound), not a
guessed tolerance: fp32 rounding for K = 1030 exceeds 1e-5 in hundreds of elements.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from kernel_testing import assert_close, assert_same, assert_within, sum_error_bound

from gpucell.backend.kernel_ops import matmul_bias
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES, acc_dtype

matmul = importlib.import_module("gpucell.backend.kernel_ops.matmul")
# (batch_a, batch_b, M, N, K)
CASES = [((), (), 37, 45, 29), ((2,), (), 33, 17, 50), ((2,), (2,), 1, 1, 1), ((), (3,), 66, 5, 16)]


def _inputs(rng, dtype, batch_a, batch_b, m, n, k, ta, tb):
    a = rng.standard_normal((*batch_a, k, m) if ta else (*batch_a, m, k)).astype(dtype)
    b = rng.standard_normal((*batch_b, n, k) if tb else (*batch_b, k, n)).astype(dtype)
    return a, b, rng.standard_normal(n).astype(dtype)


@pytest.mark.parametrize("tile", matmul.TILES, ids=lambda t: "x".join(map(str, t)))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_matmul_bias(run, monkeypatch, tile, dtype):
    # kernels/matmul.cu for every dtype (float16 and float32 otherwise take the fast kernels, which
    # test_kernels_matmul_fast.py checks): what an older GPU or a huge matrix runs.
    monkeypatch.setattr(matmul, "kernel_for", lambda *args: "generic")
    monkeypatch.setattr(matmul, "_choose_tile", lambda *args: tile)
    rng = np.random.default_rng(0)
    cases = CASES if run.name != "gpu" else CASES + [((), (), 300, 513, 1030), ((4,), (4,), 129, 257, 64)]
    for i, (batch_a, batch_b, m, n, k) in enumerate(cases):
        ta, tb, relu = bool(i & 1), bool(i & 2), bool(i % 3)
        a, b, bias = _inputs(rng, dtype, batch_a, batch_b, m, n, k, ta, tb)
        kwargs = dict(transpose_a=ta, transpose_b=tb, relu=relu)
        assert_within(matmul_bias(a, b, bias, **kwargs), run(matmul_bias, a, b, bias, **kwargs),
                      _bound(a, b, bias, **kwargs))
        assert_within(matmul_bias(a, b, **kwargs), run(matmul_bias, a, b, **kwargs), _bound(a, b, None, **kwargs))


def _bound(a, b, bias, transpose_a, transpose_b, relu):
    """The error bound of each output element: K products (and the bias) summed in any order."""
    op_a = np.abs(np.swapaxes(a, -1, -2) if transpose_a else a).astype(np.float64)
    op_b = np.abs(np.swapaxes(b, -1, -2) if transpose_b else b).astype(np.float64)
    magnitude = op_a @ op_b + (0 if bias is None else np.abs(bias.astype(np.float64)))
    terms = op_a.shape[-1] + (bias is not None)
    return sum_error_bound(magnitude, terms, a.dtype, acc_dtype(a.dtype))


def test_strided_views_need_no_copy(run):
    rng = np.random.default_rng(1)
    big = rng.standard_normal((3, 40, 50)).astype(np.float32)
    a = big[:, ::2, 1:31]  # (3, 20, 30), rows strided by 2 and offset
    b = big[0, 5:35, ::-2].T  # (25, 30) reversed columns, then transposed: op(b) = b.T is (30, 25)
    assert_close(matmul_bias(a, b, transpose_b=True), run(matmul_bias, a, b, transpose_b=True), 1e-5, 1e-5)
    c = np.moveaxis(rng.standard_normal((2, 3, 4, 5)).astype(np.float32), 0, 2)  # batch dims not flat
    d = rng.standard_normal((5, 6)).astype(np.float32)
    assert_close(matmul_bias(c, d), run(matmul_bias, c, d), 1e-5, 1e-5)


def test_strided_bias(run):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((5, 7)).astype(np.float32), rng.standard_normal((6, 7)).astype(np.float32)
    bias = rng.standard_normal(12).astype(np.float32)[::2]  # every other element: stride 8 bytes
    got = run(matmul_bias, a, b, bias, transpose_b=True)
    assert_within(a.astype(np.float64) @ b.T + bias, got.astype(np.float64),
                  _bound(a, b, bias, transpose_a=False, transpose_b=True, relu=False))


def test_empty_and_k_zero(run):
    empty = np.ones((0, 4), np.float32)
    assert_same(matmul_bias(empty, np.ones((4, 3), np.float32)), run(matmul_bias, empty, np.ones((4, 3), np.float32)))
    a, b, bias = np.ones((3, 0), np.float32), np.ones((0, 2), np.float32), np.array([-1.0, 2.0], np.float32)
    assert_same(matmul_bias(a, b, bias, relu=True), run(matmul_bias, a, b, bias, relu=True))


def test_tile_choice():
    class Launcher:
        sm_count = 132
    assert matmul._choose_tile(4096, 4096, 1, Launcher) == (128, 128, 8, 8)
    assert matmul._choose_tile(256, 1024, 1, Launcher) == (32, 32, 2, 2)
    assert matmul._choose_tile(1024, 1024, 8, Launcher) == (128, 128, 8, 8)
