"""The NumPy references (the CPU backend) against plain float64 formulas, and input checks."""

from __future__ import annotations

import numpy as np
import pytest
from kernel_testing import random_array

from gpucell.backend import philox
from gpucell.backend.kernel_ops import (
    compare,
    dropout,
    dropout2d,
    fill,
    matmul_bias,
    reduce,
    select,
    softmax,
    threshold,
)

RNG = np.random.default_rng(1234)
FLOATS = (np.float16, np.float32, np.float64)
# Tolerances of a float64 formula vs the reference computed in the dtype (or fp32 for fp16).
TOL = {np.float16: 2e-3, np.float32: 2e-5, np.float64: 1e-12}


def test_select_compare_threshold_fill():
    cond = RNG.random((4, 1, 3)) < 0.5
    x, y = RNG.standard_normal((5, 3)), RNG.standard_normal((4, 5, 1))
    expected = np.array([[[x[j, k] if cond[i, 0, k] else y[i, j, 0] for k in range(3)] for j in range(5)]
                         for i in range(4)])
    np.testing.assert_array_equal(select(cond, x, y), expected)
    for name, fn in (("gt", lambda a, b: a > b), ("ge", lambda a, b: a >= b), ("lt", lambda a, b: a < b),
                     ("le", lambda a, b: a <= b), ("eq", lambda a, b: a == b), ("ne", lambda a, b: a != b)):
        np.testing.assert_array_equal(compare(name, x, y), fn(x, y))
    out = threshold(x, 0.25, -1.0)
    np.testing.assert_array_equal(out, [[v if v > 0.25 else -1.0 for v in row] for row in x])
    assert fill((2, 0), 7, np.int8).shape == (2, 0)
    np.testing.assert_array_equal(fill(3, True, np.bool_), [True] * 3)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("ta, tb", [(False, False), (False, True), (True, False), (True, True)])
def test_matmul_bias(dtype, ta, tb):
    m, n, k = 7, 5, 33
    a = RNG.standard_normal((2, k, m) if ta else (2, m, k)).astype(dtype)
    b = RNG.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    bias = RNG.standard_normal(n).astype(dtype)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    expected = np.einsum("bmk,kn->bmn", a64.transpose(0, 2, 1) if ta else a64, b64.T if tb else b64)
    expected = np.maximum(expected + bias.astype(np.float64), 0)
    out = matmul_bias(a, b, bias, transpose_a=ta, transpose_b=tb, relu=True)
    assert out.dtype == dtype and out.shape == (2, m, n)
    np.testing.assert_allclose(out.astype(np.float64), expected, rtol=TOL[dtype] * 4, atol=TOL[dtype] * 8)


@pytest.mark.parametrize("dtype", FLOATS)
def test_dropout_formula(dtype):
    x = RNG.standard_normal((3, 4, 5, 6)).astype(dtype)
    state = np.array([99, 5], np.uint64)
    out, mask = dropout2d(x, 0.7, state, 11)
    assert state.tolist() == [99, 5]  # read only: the base is the launch's own range
    words = philox.random_words(99, 5 + 11, 12)
    keep = (words.astype(np.float64) // 256) / 2**24 < 0.7  # the uniform in [0, 1), in float64
    np.testing.assert_array_equal(mask, np.broadcast_to(keep.reshape(3, 4, 1, 1), x.shape))
    expected = np.where(mask, x.astype(np.float64) / 0.7, 0)
    np.testing.assert_allclose(out.astype(np.float64), expected, rtol=TOL[dtype] * 2)


def test_dropout_statistics_and_edges():
    x = np.ones(1 << 16, np.float32)
    state = np.array([3, 0], np.uint64)
    out, mask = dropout(x, 0.3, state)
    assert abs(mask.mean() - 0.3) < 0.01
    assert np.all(out[mask] == np.float32(1 / 0.3)) and np.all(out[~mask] == 0)
    assert state[1] == 0
    out, mask = dropout(x, 1.0, state)
    assert mask.all() and np.array_equal(out, x)
    out, mask = dropout(x, 0.0, state)
    assert not mask.any() and not out.any()
    again, _ = dropout(x, 0.5, np.array([3, 7], np.uint64))
    assert np.array_equal(again, dropout(x, 0.5, np.array([3, 7], np.uint64))[0])  # same state, same mask


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_reductions(dtype, axis):
    x = random_array(RNG, (6, 7, 8), dtype)
    x64 = x.astype(np.float64)
    for name, formula in (("sum", np.sum), ("mean", np.mean), ("max", np.max)):
        out = reduce(name, x, axis=axis)
        expected = formula(x64, axis=axis)
        assert out.dtype == dtype and out.shape == np.shape(expected)
        np.testing.assert_allclose(out.astype(np.float64), expected, rtol=TOL[dtype] * 4, atol=TOL[dtype] * 4)
    assert reduce("sum", x, axis=axis, keepdims=True).shape == np.sum(x, axis=axis, keepdims=True).shape


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", [0, -1])
def test_softmax(dtype, axis):
    x = (RNG.standard_normal((5, 9)) * 4).astype(dtype)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(axis=axis, keepdims=True))
    expected = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(softmax(x, axis).astype(np.float64), expected, rtol=TOL[dtype] * 4, atol=1e-7)
    np.testing.assert_allclose(softmax(x, axis, log=True).astype(np.float64), np.log(expected),
                               rtol=TOL[dtype] * 4, atol=TOL[dtype] * 4)


def test_nan_propagation():
    x = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]], np.float32)
    assert np.isnan(reduce("max", x, axis=1)[0]) and reduce("max", x, axis=1)[1] == 3
    assert np.isnan(softmax(x)[0]).all() and not np.isnan(softmax(x)[1]).any()
    assert np.isnan(matmul_bias(x, np.ones((3, 1), np.float32), relu=True)[0, 0])


# Bad input: the op, the argument, what was expected and what came.
BAD = [
    (lambda: dropout2d(np.ones((1, 2, 3, 4), np.float32), 1.5, np.zeros(2, np.uint64)), ValueError,
     r"For 'Dropout2D', the 'keep_prob' must be in range of \[0.0, 1.0\], but got 1.5 with type 'float'."),
    (lambda: dropout2d(np.ones((2, 3, 4), np.float32), 0.5, np.zeros(2, np.uint64)), ValueError,
     r"For 'Dropout2D', the dimension of 'x' must be 4 .* got 3"),
    (lambda: dropout(np.ones(3, np.float32), "0.5", np.zeros(2, np.uint64)), TypeError,
     r"For 'Dropout', the 'keep_prob' must be a float, but got '0.5' with type 'str'"),
    (lambda: dropout(np.ones(3, np.float32), 0.5, np.zeros(2, np.int64)), TypeError,
     r"For 'Dropout', the 'rng_state' must be a contiguous uint64 array"),
    (lambda: dropout(np.ones(3, np.int32), 0.5, np.zeros(2, np.uint64)), TypeError,
     r"For 'Dropout', the dtype of 'x' must be one of \[float16, float32, float64\], but got int32"),
    (lambda: select(np.ones(3, np.int8), np.ones(3), np.ones(3)), TypeError,
     r"For 'Select', the dtype of 'cond' must be bool, but got int8"),
    (lambda: select(np.ones(3, bool), np.ones(3), np.ones(3, np.float32)), TypeError,
     r"For 'Select', 'x' and 'y' must have the same dtype, but got float64 and float32"),
    (lambda: select(np.ones(3, bool), np.ones(4), np.ones(3)), ValueError,
     r"For 'Select', the shapes 'cond' \(3,\), 'x' \(4,\), 'y' \(3,\) cannot be broadcast together"),
    (lambda: select(np.ones(3, bool), [1.0], np.ones(3)), TypeError,
     r"For 'Select', 'x' must be a NumPy or CuPy array, but got list"),
    (lambda: compare("gte", np.ones(3), np.ones(3)), ValueError, r"'name' must be one of"),
    (lambda: compare("gt", np.ones(3, np.complex64), np.ones(3, np.complex64)), TypeError,
     r"For 'Greater', the dtype of 'x' must be one of"),
    (lambda: fill((2,), 1.5, np.int32), ValueError, r"For 'Fill', the 'value' 1.5 cannot be stored in int32"),
    (lambda: fill((2,), 300, np.int8), ValueError, r"For 'Fill', the 'value' 300 is out of range"),
    (lambda: fill((2,), 1e6, np.float16), ValueError, r"For 'Fill', the 'value' 1000000.0 overflows float16"),
    (lambda: fill((-1,), 1, np.float32), ValueError, r"must not have negative dims"),
    (lambda: threshold(np.ones(3, np.float32), "a", 0.0), TypeError, r"For 'Threshold', the 'threshold'"),
    (lambda: matmul_bias(np.ones((2, 3), np.float32), np.ones((4, 5), np.float32)), ValueError,
     r"For 'MatMul', the contracted dim of 'a' \(3\) must equal that of 'b' \(4\)"),
    (lambda: matmul_bias(np.ones((2, 3), np.float32), np.ones((3, 5), np.float64)), TypeError,
     r"For 'MatMul', 'a' and 'b' must have the same dtype"),
    (lambda: matmul_bias(np.ones(3, np.float32), np.ones((3, 5), np.float32)), ValueError,
     r"For 'MatMul', 'a' must have at least 2 dims"),
    (lambda: matmul_bias(np.ones((2, 3), np.float32), np.ones((3, 5), np.float32), np.ones(4, np.float32)),
     ValueError, r"For 'MatMul', 'bias' must have shape \(5,\), but got \(4,\)"),
    (lambda: matmul_bias(np.ones((2, 2, 3), np.float32), np.ones((3, 3, 5), np.float32)), ValueError,
     r"batch dims of 'a' \(2,\) and 'b' \(3,\) must be equal"),
    (lambda: reduce("max", np.ones((0, 3), np.float32), axis=0), ValueError,
     r"For 'ReduceMax', cannot take the max of an empty axis"),
    (lambda: reduce("sum", np.ones((2, 3), np.float32), axis=2), ValueError,
     r"For 'ReduceSum', the 'axis' must be in range \[-2, 2\), but got 2"),
    (lambda: reduce("prod", np.ones(3, np.float32)), ValueError, r"'name' must be one of"),
    (lambda: softmax(np.ones(3, np.int64)), TypeError, r"For 'Softmax', the dtype of 'x'"),
    (lambda: softmax(np.ones(3, np.float32), axis=1.0, log=True), TypeError,
     r"For 'LogSoftmax', the 'axis' must be an int"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_empty_inputs():
    assert select(np.ones(0, bool), np.ones(0), np.ones(0)).shape == (0,)
    assert reduce("sum", np.ones((0, 3), np.float32), axis=0).tolist() == [0, 0, 0]
    assert np.isnan(reduce("mean", np.ones((0, 3), np.float32), axis=0)).all()
    assert softmax(np.ones((0, 3), np.float32)).shape == (0, 3)
    state = np.array([1, 2], np.uint64)
    out, mask = dropout2d(np.ones((0, 3, 2, 2), np.float32), 0.5, state)
    assert out.shape == mask.shape == (0, 3, 2, 2) and state[1] == 2
    assert matmul_bias(np.ones((0, 3), np.float32), np.ones((3, 2), np.float32)).shape == (0, 2)
    np.testing.assert_array_equal(matmul_bias(np.ones((2, 0), np.float32), np.ones((0, 2), np.float32),
                                              np.ones(2, np.float32)), np.ones((2, 2)))
