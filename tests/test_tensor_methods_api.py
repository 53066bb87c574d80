"""Tensor methods MindSpore code calls: dim, unsqueeze, std, var, nonzero, float, half, int,
init_data, Tensor.from_numpy, and the signatures fixed by the API audit (select, softmax, clip, div,
flatten's order). Forward against NumPy, gradients against finite differences, on both devices."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import gpucell as ms
from gpucell import ops

sys.path.insert(0, str(Path(__file__).parent / "ops"))
from op_testing import check_gradients, randn  # noqa: E402


def T(values, device, dtype=None):
    return ms.Tensor(np.asarray(values), dtype, device=device)


def test_dim_and_unsqueeze(device):
    x = T(np.zeros((2, 3)), device)
    assert x.dim() == 2 and T(1.0, device).dim() == 0
    assert x.unsqueeze(1).shape == (2, 1, 3) and x.unsqueeze(-3).shape == (1, 2, 3)


def test_std_and_var(device):
    a = randn(4, 3)
    x = T(a, device)
    np.testing.assert_allclose(x.var().asnumpy(), np.var(a), rtol=1e-12)
    np.testing.assert_allclose(x.var(0, 1, True).asnumpy(), np.var(a, 0, ddof=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(x.std(axis=1).asnumpy(), np.std(a, 1), rtol=1e-12)
    assert T([1.0, 2.0, 3.0, 4.0], device, ms.float32).var().asnumpy().tolist() == 1.25
    check_gradients(lambda t: t.var(1, 1), [randn(2, 3)], device)
    check_gradients(lambda t: t.std(), [randn(2, 3)], device)


def test_nonzero(device):
    a = np.array([[1, 0], [0, 2]])
    np.testing.assert_array_equal(T(a, device).nonzero().asnumpy(), np.argwhere(a))
    rows, cols = T(a, device).nonzero(as_tuple=True)
    assert rows.asnumpy().tolist() == [0, 1] and cols.asnumpy().tolist() == [0, 1]


@pytest.mark.parametrize("method, dtype", [("float", ms.float32), ("half", ms.float16), ("int", ms.int32)])
def test_casts(device, method, dtype):
    x = T([1.7, -2.2, 3.0], device, ms.float64)
    out = getattr(x, method)()
    assert out.dtype == dtype and out.device == device
    np.testing.assert_array_equal(out.asnumpy(), np.array([1.7, -2.2, 3.0]).astype(dtype.numpy))
    assert T([1, 2], device).float().dtype == ms.float32


def test_cast_gradients(device):
    # The cast's gradient is the output gradient cast back (finite differences through a float32
    # rounding would measure the rounding, not the gradient).
    w = T([0.5, 2.0, -3.0], device, ms.float32)
    g = ms.grad(lambda t: (t.float() * w).sum())(T([1.0, 2.0, 3.0], device, ms.float64))
    assert g.dtype == ms.float64 and g.asnumpy().tolist() == [0.5, 2.0, -3.0]
    g = ms.grad(lambda t: (t.half() * 2).sum())(T([1.0, 2.0], device, ms.float32))
    assert g.dtype == ms.float32 and g.asnumpy().tolist() == [2.0, 2.0]


def test_init_data_returns_the_tensor(device):
    from gpucell.common.initializer import One, initializer

    t = ms.Tensor(shape=(2, 2), dtype=ms.float32, init=One(), device=device)
    assert t.init_data() is t and t.asnumpy().tolist() == [[1.0, 1.0], [1.0, 1.0]]
    w = initializer("zeros", [2, 3], ms.float32)
    assert w.init_data() is w and w.init_data(shape=[2, 3]) is w
    with pytest.raises(ValueError, match=r"For 'Tensor.init_data', the 'shape' \(3, 2\) must be the tensor's shape"):
        w.init_data(shape=(3, 2))


def test_from_numpy_shares_memory():
    a = np.array([1, 2])
    t = ms.Tensor.from_numpy(a)
    assert t.device == "CPU" and t.dtype == ms.int64
    a[0] = 11
    assert t.asnumpy().tolist() == [11, 2]
    with pytest.raises(TypeError, match="For 'from_numpy', expected a numpy.ndarray, but got list"):
        ms.Tensor.from_numpy([1, 2])


def test_select_takes_self_where_the_condition_holds(device):
    """MindSpore's Tensor.select(condition, y): self where condition, else y (self is not the
    condition, as gpucell had it)."""
    x = T([1.0, 2.0, 3.0], device, ms.float32)
    cond = T([True, False, True], device)
    assert x.select(cond, T([9.0, 8.0, 7.0], device, ms.float32)).asnumpy().tolist() == [1.0, 8.0, 3.0]
    assert x.select(cond, 0.0).asnumpy().tolist() == [1.0, 0.0, 3.0]
    with pytest.raises(TypeError, match="For 'Tensor.select', the argument 'condition' should be Tensor, but got list"):
        x.select([True, False, True], 0.0)


def test_audited_signatures(device):
    x = T([[1.0, 2.0], [3.0, 5.0]], device, ms.float32)
    np.testing.assert_allclose(x.softmax(0, ms.float64).asnumpy(), ops.softmax(x, 0).asnumpy(), rtol=1e-6)
    assert x.softmax(0, ms.float64).dtype == ms.float64
    assert x.clip(min=2.0, max=4.0).asnumpy().tolist() == [[2.0, 2.0], [3.0, 4.0]]
    assert x.clamp(max=2.0).asnumpy().tolist() == [[1.0, 2.0], [2.0, 2.0]]
    assert x.div(2, rounding_mode="floor").asnumpy().tolist() == [[0.0, 1.0], [1.0, 2.0]]
    assert x.flatten("F").asnumpy().tolist() == [1.0, 3.0, 2.0, 5.0]


def test_max_and_min_over_several_axes(device):
    a = np.random.default_rng(3).permutation(24).reshape(2, 3, 4).astype(np.float32)
    x = T(a, device)
    np.testing.assert_array_equal(x.max((0, 2)).asnumpy(), a.max((0, 2)))
    np.testing.assert_array_equal(x.min([1], keepdims=True).asnumpy(), a.min(1, keepdims=True))
    values, indices = x.max(axis=0, return_indices=True)
    np.testing.assert_array_equal(indices.asnumpy(), a.argmax(0))
    with pytest.raises(ValueError, match="For 'Tensor.max', 'return_indices' must be False when 'axis' is a tuple"):
        x.max((0, 1), return_indices=True)
