"""Each op's forward against a NumPy float64 reference on identical inputs, on both backends:
broadcasting, 0-size dims and non-contiguous inputs included."""

from __future__ import annotations

import math

import numpy as np
import pytest
from op_testing import host, randn, tensor

import gpucell as ms
from gpucell import backend, ops

_erf = np.vectorize(math.erf, otypes=[np.float64])

UNARY = {
    "neg": (ops.neg, np.negative, False),
    "abs": (ops.abs, np.abs, False),
    "exp": (ops.exp, np.exp, False),
    "log": (ops.log, np.log, True),
    "sqrt": (ops.sqrt, np.sqrt, True),
    "rsqrt": (ops.rsqrt, lambda a: 1 / np.sqrt(a), True),
    "square": (ops.square, np.square, False),
    "sign": (ops.sign, np.sign, False),
    "relu": (ops.relu, lambda a: np.maximum(a, 0), False),
    "sigmoid": (ops.sigmoid, lambda a: 1 / (1 + np.exp(-a)), False),
    "tanh": (ops.tanh, np.tanh, False),
    "gelu": (ops.gelu, lambda a: 0.5 * a * (1 + _erf(a / math.sqrt(2))), False),
    "gelu_tanh": (lambda x: ops.gelu(x, "tanh"),
                  lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3))), False),
    "silu": (ops.silu, lambda a: a / (1 + np.exp(-a)), False),
}

BINARY = {
    "add": (ops.add, np.add), "sub": (ops.sub, np.subtract), "mul": (ops.mul, np.multiply),
    "div": (ops.div, np.divide), "maximum": (ops.maximum, np.maximum),
    "minimum": (ops.minimum, np.minimum), "pow": (ops.pow, np.power),
}
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((0, 3), (3,)), ((), (2,))]


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("contiguous", [True, False])
def test_unary(device, name, contiguous):
    fn, ref, positive = UNARY[name]
    for shape in [(3, 4), (0, 2), (5,)]:
        a = randn(*shape, positive=positive).astype(np.float32)
        out = fn(tensor(a, device, contiguous))
        assert out.dtype == ms.float32 and out.shape == a.shape
        np.testing.assert_allclose(host(out), ref(a.astype(np.float64)), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPES)
def test_binary_broadcasting(device, name, shapes):
    fn, ref = BINARY[name]
    a = randn(*shapes[0], positive=name == "pow").astype(np.float32)
    b = randn(*shapes[1]).astype(np.float32)
    out = fn(tensor(a, device, contiguous=False), tensor(b, device))
    expected = ref(a.astype(np.float64), b.astype(np.float64))
    assert out.shape == expected.shape and out.dtype == ms.float32
    np.testing.assert_allclose(host(out), expected, rtol=3e-6, atol=1e-6)


def test_binary_promotion_and_scalars(device):
    i = tensor(np.array([1, 2, 3], np.int32), device)
    f = tensor(np.array([0.5, 1.5, 2.5], np.float32), device)
    assert ops.add(i, f).dtype == ms.float32
    assert ops.mul(i, 2).dtype == ms.int32
    assert ops.mul(i, 0.5).dtype == ms.float32
    assert ops.div(i, i).dtype == ms.float32
    assert ops.maximum(i, 2.5).dtype == ms.float32
    np.testing.assert_allclose(host(ops.sub(1.0, f)), [0.5, -0.5, -1.5])
    assert ops.exp(i).dtype == ms.float32


@pytest.mark.parametrize("axis,keep", [(None, False), (None, True), (0, False), (1, True), (-1, False),
                                       ((0, 2), False), ((0, 2), True)])
def test_sum_mean(device, axis, keep):
    a = randn(3, 4, 5).astype(np.float32)
    x = tensor(a, device, contiguous=False)
    a64 = a.astype(np.float64)
    np.testing.assert_allclose(host(ops.sum(x, axis, keep)), a64.sum(axis=axis, keepdims=keep), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(host(ops.mean(x, axis, keep)), a64.mean(axis=axis, keepdims=keep),
                               rtol=1e-5, atol=1e-6)


def test_sum_keeps_int_dtype_and_mean_of_int_is_float(device):
    x = tensor(np.arange(6, dtype=np.int32).reshape(2, 3), device)
    assert ops.sum(x).dtype == ms.int32 and ops.sum(x).item() == 15
    assert ops.mean(x, 1).dtype == ms.float32
    assert ops.sum(tensor(np.zeros((0, 3), np.float32), device), 0).shape == (3,)


@pytest.mark.parametrize("axis,keep", [(None, False), (0, False), (1, True), (-1, False)])
def test_max_min_argmax_argmin(device, axis, keep):
    a = randn(4, 5).astype(np.float32)
    x = tensor(a, device)
    values, index = ops.max(x, axis, keep)
    np.testing.assert_array_equal(host(values), a.max(axis=axis, keepdims=keep))
    np.testing.assert_array_equal(host(index), np.argmax(a, axis=axis, keepdims=keep))
    assert index.dtype == ms.int64
    values, index = ops.min(x, axis, keep)
    np.testing.assert_array_equal(host(values), a.min(axis=axis, keepdims=keep))
    np.testing.assert_array_equal(host(ops.argmax(x, axis, keep)), np.argmax(a, axis=axis, keepdims=keep))
    np.testing.assert_array_equal(host(ops.argmin(x, axis, keep)), np.argmin(a, axis=axis, keepdims=keep))
    assert x.max(axis, keep).shape == a.max(axis=axis, keepdims=keep).shape


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_log_softmax(device, axis):
    a = randn(3, 4, 2).astype(np.float32)
    a64 = a.astype(np.float64)
    e = np.exp(a64 - a64.max(axis=axis, keepdims=True))
    ref = e / e.sum(axis=axis, keepdims=True)
    x = tensor(a, device, contiguous=False)
    np.testing.assert_allclose(host(ops.softmax(x, axis)), ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(host(ops.log_softmax(x, axis)), np.log(ref), rtol=1e-5, atol=1e-6)


def test_shape_ops(device):
    a = randn(2, 3, 4).astype(np.float32)
    x = tensor(a, device, contiguous=False)
    np.testing.assert_array_equal(host(ops.reshape(x, (4, -1))), a.reshape(4, -1))
    np.testing.assert_array_equal(host(ops.transpose(x, (2, 0, 1))), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(host(ops.permute(x, (-1, 0, 1))), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(host(ops.expand_dims(x, -1)), a[..., None])
    np.testing.assert_array_equal(host(ops.squeeze(tensor(a[:, :1], device), 1)), a[:, 0])
    np.testing.assert_array_equal(host(ops.broadcast_to(tensor(a[:1], device), (5, 2, -1, 4))),
                                  np.broadcast_to(a[:1], (5, 2, 3, 4)))
    np.testing.assert_array_equal(host(ops.tile(x, (2, 1, 1, 3))), np.tile(a, (2, 1, 1, 3)))
    np.testing.assert_array_equal(host(ops.concat((x, x), 1)), np.concatenate((a, a), 1))
    np.testing.assert_array_equal(host(ops.stack((x, x), -1)), np.stack((a, a), -1))
    parts = ops.split(x, (1, 3), axis=2)
    for got, want in zip(parts, np.split(a, [1], axis=2)):
        np.testing.assert_array_equal(host(got), want)
    assert [p.shape[1] for p in ops.split(x, 2, axis=1)] == [2, 1]
    index = tensor(np.array([[2, 0], [1, 1]]), device)
    np.testing.assert_array_equal(host(ops.gather(x, index, 1)), np.take(a, [[2, 0], [1, 1]], axis=1))
    assert ops.concat((tensor(np.zeros((0, 4)), device), tensor(np.ones((2, 4)), device))).shape == (2, 4)


def test_comparisons_and_logical(device):
    a = np.array([0.1, 0.2, 0.3], np.float32)
    x = tensor(a, device)
    for fn, ref in [(ops.gt, np.greater), (ops.ge, np.greater_equal), (ops.lt, np.less),
                    (ops.le, np.less_equal), (ops.equal, np.equal), (ops.not_equal, np.not_equal)]:
        out = fn(x, 0.2)
        assert out.dtype == ms.bool_
        np.testing.assert_array_equal(host(out), ref(a, np.float32(0.2)))
        np.testing.assert_array_equal(host(fn(x, tensor(a[::-1].copy(), device))), ref(a, a[::-1]))
    # A Python float is compared in the tensor's dtype, as MindSpore does (the seed's Threshold).
    assert host(ops.gt(x, 0.1)).tolist() == [False, True, True]
    p, q = tensor(np.array([True, False, True]), device), tensor(np.array([True, True, False]), device)
    assert host(ops.logical_and(p, q)).tolist() == [True, False, False]
    assert host(ops.logical_or(p, q)).tolist() == [True, True, True]
    assert host(ops.logical_not(p)).tolist() == [False, True, False]


@pytest.fixture
def on_device(device):
    previous = backend.get_device()
    backend.set_device(device)
    yield device
    backend.set_device(previous)


def test_creation(on_device):
    t = ops.fill(ms.float32, (2, 3), 20)
    assert t.device == on_device and t.dtype == ms.float32 and host(t).tolist() == [[20.0] * 3] * 2
    assert ops.full((2,), 7).dtype == ms.int64
    assert ops.full((2,), 1.5, dtype=ms.float16).dtype == ms.float16
    assert host(ops.zeros((2, 2))).sum() == 0 and ops.zeros(3).dtype == ms.float32
    assert host(ops.ones((0, 3), ms.int32)).shape == (0, 3)
    x = ops.ones((2, 3), ms.float64)
    assert ops.zeros_like(x).dtype == ms.float64 and host(ops.ones_like(x, dtype=ms.int32)).sum() == 6
    assert host(ops.arange(5)).tolist() == [0, 1, 2, 3, 4] and ops.arange(5).dtype == ms.int64
    np.testing.assert_allclose(host(ops.arange(0, 1, 0.25)), [0, 0.25, 0.5, 0.75])
    assert ops.arange(0, 1, 0.25).dtype == ms.float32


def test_select_where_cast_clamp(device):
    cond = tensor(np.array([True, False, True]), device)
    x = tensor(np.array([1.0, 2.0, 3.0], np.float32), device)
    y = tensor(np.array([9.0], np.float32), device)
    assert host(ops.select(cond, x, y)).tolist() == [1.0, 9.0, 3.0]
    assert host(ops.select(cond, x, 0.5)).tolist() == [1.0, 0.5, 3.0]
    assert host(ops.select(cond, 7, tensor(np.array([1, 2, 3]), device))).tolist() == [7, 2, 7]
    w = ops.where(cond, tensor(np.array([1, 2, 3], np.int32), device), y)
    assert w.dtype == ms.float32 and host(w).tolist() == [1.0, 9.0, 3.0]
    assert ops.cast(x, ms.int32).dtype == ms.int32
    np.testing.assert_array_equal(host(ops.clamp(x, 1.5, 2.5)), [1.5, 2.0, 2.5])
    np.testing.assert_array_equal(host(ops.clamp(x, max=tensor(np.array([0.0, 5.0, 0.0], np.float32),
                                                                    device))), [0.0, 2.0, 0.0])


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)),
                                    ((4,), (4, 5)), ((3, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2)),
                                    ((0, 4), (4, 2)), ((3, 0), (0, 2))])
def test_matmul(device, shapes):
    a = randn(*shapes[0]).astype(np.float32)
    b = randn(*shapes[1]).astype(np.float32)
    out = ops.matmul(tensor(a, device), tensor(b, device, contiguous=False))
    np.testing.assert_allclose(host(out), a.astype(np.float64) @ b.astype(np.float64), rtol=1e-5, atol=1e-5)


def test_matmul_primitive_transposes_and_bias_add(device):
    a = randn(4, 3).astype(np.float32)
    b = randn(5, 4).astype(np.float32)
    out = ops.MatMul(transpose_a=True, transpose_b=True)(tensor(a, device), tensor(b, device))
    np.testing.assert_allclose(host(out), a.T.astype(np.float64) @ b.T, rtol=1e-5, atol=1e-5)
    x = randn(2, 3, 4, 4).astype(np.float32)
    bias = randn(3).astype(np.float32)
    np.testing.assert_allclose(host(ops.bias_add(tensor(x, device), tensor(bias, device))),
                               x + bias[None, :, None, None], rtol=1e-6)


def test_dropout_masks_match_the_kernel_reference_and_scale(device):
    ms.set_seed(7)
    x = tensor(np.ones((4, 8, 3, 3), np.float32), device)
    out, mask = ops.Dropout2D(0.75)(x)
    assert mask.dtype == ms.bool_ and mask.shape == x.shape
    m = host(mask)
    assert (m == m[:, :, :1, :1]).all()  # whole channels
    np.testing.assert_allclose(host(out), m / 0.75, rtol=1e-6)
    out, mask = ops.Dropout(0.5)(x)
    assert mask.dtype == ms.float32
    np.testing.assert_allclose(host(out), host(mask) * 2.0)
    assert ops.dropout(x, p=0.5, training=False) is x
    ms.set_seed(7)
    again, _ = ops.Dropout2D(0.75)(x)
    np.testing.assert_array_equal(host(again), np.float32(m / np.float32(0.75)))


def test_tensor_methods(device):
    a = randn(2, 3).astype(np.float32)
    x = tensor(a, device)
    np.testing.assert_allclose(host(x.sum()), a.sum(), rtol=1e-6)
    np.testing.assert_allclose(host(x.mean(1)), a.mean(1), rtol=1e-6)
    assert float(x.max()) == a.max() and int(x.argmax()) == a.argmax()
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.transpose().shape == (3, 2) and x.transpose(1, 0).shape == (3, 2)
    assert x.expand_dims(0).shape == (1, 2, 3) and x.expand_dims(0).squeeze().shape == (2, 3)
    np.testing.assert_allclose(host(x.abs()), np.abs(a))
    np.testing.assert_allclose(host(x.exp()), np.exp(a), rtol=1e-6)
    assert bool((x > 100).any()) is False and bool((x < 100).all()) is True
