"""Ordering and gathering along an axis: sort, argsort, topk, gather_elements.

Indices come out as Int32, as MindSpore's Sort and TopK give them. Sorting is stable (ties keep
their order; descending too), the same on both backends. The gradient of the values goes back to
the positions they came from: one scatter-add (``GatherElementsGrad``), shared by the three ops.

None of them is captured into a CUDA graph: CuPy sorts with Thrust, which synchronises the stream
(cupy/cupy#9126, until CuPy switched to ``par_nosync``), gather_elements checks its indices on the
host (MindSpore raises for one out of range) and the scatter-add synchronises. A jit plan runs them
eagerly between its captured segments.
"""

from __future__ import annotations

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_axis, check_bool, check_int, check_tensor, scatter_add

__all__ = ["sort", "argsort", "topk", "gather_elements"]


def _order(a, axis: int, descending: bool):
    """Int32 indices that sort ``a`` along ``axis``, stably."""
    xp = array_module(a)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable").astype(np.int32)
    # Sorting the reversed array and reversing the result keeps ties in their original order.
    reversed_order = xp.flip(xp.argsort(xp.flip(a, axis), axis=axis, kind="stable"), axis)
    return (a.shape[axis] - 1 - reversed_order).astype(np.int32)


def _sort(a, axis, descending):
    indices = _order(a, axis, descending)
    return array_module(a).take_along_axis(a, indices, axis), indices


def _topk(a, k, axis, largest):
    indices = _order(a, axis, largest)
    xp = array_module(a)
    indices = xp.ascontiguousarray(indices[(slice(None),) * axis + (slice(0, k),)])
    return xp.take_along_axis(a, indices, axis), indices


def _check_indices(a, index, axis):
    n = a.shape[axis]
    if index.size:
        low, high = int(index.min()), int(index.max())  # one host read: not capturable
        if low < -n or high >= n:
            raise ValueError(f"For 'GatherElements', the values of 'index' must be in [{-n}, {n}) for dim {axis} of "
                             f"'input' with shape {a.shape}, but got values in [{low}, {high}].")


def _window(shape: tuple, index_shape: tuple, axis: int) -> tuple:
    """The part of an array of ``shape`` that an index of ``index_shape`` addresses (all of ``axis``)."""
    return tuple(slice(None) if d == axis else slice(0, m) for d, m in enumerate(index_shape))


def _gather_elements(a, index, axis):
    _check_indices(a, index, axis)
    xp = array_module(a)
    index = xp.where(index < 0, index + a.shape[axis], index)
    return xp.take_along_axis(a[_window(a.shape, index.shape, axis)], index, axis)


def _scatter_along(g, index, shape, axis):
    """Zeros of ``shape`` plus ``g`` added at the positions ``index`` names along ``axis`` (repeats add up)."""
    xp = array_module(g)
    index = xp.where(index < 0, index + shape[axis], index)
    grid = xp.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)
    positions = xp.take_along_axis(grid[_window(shape, index.shape, axis)], index, axis)
    return scatter_add(xp, shape, positions, g)


def _values_backward(ctx, g_values, g_indices):
    return apply(SCATTER_ALONG, g_values, ctx.outputs[1], shape=ctx.shape(0), axis=ctx.attrs["axis"])


def _gather_elements_backward(ctx, g):
    return apply(SCATTER_ALONG, g, ctx.input(1), shape=ctx.shape(0), axis=ctx.attrs["axis"]), None


def _scatter_along_backward(ctx, gg):
    # Linear in g: its adjoint is the gather at the same indices.
    return apply(GATHER_ELEMENTS, gg, ctx.input(1), axis=ctx.attrs["axis"]), None


SORT = Op("Sort", _sort, backward=_values_backward, multi_output=True, saves="output", capturable=False)
TOPK = Op("TopK", _topk, backward=_values_backward, multi_output=True, saves="output", capturable=False)
ARGSORT = Op("ArgSort", lambda a, axis, descending: _order(a, axis, descending), capturable=False)
GATHER_ELEMENTS = Op("GatherElements", _gather_elements, backward=_gather_elements_backward, capturable=False)
SCATTER_ALONG = Op("GatherElementsGrad", _scatter_along, backward=_scatter_along_backward, capturable=False)


def _check_sortable(op: str, name: str, x):
    check_tensor(op, name, x)
    if x.dtype.kind not in (_dt._BOOL, _dt._INT, _dt._FLOAT):
        raise TypeError(f"For '{op}', the dtype of '{name}' must be a real number type, but got {x.dtype}.")


def sort(input_x, axis=-1, descending=False):
    """``(values, indices)``: ``input_x`` sorted along ``axis`` (ascending unless ``descending``) and
    the Int32 positions the values came from.

    >>> import gpucell as ms
    >>> values, indices = ms.ops.sort(ms.Tensor([[3.0, 1.0, 2.0]]), descending=True)
    >>> values.asnumpy(), indices.asnumpy()
    (array([[3., 2., 1.]], dtype=float32), array([[0, 2, 1]], dtype=int32))
    """
    _check_sortable("Sort", "input_x", input_x)
    axis = check_axis("Sort", axis, input_x.ndim)
    descending = check_bool("Sort", "descending", descending)
    if input_x.ndim == 0:
        from gpucell.ops.conversion import copy
        from gpucell.ops.creation import zeros_like

        return copy(input_x), zeros_like(input_x, dtype=_dt.int32)
    return apply(SORT, input_x, axis=axis, descending=descending)


def argsort(input, axis=-1, descending=False):
    """The Int32 indices that sort ``input`` along ``axis`` (ascending unless ``descending``)."""
    _check_sortable("ArgSort", "input", input)
    axis = check_axis("ArgSort", axis, input.ndim)
    descending = check_bool("ArgSort", "descending", descending)
    if input.ndim == 0:
        from gpucell.ops.creation import zeros_like

        return zeros_like(input, dtype=_dt.int32)
    return apply(ARGSORT, input, axis=axis, descending=descending)


def topk(input, k, dim=None, largest=True, sorted=True):
    """``(values, indices)`` of the ``k`` largest (or smallest) elements along ``dim`` (None: the last).

    The values come sorted, largest first (smallest first when ``largest=False``), also when
    ``sorted=False`` (any order is allowed then); indices are Int32.

    >>> import gpucell as ms
    >>> values, indices = ms.ops.topk(ms.Tensor([1.0, 5.0, 3.0, 4.0]), 2)
    >>> values.asnumpy(), indices.asnumpy()
    (array([5., 4.], dtype=float32), array([1, 3], dtype=int32))
    """
    _check_sortable("TopK", "input", input)
    if input.ndim == 0:
        raise ValueError("For 'TopK', the 'input' must have at least one dimension, but got a 0-D Tensor.")
    k = check_int("TopK", "k", k)
    axis = input.ndim - 1 if dim is None else check_axis("TopK", dim, input.ndim, "dim")
    largest = check_bool("TopK", "largest", largest)
    check_bool("TopK", "sorted", sorted)
    if not 0 <= k <= input.shape[axis]:
        raise ValueError(f"For 'TopK', the 'k' must be in [0, {input.shape[axis]}] (the size of dim {axis} of "
                         f"'input' with shape {input.shape}), but got {k}.")
    return apply(TOPK, input, k=k, axis=axis, largest=largest)


def gather_elements(input, dim, index):
    """``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` (and so on for other dims): the elements of
    ``input`` along ``dim`` at ``index`` (Int32 or Int64, same rank; in other dims no longer than
    ``input``; negative values count from the end). The result has ``index``'s shape.

    >>> import gpucell as ms
    >>> x = ms.Tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> ms.ops.gather_elements(x, 1, ms.Tensor([[0, 0], [1, 0]], ms.int32)).asnumpy()
    array([[1., 1.],
           [4., 3.]], dtype=float32)
    """
    check_tensor("GatherElements", "input", input)
    check_tensor("GatherElements", "index", index)
    if index.dtype not in (_dt.int32, _dt.int64):
        raise TypeError(f"For 'GatherElements', the dtype of 'index' must be Int32 or Int64, but got {index.dtype}.")
    dim = check_axis("GatherElements", dim, input.ndim, "dim")
    if index.ndim != input.ndim:
        raise ValueError(f"For 'GatherElements', 'index' must have the rank of 'input' ({input.ndim}), but got shape "
                         f"{index.shape} for 'input' of shape {input.shape}.")
    if input.ndim == 0:
        from gpucell.ops.shape import reshape

        return reshape(gather_elements(reshape(input, (1,)), 0, reshape(index, (1,))), ())
    for d, (m, n) in enumerate(zip(index.shape, input.shape)):
        if d != dim and m > n:
            raise ValueError(f"For 'GatherElements', the size of 'index' in dim {d} ({m}) must not exceed that of "
                             f"'input' ({n}); shapes {index.shape} and {input.shape}.")
    return apply(GATHER_ELEMENTS, input, index, axis=dim)
