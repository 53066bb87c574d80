"""prod, cumsum, logsumexp and norm (and Tensor.prod / Tensor.cumsum, ops.ReduceProd): forward against
NumPy float64 references on both backends, dtypes as MindSpore keeps them, gradients against finite
differences (prod with zeros in the input), and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from op_testing import check_gradients, host, randn, tensor

import gpucell as ms
from gpucell import ops

AXES = [None, 0, 1, -1, (0, 2), ()]


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keep_dims", [False, True])
def test_prod_forward(device, axis, keep_dims):
    a = randn(2, 3, 4)
    out = ops.prod(tensor(a, device), axis, keep_dims)
    want = np.prod(a, axis=None if axis == () else axis, keepdims=keep_dims)
    assert out.shape == want.shape and out.dtype is ms.float64
    np.testing.assert_allclose(host(out), want, rtol=1e-12)
    np.testing.assert_allclose(host(tensor(a, device).prod(axis, keep_dims)), want, rtol=1e-12)
    np.testing.assert_allclose(host(ops.ReduceProd(keep_dims)(tensor(a, device), () if axis is None else axis)),
                               want, rtol=1e-12)


def test_prod_keeps_int_dtypes(device):
    a = np.array([[3, -2, 5], [7, 1, 2]], np.int32)
    out = ops.prod(tensor(a, device), 1)
    assert out.dtype is ms.int32 and host(out).tolist() == [-30, 14]
    assert ops.prod(tensor(np.float32(2.5), device)).shape == ()


@pytest.mark.parametrize("axis", [None, 1, (0, 2)])
def test_prod_gradient_with_zeros(device, axis):
    """The gradient is the product of the other elements: exact where one or two factors are zero."""
    a = randn(2, 3, 4)
    a[0, 1, 2] = 0.0
    a[1, 2, 0] = a[1, 2, 3] = 0.0  # two zeros in one row: that row's gradient is zero everywhere
    check_gradients(lambda x: ops.prod(x, axis), [a], device)
    check_gradients(lambda x: ops.prod(x, axis, True), [randn(2, 3, 4)], device)


def test_prod_second_order_with_zeros(device):
    """Row sums of the Hessian, sum over j != i of the product of the elements other than i and j:
    exact with one zero and with two (tests/autograd/test_higher_order.py checks orders 2 and 3)."""
    second = ms.grad(lambda t: ms.grad(lambda u: ops.prod(u))(t).sum())
    np.testing.assert_allclose(host(second(tensor(np.array([1.0, 2.0, 3.0]), device))), [5.0, 4.0, 3.0])
    np.testing.assert_allclose(host(second(tensor(np.array([0.0, 2.0, 3.0]), device))), [5.0, 3.0, 2.0])
    np.testing.assert_allclose(host(second(tensor(np.array([0.0, 0.0, 2.0, 3.0]), device))), [6.0, 6.0, 0.0, 0.0])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cumsum_forward_and_gradient(device, axis):
    a = randn(3, 4)
    out = ops.cumsum(tensor(a, device), axis)
    np.testing.assert_allclose(host(out), np.cumsum(a, axis), rtol=1e-12)
    check_gradients(lambda x: ops.cumsum(x, axis), [randn(3, 4)], device)
    # The backward is a reversed cumsum, itself differentiable.
    check_gradients(ms.grad(lambda x: ops.sum(ops.cumsum(x, axis) ** 2)), [randn(2, 3)], device)


def test_cumsum_dtypes_and_tensor_method(device):
    a = np.array([[1, 2, 3], [4, 5, 6]], np.int32)
    out = ops.cumsum(tensor(a, device), 1)
    assert out.dtype is ms.int32 and host(out).tolist() == [[1, 3, 6], [4, 9, 15]]
    cast = ops.cumsum(tensor(a, device), 0, dtype=ms.float32)
    assert cast.dtype is ms.float32 and host(cast).tolist() == [[1, 2, 3], [5, 7, 9]]
    flat = tensor(a, device).cumsum()
    assert flat.shape == (6,) and host(flat).tolist() == [1, 3, 6, 10, 15, 21]
    assert host(tensor(a, device).cumsum(0)).tolist() == [[1, 2, 3], [5, 7, 9]]
    assert host(ops.cumsum(tensor(np.float32(4.0), device), 0)).tolist() == 4.0


@pytest.mark.parametrize("axis", [0, 1, (0, 1), -1])
@pytest.mark.parametrize("keep_dims", [False, True])
def test_logsumexp(device, axis, keep_dims):
    a = randn(3, 4) * 3
    want = np.log(np.sum(np.exp(a), axis=axis, keepdims=keep_dims))
    out = ops.logsumexp(tensor(a, device), axis, keep_dims)
    assert out.shape == want.shape
    np.testing.assert_allclose(host(out), want, rtol=1e-12)
    check_gradients(lambda x: ops.logsumexp(x, axis, keep_dims), [randn(2, 3)], device)


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log")  # the all -inf row: log(0) = -inf
def test_logsumexp_is_stable(device):
    big = np.array([[1000.0, 1000.0], [-1000.0, -1001.0], [-np.inf, -np.inf], [np.inf, 0.0]], np.float32)
    out = host(ops.logsumexp(tensor(big, device), 1))
    np.testing.assert_allclose(out[:2], [1000.0 + math.log(2.0), -1000.0 + math.log1p(math.exp(-1.0))], rtol=1e-6)
    assert out[2] == -np.inf and out[3] == np.inf
    ints = ops.logsumexp(tensor(np.array([0, 0]), device), 0)
    assert ints.dtype is ms.float32 and np.isclose(host(ints), math.log(2.0))
    check_gradients(ms.grad(lambda x: ops.logsumexp(x, 1)), [randn(2, 3)], device)  # second order


VECTOR_ORDS = [None, 2, 1, 3, 0.5, -1.5, math.inf, -math.inf, 0]
MATRIX_ORDS = [None, "fro", math.inf, -math.inf, 1, -1]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norms(device, ord):
    a = randn(3, 4)
    for dim, keepdim in ((1, False), (0, True), ((1,), False)):
        axis = dim[0] if isinstance(dim, tuple) else dim
        want = np.linalg.norm(a, ord, axis=axis, keepdims=keepdim)
        out = ops.norm(tensor(a, device), ord, dim, keepdim)
        assert out.shape == want.shape
        np.testing.assert_allclose(host(out), want, rtol=1e-12)
    v = randn(5)
    np.testing.assert_allclose(host(ops.norm(tensor(v, device), ord)), np.linalg.norm(v, ord), rtol=1e-12)
    if ord != 0:  # ord 0 counts non-zeros: piecewise constant
        check_gradients(lambda x: ops.norm(x, ord, 1), [randn(2, 3, positive=True) * np.array([1, -1, 1])], device)


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norms(device, ord):
    a = randn(3, 4)
    np.testing.assert_allclose(host(ops.norm(tensor(a, device), ord)), np.linalg.norm(a, ord), rtol=1e-12)
    batch = randn(2, 3, 4)
    want = np.linalg.norm(batch, ord, axis=(2, 1), keepdims=True)
    out = ops.norm(tensor(batch, device), ord, (2, 1), True)
    assert out.shape == want.shape
    np.testing.assert_allclose(host(out), want, rtol=1e-12)
    check_gradients(lambda x: ops.norm(x, ord, (0, 1)), [randn(3, 3)], device)


def test_norm_defaults_and_dtype(device):
    a = randn(2, 3, 4)
    out = ops.norm(tensor(a, device))
    assert out.shape == () and np.isclose(host(out), np.sqrt((a * a).sum()), rtol=1e-12)
    f32 = ops.norm(tensor(a, device), dtype=ms.float32)
    assert f32.dtype is ms.float32 and np.isclose(host(f32), np.sqrt((a * a).sum()), rtol=1e-6)
    check_gradients(lambda x: ops.norm(x), [a[:, :2, :2]], device)


def test_errors():
    x = ms.Tensor(np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="'ReduceProd'.*int or float type.*Bool"):
        ops.prod(ms.Tensor([True]))
    with pytest.raises(ValueError, match="'ReduceProd'.*'axis'.*\\[-2, 2\\).*5"):
        ops.prod(x, 5)
    with pytest.raises(TypeError, match="'ReduceProd'.*'keep_dims' must be a bool"):
        ops.prod(x, 0, 1)
    with pytest.raises(TypeError, match="'CumSum'.*'axis' must be an int.*NoneType"):
        ops.cumsum(x, None)
    with pytest.raises(ValueError, match="'CumSum'.*'axis'.*\\[-2, 2\\).*2"):
        ops.cumsum(x, 2)
    with pytest.raises(TypeError, match="'CumSum'.*int or float type.*Bool"):
        ops.cumsum(ms.Tensor([True]), 0)
    with pytest.raises(TypeError, match="'CumSum'.*'x' must be a Tensor"):
        ops.cumsum([1.0], 0)
    with pytest.raises(TypeError, match="'LogSumExp'.*'axis'.*None"):
        ops.logsumexp(x, None)
    with pytest.raises(ValueError, match="'LogSumExp'.*'axis'.*\\[-2, 2\\)"):
        ops.logsumexp(x, 3)
    with pytest.raises(TypeError, match="'norm'.*float type.*Int64"):
        ops.norm(ms.Tensor([1, 2]))
    with pytest.raises(TypeError, match="'norm'.*'ord'.*'max'"):
        ops.norm(x, "max")
    with pytest.raises(ValueError, match="'norm'.*1-D or 2-D.*\\(2, 3, 1\\)"):
        ops.norm(ms.ops.ones((2, 3, 1)), 2)
    with pytest.raises(ValueError, match="'norm'.*'nuc'.*singular values"):
        ops.norm(x, "nuc")
    with pytest.raises(ValueError, match="'norm'.*matrix norm.*must be one of.*3"):
        ops.norm(x, 3, (0, 1))
    with pytest.raises(ValueError, match="'norm'.*'fro' is a matrix norm"):
        ops.norm(x, "fro", 1)
    with pytest.raises(ValueError, match="'norm'.*'dim'.*repeat"):
        ops.norm(x, None, (1, 1))
    with pytest.raises(ValueError, match="'norm'.*tuple of 1 or 2 ints"):
        ops.norm(ms.ops.ones((2, 2, 2)), None, (0, 1, 2))
    with pytest.raises(TypeError, match="'norm'.*'dim'.*str"):
        ops.norm(x, None, "0")
