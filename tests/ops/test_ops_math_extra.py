"""sin, cos, floor, ceil, round, reciprocal, log1p, erf, isnan, isinf: forward against NumPy float64
references on both backends (float64, float32, ints, non-contiguous inputs), gradients (first and second
order) against finite differences, dtypes as MindSpore gives them, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from op_testing import check_gradients, host, randn, tensor

import gpucell as ms
from gpucell import ops

_erf = np.vectorize(math.erf, otypes=[np.float64])

# name: (op, NumPy reference, inputs must be > -1 and away from 0, differentiable)
FLOAT_MATH = {
    "sin": (ops.sin, np.sin, False, True),
    "cos": (ops.cos, np.cos, False, True),
    "reciprocal": (ops.reciprocal, np.reciprocal, True, True),
    "log1p": (ops.log1p, np.log1p, True, True),
    "erf": (ops.erf, _erf, False, True),
    "floor": (ops.floor, np.floor, False, False),
    "ceil": (ops.ceil, np.ceil, False, False),
    "round": (ops.round, np.rint, False, False),
}


def _input(positive: bool, shape=(3, 4)) -> np.ndarray:
    a = randn(*shape, positive=positive) * 2.5
    a[np.abs(a - np.rint(a)) < 1e-3] += 0.01  # not on an integer: floor / ceil / round stay put under eps
    return a


@pytest.mark.parametrize("name", list(FLOAT_MATH))
def test_forward_matches_numpy(device, name):
    fn, ref, positive, _ = FLOAT_MATH[name]
    a = _input(positive)
    out = fn(tensor(a, device))
    assert out.dtype is ms.float64 and out.shape == a.shape
    np.testing.assert_allclose(host(out), ref(a), rtol=1e-12, atol=1e-15)
    out32 = fn(tensor(a.astype(np.float32), device, contiguous=False))
    assert out32.dtype is ms.float32
    np.testing.assert_allclose(host(out32), ref(a.astype(np.float32).astype(np.float64)), rtol=2e-6, atol=2e-6)


def test_halves_round_to_even_and_ints_are_kept(device):
    x = tensor(np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]), device)
    assert host(ops.round(x)).tolist() == [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0]
    ints = ops.round(tensor(np.array([3, -7], np.int32), device))
    assert ints.dtype is ms.int32 and host(ints).tolist() == [3, -7]


@pytest.mark.parametrize("name", ["sin", "cos", "reciprocal", "log1p", "erf"])
def test_ints_give_float32(device, name):
    fn, ref, _, _ = FLOAT_MATH[name]
    a = np.array([[1, 2], [3, 5]], np.int32)
    out = fn(tensor(a, device))
    assert out.dtype is ms.float32
    np.testing.assert_allclose(host(out), ref(a.astype(np.float64)), rtol=2e-6)


def test_isnan_isinf(device):
    a = np.array([1.0, np.nan, np.inf, -np.inf, 0.0, -3.5])
    for fn, ref in ((ops.isnan, np.isnan), (ops.isinf, np.isinf)):
        for dtype in (np.float64, np.float32, np.float16):
            out = fn(tensor(a.astype(dtype), device))
            assert out.dtype is ms.bool_
            np.testing.assert_array_equal(host(out), ref(a))
        ints = fn(tensor(np.array([1, 2], np.int64), device))
        assert ints.dtype is ms.bool_ and not host(ints).any()


@pytest.mark.parametrize("name", [n for n, v in FLOAT_MATH.items() if v[3]])
def test_gradients(device, name):
    fn, _, positive, _ = FLOAT_MATH[name]
    check_gradients(fn, [_input(positive, (2, 3))], device)


@pytest.mark.parametrize("name", [n for n, v in FLOAT_MATH.items() if v[3]])
def test_second_order_gradients(device, name):
    """The backward rules are ops: the gradient of the gradient matches finite differences."""
    fn, _, positive, _ = FLOAT_MATH[name]
    check_gradients(ms.grad(lambda x: ops.sum(fn(x))), [_input(positive, (2, 3))], device, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["floor", "ceil", "round"])
def test_piecewise_constant_ops_have_zero_gradient(device, name):
    fn = FLOAT_MATH[name][0]
    x = tensor(_input(False, (2, 3)), device)
    g = ms.grad(lambda x: ops.sum(fn(x) * x))(x)
    np.testing.assert_array_equal(host(g), host(fn(x)))  # only the factor x carries a gradient


def test_errors():
    with pytest.raises(TypeError, match="'Floor'.*float16, float32 or float64.*Int32"):
        ops.floor(ms.Tensor(np.array([1], np.int32)))
    with pytest.raises(TypeError, match="'Ceil'.*Int64"):
        ops.ceil(ms.Tensor([1, 2]))
    with pytest.raises(TypeError, match="'Round'.*number type.*Bool"):
        ops.round(ms.Tensor([True]))
    for fn, name in ((ops.sin, "Sin"), (ops.cos, "Cos"), (ops.reciprocal, "Reciprocal"), (ops.log1p, "Log1p"),
                     (ops.erf, "Erf"), (ops.isnan, "IsNan"), (ops.isinf, "IsInf")):
        with pytest.raises(TypeError, match=f"'{name}'.*'input' must be a Tensor.*list"):
            fn([1.0])
