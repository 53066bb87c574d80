"""ops.one_hot / ops.OneHot against NumPy: axis placement, on/off values and their dtype, indices
outside [0, depth), no gradient (as MindSpore's bprop), jit capture, and MindSpore-style errors."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import ops


def reference(indices, depth, on, off, axis=-1):
    out = np.where(indices[..., None] == np.arange(depth), on, off)
    return np.moveaxis(out, -1, axis if axis != -1 else indices.ndim)


@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_matches_numpy(device, axis):
    idx = np.array([[0, 2, 1], [3, 1, 0]])
    x = ms.Tensor(idx, ms.int32, device=device)
    on, off = ms.Tensor(5.0, device=device), ms.Tensor(-1.0, device=device)
    out = ops.one_hot(x, 4, on, off, axis)
    assert out.dtype == ms.float32 and out.device == device
    np.testing.assert_array_equal(out.asnumpy(), reference(idx, 4, 5.0, -1.0, axis))
    np.testing.assert_array_equal(ops.OneHot(axis)(x, 4, on, off).asnumpy(), out.asnumpy())


def test_mindspore_example_and_defaults(device):
    x = ms.Tensor(np.array([0, 1, 2]), ms.int32, device=device)
    out = ops.one_hot(x, 3, ms.Tensor(1.0, ms.float32), ms.Tensor(0.0, ms.float32), axis=-1)
    np.testing.assert_array_equal(out.asnumpy(), np.eye(3, dtype=np.float32))
    default = ops.one_hot(x, 3)  # on_value=1, off_value=0: Python ints are Int64, as Tensor(1)
    assert default.dtype == ms.int64 and default.asnumpy().tolist() == np.eye(3, dtype=int).tolist()


def test_out_of_range_indices_give_off_values(device):
    x = ms.Tensor([-1, 3, 7, 1], device=device)
    np.testing.assert_array_equal(ops.one_hot(x, 3).asnumpy(), [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 1, 0]])


def test_scalar_indices_and_zero_depth(device):
    out = ops.one_hot(ms.Tensor(2, device=device), 4, 1.0, 0.0)
    assert out.shape == (4,) and out.asnumpy().tolist() == [0.0, 0.0, 1.0, 0.0]
    assert ops.one_hot(ms.Tensor([1, 2], device=device), 0).shape == (2, 0)


def test_on_and_off_values_of_other_dtypes(device):
    x = ms.Tensor([1, 0], ms.uint8, device=device)
    out = ops.one_hot(x, 2, ms.Tensor(7, ms.int32), ms.Tensor(-7, ms.int32))
    assert out.dtype == ms.int32 and out.asnumpy().tolist() == [[-7, 7], [7, -7]]
    half = ops.one_hot(x, 2, ms.Tensor([1.5], ms.float16), ms.Tensor([0.0], ms.float16))
    assert half.dtype == ms.float16 and half.asnumpy().tolist() == [[0.0, 1.5], [1.5, 0.0]]


def test_no_gradient_flows_to_the_values(device):
    on, off = ms.Tensor(1.0, device=device), ms.Tensor(0.0, device=device)
    x = ms.Tensor([0, 1], device=device)
    g = ms.grad(lambda a, b: ops.one_hot(x, 2, a, b).sum(), (0, 1))(on, off)
    assert [t.asnumpy().tolist() for t in g] == [0.0, 0.0]


def test_inside_jit(device):
    @ms.jit
    def encode(labels):
        return ops.one_hot(labels, 3, 1.0, 0.0) * 2

    for labels in ([0, 2], [1, 1]):
        x = ms.Tensor(labels, device=device)
        np.testing.assert_array_equal(encode(x).asnumpy(), 2 * np.eye(3, dtype=np.float32)[labels])


def test_errors(device):
    x = ms.Tensor([0, 1], device=device)
    on, off = ms.Tensor(1.0), ms.Tensor(0.0)
    with pytest.raises(TypeError, match="For 'OneHot', the 'indices' must be a Tensor, but got list"):
        ops.one_hot([0, 1], 2, on, off)
    with pytest.raises(TypeError, match=r"For 'OneHot', the dtype of 'indices' must be one of \[UInt8, Int32, Int64\], "
                                        r"but got Float32"):
        ops.one_hot(ms.Tensor([0.0]), 2, on, off)
    with pytest.raises(TypeError, match="For 'OneHot', the 'depth' must be an int, but got 2.5 with type 'float'"):
        ops.one_hot(x, 2.5, on, off)
    with pytest.raises(ValueError, match="For 'OneHot', the 'depth' must be >= 0, but got -1"):
        ops.one_hot(x, -1, on, off)
    with pytest.raises(ValueError, match=r"For 'OneHot', the 'axis' must be in range \[-1, 1\], but got 2"):
        ops.one_hot(x, 2, on, off, axis=2)
    with pytest.raises(TypeError, match="For 'OneHot', the 'axis' must be an int, but got '0'"):
        ops.OneHot("0")
    with pytest.raises(TypeError, match=r"For 'OneHot', the 'off_value' must have the dtype of 'on_value' \(Float32\), "
                                        r"but got Int64"):
        ops.one_hot(x, 2, on, ms.Tensor(0))
    with pytest.raises(ValueError, match=r"For 'OneHot', the 'on_value' must hold one value, but got shape \(2,\)"):
        ops.one_hot(x, 2, ms.Tensor([1.0, 2.0]), off)
    with pytest.raises(TypeError, match="For 'OneHot', the dtype of 'on_value' must be one of"):
        ops.one_hot(x, 2, ms.Tensor(True), ms.Tensor(False))
    with pytest.raises(TypeError, match="For 'OneHot', the 'on_value' must be a Tensor, an int or a float, but got"):
        ops.one_hot(x, 2, "a", off)
