"""sort, argsort, topk, gather_elements: values and Int32 indices against NumPy on both backends (stable
order, descending, every axis), gradients to the selected positions against finite differences, and
the errors."""

from __future__ import annotations

import numpy as np
import pytest
from op_testing import check_gradients, host, randn, tensor

import gpucell as ms
from gpucell import ops


def _distinct(*shape) -> np.ndarray:
    """Values at least 0.1 apart (a permutation of a grid plus noise): no ties, and finite
    differences never swap two of them."""
    n = int(np.prod(shape))
    return (np.random.default_rng(n).permutation(n) * 0.25 + randn(n) * 0.01).reshape(shape)


def _np_order(a, axis, descending):
    """NumPy's stable argsort, descending with ties in their original order."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    return n - 1 - np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort(device, axis, descending):
    a = _distinct(3, 4, 5)
    values, indices = ops.sort(tensor(a, device), axis, descending)
    order = np.argsort(-a if descending else a, axis=axis)
    assert indices.dtype is ms.int32 and values.dtype is ms.float64
    np.testing.assert_array_equal(host(indices), order)
    np.testing.assert_array_equal(host(values), np.take_along_axis(a, order, axis))
    arg = ops.argsort(tensor(a.astype(np.float32), device), axis, descending)
    assert arg.dtype is ms.int32
    np.testing.assert_array_equal(host(arg), order)
    check_gradients(lambda x: ops.sort(x, axis, descending), [_distinct(2, 3, 4)], device)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_is_stable_with_ties(device, descending):
    a = np.array([[2, 1, 2, 0, 1, 2], [5, 5, 5, 5, 5, 5]], np.int32)
    values, indices = ops.sort(tensor(a, device), descending=descending)
    want = _np_order(a, -1, descending)
    np.testing.assert_array_equal(host(indices), want)
    assert values.dtype is ms.int32
    np.testing.assert_array_equal(host(values), np.take_along_axis(a, want, -1))
    np.testing.assert_array_equal(host(ops.argsort(tensor(a, device), descending=descending)), want)


def test_sort_of_nan_and_bool(device):
    a = np.array([3.0, np.nan, -1.0, 2.0], np.float32)
    values, indices = ops.sort(tensor(a, device))
    assert host(indices).tolist() == [2, 3, 0, 1] and np.isnan(host(values)[-1])  # NaN last, as NumPy
    values, indices = ops.sort(tensor(np.array([True, False, True]), device), descending=True)
    assert host(values).tolist() == [True, True, False] and host(indices).tolist() == [0, 2, 1]
    scalar, index = ops.sort(tensor(np.float32(2.0), device))
    assert scalar.shape == index.shape == () and index.dtype is ms.int32


@pytest.mark.parametrize("dim", [None, 0, 1])
@pytest.mark.parametrize("largest", [True, False])
def test_topk(device, dim, largest):
    a = _distinct(4, 6)
    k = 3
    axis = -1 if dim is None else dim
    order = np.argsort(-a if largest else a, axis=axis)
    want_idx = np.take(order, np.arange(k), axis=axis)
    values, indices = ops.topk(tensor(a, device), k, dim, largest)
    assert indices.dtype is ms.int32 and values.shape == want_idx.shape
    np.testing.assert_array_equal(host(indices), want_idx)
    np.testing.assert_array_equal(host(values), np.take_along_axis(a, want_idx, axis))
    check_gradients(lambda x: ops.topk(x, 2, dim, largest)[0], [_distinct(3, 4)], device)
    unsorted, _ = ops.topk(tensor(a, device), k, dim, largest, sorted=False)
    np.testing.assert_array_equal(np.sort(host(unsorted), axis=axis), np.sort(host(values), axis=axis))


def test_topk_gradient_goes_to_the_selected_positions(device):
    x = tensor(np.array([[1.0, 5.0, 3.0, 4.0]]), device)
    g = ms.grad(lambda x: ops.sum(ops.topk(x, 2)[0] * tensor(np.array([[10.0, 1.0]]), device)))(x)
    assert host(g).tolist() == [[0.0, 10.0, 0.0, 1.0]]
    empty, idx = ops.topk(x, 0)
    assert empty.shape == idx.shape == (1, 0)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_elements(device, dim):
    a = randn(3, 4)
    rng = np.random.default_rng(dim + 5)
    n = a.shape[dim]
    index_shape = (2, 4) if dim == 0 else (3, 3)  # other dims may be shorter than input's
    index = rng.integers(-n, n, index_shape)
    wanted = np.take_along_axis(a[:index_shape[0], :] if dim != 0 else a[:, :index_shape[1]], index % n, dim)
    for dtype in (np.int32, np.int64):
        out = ops.gather_elements(tensor(a, device), dim, tensor(index.astype(dtype), device))
        assert out.shape == index.shape
        np.testing.assert_array_equal(host(out), wanted)
    # Repeated indices: their gradients add up.
    check_gradients(lambda x: ops.gather_elements(x, dim, tensor(index, device)), [randn(3, 4)], device)
    # The backward (a scatter-add) is linear, so its own gradient is the gather again.
    check_gradients(ms.grad(lambda x: ops.sum(ops.gather_elements(x, dim, tensor(index, device)) ** 2)),
                    [randn(3, 4)], device)


def test_tensor_methods_long_bool_split_repeat(device):
    x = tensor(np.array([[1.5, 0.0], [-2.0, 3.0]], np.float32), device)
    assert x.long().dtype is ms.int64 and host(x.long()).tolist() == [[1, 0], [-2, 3]]
    assert x.bool().dtype is ms.bool_ and host(x.bool()).tolist() == [[True, False], [True, True]]
    parts = x.split(1, 1)
    assert [p.shape for p in parts] == [(2, 1), (2, 1)] and host(parts[1]).tolist() == [[0.0], [3.0]]
    assert [p.shape for p in tensor(np.arange(5.0), device).split([2, 3])] == [(2,), (3,)]


def test_errors():
    x = ms.Tensor(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="'Sort'.*'axis'.*\\[-2, 2\\).*2"):
        ops.sort(x, 2)
    with pytest.raises(TypeError, match="'Sort'.*'descending' must be a bool"):
        ops.sort(x, -1, 1)
    with pytest.raises(TypeError, match="'Sort'.*'input_x' must be a Tensor"):
        ops.sort([1.0])
    with pytest.raises(TypeError, match="'ArgSort'.*real number type.*Complex64"):
        ops.argsort(ms.Tensor(np.ones(2, np.complex64)))
    with pytest.raises(ValueError, match="'TopK'.*'k' must be in \\[0, 3\\].*4"):
        ops.topk(x, 4)
    with pytest.raises(TypeError, match="'TopK'.*'k' must be an int.*float"):
        ops.topk(x, 1.0)
    with pytest.raises(ValueError, match="'TopK'.*'dim'.*\\[-2, 2\\)"):
        ops.topk(x, 1, 3)
    with pytest.raises(ValueError, match="'TopK'.*at least one dimension"):
        ops.topk(ms.Tensor(1.0), 1)
    with pytest.raises(TypeError, match="'TopK'.*'sorted' must be a bool"):
        ops.topk(x, 1, sorted=None)
    index = ms.Tensor(np.zeros((2, 3), np.int32))
    with pytest.raises(TypeError, match="'GatherElements'.*'index'.*Int32 or Int64.*Float32"):
        ops.gather_elements(x, 0, ms.Tensor(np.zeros((2, 3), np.float32)))
    with pytest.raises(ValueError, match="'GatherElements'.*rank of 'input' \\(2\\)"):
        ops.gather_elements(x, 0, ms.Tensor(np.zeros(3, np.int32)))
    with pytest.raises(ValueError, match="'GatherElements'.*size of 'index' in dim 1 \\(4\\).*\\(3\\)"):
        ops.gather_elements(x, 0, ms.Tensor(np.zeros((2, 4), np.int32)))
    with pytest.raises(ValueError, match="'GatherElements'.*\\[-2, 2\\).*values in \\[2, 2\\]"):
        ops.gather_elements(x, 0, index + 2)
    with pytest.raises(ValueError, match="'GatherElements'.*'dim'.*\\[-2, 2\\)"):
        ops.gather_elements(x, 2, index)
