"""shape / rank / size / depend as callables, Identity, clip_by_value, nonzero, var / std, unsqueeze,
div's rounding_mode, amax / amin over several axes, and the Primitives added with them: forward
against NumPy, gradients against finite differences, errors in MindSpore's words."""

from __future__ import annotations

import numpy as np
import pytest
from op_testing import check_gradients, randn

import gpucell as ms
from gpucell import nn, ops


def T(values, device, dtype=None):
    return ms.Tensor(np.asarray(values), dtype, device=device)


def test_shape_rank_size_are_callables(device):
    x = T(np.zeros((2, 3, 4)), device)
    assert ops.shape(x) == (2, 3, 4) and ops.rank(x) == 3 and ops.size(x) == 24
    assert ops.shape(T(1.0, device)) == () and ops.rank(T(1.0, device)) == 0 and ops.size(T(1.0, device)) == 1
    assert ops.Shape()(x) == (2, 3, 4) and ops.Rank()(x) == 3 and ops.Size()(x) == 24
    for fn, op in ((ops.shape, "Shape"), (ops.rank, "Rank"), (ops.size, "Size")):
        with pytest.raises(TypeError, match=f"For '{op}', the 'input_x' must be a Tensor, but got list"):
            fn([1, 2])


def test_the_shape_module_stays_importable():
    """ops.shape is MindSpore's function and also the module of the shape ops."""
    from gpucell.ops import shape as shape_module

    assert shape_module.reshape is ops.reshape and callable(shape_module)


def test_depend_returns_its_first_input(device):
    x, y = T([1.0], device), T([2.0], device)
    assert ops.depend(x, y) is x and ops.Depend()(x, ops.assign) is x
    g = ms.grad(lambda a, b: (ops.depend(a, b) * 3).sum())(x, y)
    assert g.asnumpy().tolist() == [3.0]


def test_identity(device):
    x = T([[1.0, 2.0]], device)
    for out in (ops.Identity()(x), nn.Identity()(x)):
        assert out is not x and out.shape == x.shape and out.dtype == x.dtype
        np.testing.assert_array_equal(out.asnumpy(), x.asnumpy())
    check_gradients(lambda a: ops.Identity()(a) * 2, [randn(2, 3)], device)
    check_gradients(lambda a: nn.Identity()(a), [randn(3)], device)
    with pytest.raises(TypeError, match="For 'Identity', the 'x' must be a Tensor, but got int"):
        ops.Identity()(1)


def test_clip_by_value(device):
    a = np.array([-3.0, -0.5, 0.2, 4.0], np.float32)
    x = T(a, device)
    np.testing.assert_array_equal(ops.clip_by_value(x, -1.0, 1.0).asnumpy(), np.clip(a, -1, 1))
    np.testing.assert_array_equal(ops.clip_by_value(x, clip_value_max=0.0).asnumpy(), np.minimum(a, 0))
    np.testing.assert_array_equal(ops.clip_by_value(x, T(0.0, device, ms.float32)).asnumpy(), np.maximum(a, 0))
    np.testing.assert_array_equal(ops.clip_by_value(x, 2.0, 1.0).asnumpy(), [1.0] * 4)  # min > max: the max
    pair = ops.clip_by_value([x, x * 2], -1.0, 1.0)
    assert isinstance(pair, list) and pair[1].asnumpy().tolist() == np.clip(2 * a, -1, 1).tolist()
    check_gradients(lambda t: ops.clip_by_value(t, -0.7, 0.6), [np.array([-1.3, -0.2, 0.35, 0.9])], device)
    with pytest.raises(ValueError, match="For 'clip_by_value', at least one of 'clip_value_min' or 'clip_value_max' "
                                         "must not be None"):
        ops.clip_by_value(x)
    with pytest.raises(TypeError, match="For 'clip_by_value', the 'x' must be a Tensor or a tuple or list of Tensors"):
        ops.clip_by_value(np.ones(2), 0.0, 1.0)
    with pytest.raises(TypeError, match="For 'clip_by_value', the 'clip_value_min' must be a Tensor, a number or "
                                        "None, but got str"):
        ops.clip_by_value(x, "0")


def test_nonzero(device):
    a = np.array([[0, 3, 0], [4, 0, 5]])
    x = T(a, device)
    out = ops.nonzero(x)
    assert out.dtype == ms.int64
    np.testing.assert_array_equal(out.asnumpy(), np.argwhere(a))
    cols = ops.nonzero(x, as_tuple=True)
    assert isinstance(cols, tuple) and len(cols) == 2
    for got, want in zip(cols, np.nonzero(a)):
        np.testing.assert_array_equal(got.asnumpy(), want)
    assert ops.nonzero(T(np.zeros((2, 2)), device)).shape == (0, 2)
    np.testing.assert_array_equal(T([True, False, True], device).nonzero().asnumpy(), [[0], [2]])
    with pytest.raises(ValueError, match="For 'NonZero', the dimension of 'input' must be at least 1, but got 0"):
        ops.nonzero(T(1.0, device))
    with pytest.raises(TypeError, match="For 'NonZero', the 'as_tuple' must be a bool, but got 1"):
        ops.nonzero(x, 1)


@pytest.mark.parametrize("axis, ddof, keepdims", [(None, 0, False), (1, 1, False), ((0, 2), 0, True), (-1, 2, True)])
def test_var_and_std_match_numpy(device, axis, ddof, keepdims):
    a = randn(3, 4, 5)
    x = T(a, device)
    expected = np.var(a, axis, ddof=ddof, keepdims=keepdims)
    np.testing.assert_allclose(ops.var(x, axis, ddof, keepdims).asnumpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(x.std(axis, ddof, keepdims).asnumpy(), np.std(a, axis, ddof=ddof, keepdims=keepdims),
                               rtol=1e-12)
    check_gradients(lambda t: ops.var(t, axis, ddof, keepdims), [randn(2, 3, 3)], device)
    check_gradients(lambda t: t.std(axis, ddof, keepdims), [randn(3, 2, 3)], device)


def test_var_and_std_edges(device):
    assert ops.var(T([1, 2, 3, 4], device)).dtype == ms.float32  # ints give Float32
    assert ops.var(T([1.0, 2.0, 3.0, 4.0], device, ms.float32)).asnumpy().tolist() == 1.25  # MindSpore's example
    assert np.isnan(ops.var(T(np.zeros((0, 3)), device)).asnumpy())
    assert np.isnan(ops.var(T([2.0], device), ddof=1).asnumpy())  # 0 / 0, as a division gives
    assert np.isinf(ops.var(T([1.0, 3.0], device), ddof=2).asnumpy())
    np.testing.assert_allclose(ops.var(T([1.0, 3.0], device), ddof=True).asnumpy(), 2.0)
    with pytest.raises(TypeError, match="For 'Tensor.var', the 'ddof' must be an int, but got 0.5"):
        T([1.0], device).var(ddof=0.5)
    with pytest.raises(TypeError, match="For 'std', the 'keepdims' must be a bool, but got 1"):
        ops.std(T([1.0], device), keepdims=1)
    with pytest.raises(ValueError, match=r"For 'Tensor.std', the 'axis' must be in range \[-1, 1\), but got 1"):
        T([1.0], device).std(1)


def test_unsqueeze(device):
    x = T(np.zeros((2, 3)), device)
    assert ops.unsqueeze(x, 0).shape == (1, 2, 3) and x.unsqueeze(-1).shape == (2, 3, 1)
    assert x.unsqueeze(2).shape == (2, 3, 1)
    check_gradients(lambda t: t.unsqueeze(1), [randn(2, 3)], device)
    with pytest.raises(ValueError, match=r"For 'unsqueeze', the 'dim' must be in range \[-3, 3\), but got 3"):
        x.unsqueeze(3)
    with pytest.raises(TypeError, match="For 'unsqueeze', the 'dim' must be an int, but got 1.0"):
        ops.unsqueeze(x, 1.0)


def test_div_rounding_modes(device):
    a, b = np.array([-7, 7, -6, 5]), np.array([2, -2, 3, 5])
    x, y = T(a, device), T(b, device)
    np.testing.assert_array_equal(ops.div(x, y, rounding_mode="floor").asnumpy(), np.floor_divide(a, b))
    np.testing.assert_array_equal(ops.div(x, y, rounding_mode="trunc").asnumpy(), np.trunc(a / b).astype(int))
    assert ops.div(x, y, rounding_mode="trunc").dtype == ms.int64
    f = T([-7.5, 7.5], device, ms.float32)
    np.testing.assert_array_equal(f.div(2, rounding_mode="trunc").asnumpy(), [-3.0, 3.0])
    np.testing.assert_array_equal(ops.div(f, 2, rounding_mode="floor").asnumpy(), [-4.0, 3.0])
    assert ops.div(x, y).dtype == ms.float32
    with pytest.raises(ValueError, match="For 'div', the 'rounding_mode' must be None, 'floor' or 'trunc', but got"):
        ops.div(x, y, rounding_mode="x")


@pytest.mark.parametrize("axis", [(0, 2), [1], (), (-1, 0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_amax_amin_over_several_axes(device, axis, keepdims):
    a = np.random.default_rng(0).permutation(24).reshape(2, 3, 4).astype(np.float32)
    x = T(a, device)
    np_axis = None if axis == () else tuple(axis)
    np.testing.assert_array_equal(ops.amax(x, axis, keepdims).asnumpy(), a.max(np_axis, keepdims=keepdims))
    np.testing.assert_array_equal(ops.amin(x, axis, keepdims).asnumpy(), a.min(np_axis, keepdims=keepdims))
    np.testing.assert_array_equal(ops.ReduceMin(keepdims)(x, axis).asnumpy(), a.min(np_axis, keepdims=keepdims))


def test_amax_gradient_over_several_axes(device):
    check_gradients(lambda t: ops.amax(t, (0, 2)), [np.random.default_rng(1).permutation(12).reshape(2, 3, 2) * 0.3],
                    device)


def test_new_primitives(device):
    a, b = np.array([1.0, -2.0, 3.0]), np.array([2.0, -2.0, 1.0])
    x, y = T(a, device), T(b, device)
    cases = {
        ops.GreaterEqual: np.greater_equal, ops.LessEqual: np.less_equal, ops.NotEqual: np.not_equal,
        ops.Maximum: np.maximum, ops.Minimum: np.minimum, ops.Pow: lambda p, q: np.power(np.abs(p), q),
    }
    for prim, fn in cases.items():
        args = (ops.abs(x), y) if prim is ops.Pow else (x, y)
        np.testing.assert_allclose(prim()(*args).asnumpy(), fn(a, b), err_msg=prim.__name__)
    np.testing.assert_array_equal(ops.Abs()(x).asnumpy(), np.abs(a))
    np.testing.assert_array_equal(ops.Sign()(x).asnumpy(), np.sign(a))
    np.testing.assert_allclose(ops.Rsqrt()(ops.abs(x)).asnumpy(), 1 / np.sqrt(np.abs(a)))
    np.testing.assert_array_equal(ops.ZerosLike()(x).asnumpy(), np.zeros(3))
    np.testing.assert_array_equal(ops.OnesLike()(x).asnumpy(), np.ones(3))
    t, f = T([True, False], device), T([True, True], device)
    assert ops.LogicalAnd()(t, f).asnumpy().tolist() == [True, False]
    assert ops.LogicalOr()(t, f).asnumpy().tolist() == [True, True]
    assert ops.LogicalNot()(t).asnumpy().tolist() == [False, True]
    assert ops.Flatten()(T(np.zeros((2, 3, 4)), device)).shape == (2, 12)
    assert ops.Flatten()(T(np.zeros(3), device)).shape == (3, 1)
    with pytest.raises(ValueError, match="For 'Flatten', the dimension of 'input_x' must be at least 1, but got 0"):
        ops.Flatten()(T(1.0, device))
    params = T(np.arange(6.0).reshape(2, 3), device)
    np.testing.assert_array_equal(ops.Gather()(params, T([2, 0], device), 1).asnumpy(), [[2.0, 0.0], [5.0, 3.0]])
    with pytest.raises(TypeError, match="For 'Gather', the 'batch_dims' must be an int, but got 'a'"):
        ops.Gather("a")
    bias = T([1.0, 2.0, 3.0], device)
    np.testing.assert_array_equal(ops.BiasAdd()(params, bias).asnumpy(), np.arange(6.0).reshape(2, 3) + [1, 2, 3])
    with pytest.raises(ValueError, match="For 'BiasAdd', only channels-first data"):
        ops.BiasAdd("NHWC")


def test_floor_mod_and_remainder_follow_the_divisor_sign(device):
    a, b = np.array([2, 4, -1]), np.array([3, 3, 3])
    for fn in (ops.floor_mod, ops.remainder):
        np.testing.assert_array_equal(fn(T(a, device), T(b, device)).asnumpy(), [2, 1, 2])
