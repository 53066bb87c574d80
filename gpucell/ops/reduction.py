"""Reductions: sum, mean, max, min, argmax, argmin (axis and keep-dims as MindSpore names them).

Float sums, means and maxima over one axis or all axes run the reduce kernel
(kernels/reduce.cu; its NumPy reference on the CPU); several axes, ints and min use the array
library's own reduction.
"""

from __future__ import annotations

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module, kernel_ops
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_axes, check_axis, check_bool, check_tensor

__all__ = ["sum", "mean", "max", "min", "argmax", "argmin", "amax", "amin"]

_FLOATS = "f"


def _one_axis(axes):
    return axes is None or len(axes) == 1


def _kernel_reduce(name: str, a, axes, keepdims: bool):
    if a.dtype.kind == _FLOATS and _one_axis(axes) and a.size:
        return kernel_ops.reduce(name, a, None if axes is None else axes[0], keepdims)
    return None


def _sum(a, axes, keepdims, dtype):
    if dtype is None:
        out = _kernel_reduce("sum", a, axes, keepdims)
        if out is not None:
            return out
        # Integer sums keep their dtype (MindSpore), bool sums count in int64.
        dtype = np.int64 if a.dtype.kind == "b" else a.dtype
    return array_module(a).sum(a, axis=axes, keepdims=keepdims, dtype=dtype)


def _mean(a, axes, keepdims):
    out = _kernel_reduce("mean", a, axes, keepdims)
    if out is not None:
        return out
    xp = array_module(a)
    result = xp.mean(a, axis=axes, keepdims=keepdims)
    return result.astype(a.dtype if a.dtype.kind in "fc" else np.float32)  # complex means stay complex


def _expand(g, shape, axes, keepdims):
    """``g`` reshaped so it broadcasts against the input of a reduction over ``axes``."""
    from gpucell.ops import shape as _shape

    if keepdims:
        return g
    kept = tuple(1 if axes is None or d in axes else n for d, n in enumerate(shape))
    return _shape.reshape(g, kept)


def _sum_backward(ctx, g):
    from gpucell.ops import shape as _shape

    shape = ctx.shape(0)
    return _shape.broadcast_to(_expand(g, shape, ctx.attrs["axes"], ctx.attrs["keepdims"]), shape)


def _mean_backward(ctx, g):
    shape = ctx.shape(0)
    axes = ctx.attrs["axes"]
    count = int(np.prod([shape[d] for d in (range(len(shape)) if axes is None else axes)], dtype=np.int64))
    return _sum_backward(ctx, g) / (count or 1)


def _extremum(name: str):
    def forward(a, axis, keepdims):
        xp = array_module(a)
        values = _kernel_reduce("max", a, None if axis is None else (axis,), keepdims) \
            if name == "max" else None
        if values is None:
            values = (xp.max if name == "max" else xp.min)(a, axis=axis, keepdims=keepdims)
        indices = (xp.argmax if name == "max" else xp.argmin)(a, axis=axis, keepdims=keepdims)
        return values, indices.astype(np.int64)
    return forward


def _extremum_backward(ctx, g_values, g_indices):
    # The gradient goes to the element the index names (the first extremum), as in MindSpore.
    from gpucell.ops import creation, selection
    from gpucell.ops import shape as _shape

    shape = ctx.shape(0)
    axis, keepdims = ctx.attrs["axis"], ctx.attrs["keepdims"]
    indices = ctx.outputs[1]
    if axis is None:
        flat = creation.arange(0, int(np.prod(shape, dtype=np.int64)))
        if flat.device != g_values.device:
            flat = flat.move_to(g_values.device)
        hit = _shape.reshape(flat == _shape.reshape(indices, (1,)), shape)
        return selection.select(hit, _shape.broadcast_to(_shape.reshape(g_values, (1,) * len(shape)), shape), 0.0)
    positions = creation.arange(0, shape[axis])
    if positions.device != g_values.device:
        positions = positions.move_to(g_values.device)
    positions = _shape.reshape(positions, tuple(-1 if d == axis else 1 for d in range(len(shape))))
    index = indices if keepdims else _shape.expand_dims(indices, axis)
    grads = g_values if keepdims else _shape.expand_dims(g_values, axis)
    return selection.select(positions == index, _shape.broadcast_to(grads, shape), 0.0)


SUM = Op("ReduceSum", _sum, backward=_sum_backward, saves="none")
MEAN = Op("ReduceMean", _mean, backward=_mean_backward, saves="none")
MAX = Op("ArgMaxWithValue", _extremum("max"), backward=_extremum_backward, multi_output=True,
         saves="output")
MIN = Op("ArgMinWithValue", _extremum("min"), backward=_extremum_backward, multi_output=True,
         saves="output")
ARGMAX = Op("Argmax", lambda a, axis, keepdims: array_module(a).argmax(a, axis=axis, keepdims=keepdims)
            .astype(np.int64))
ARGMIN = Op("Argmin", lambda a, axis, keepdims: array_module(a).argmin(a, axis=axis, keepdims=keepdims)
            .astype(np.int64))


def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` (an int, a tuple of ints, or None for all).

    >>> import gpucell as ms
    >>> ms.ops.sum(ms.Tensor([[1.0, 2.0], [3.0, 4.0]]), 1).asnumpy()
    array([3., 7.], dtype=float32)
    """
    check_tensor("ReduceSum", "input", input)
    axes = check_axes("ReduceSum", dim, input.ndim, "dim")
    keepdim = check_bool("ReduceSum", "keepdim", keepdim)
    target = None if dtype is None else _dt.to_dtype(dtype).numpy
    return apply(SUM, input, axes=axes, keepdims=keepdim, dtype=target)


def mean(input, axis=None, keep_dims=False):
    """Mean over ``axis`` (an int, a tuple of ints, or None for all); ints give Float32."""
    check_tensor("ReduceMean", "input", input)
    axes = check_axes("ReduceMean", axis, input.ndim)
    keep_dims = check_bool("ReduceMean", "keep_dims", keep_dims)
    return apply(MEAN, input, axes=axes, keepdims=keep_dims)


def _check_extremum(op: str, input, axis, keepdims):
    check_tensor(op, "input", input)
    if axis is not None:
        axis = check_axis(op, axis, input.ndim)
    keepdims = check_bool(op, "keepdims", keepdims)
    length = input.size if axis is None else (input.shape[axis] if input.ndim else 1)
    if length == 0:
        raise ValueError(f"For '{op}', cannot reduce an empty axis of 'input' with shape {input.shape}.")
    return axis, keepdims


def max(input, axis=None, keepdims=False):
    """``(values, indices)`` of the maximum over ``axis`` (an int, or None for all elements)."""
    axis, keepdims = _check_extremum("max", input, axis, keepdims)
    return apply(MAX, input, axis=axis, keepdims=keepdims)


def min(input, axis=None, keepdims=False):
    """``(values, indices)`` of the minimum over ``axis`` (an int, or None for all elements)."""
    axis, keepdims = _check_extremum("min", input, axis, keepdims)
    return apply(MIN, input, axis=axis, keepdims=keepdims)


def _extreme_values(op: str, fn, input, axis, keepdims):
    """The extreme values over ``axis``: an int, None (all), or a tuple or list of axes ('()' is all,
    as MindSpore's ReduceMax reads it), one axis at a time from the last."""
    if not isinstance(axis, (tuple, list)):
        return fn(input, axis, keepdims)[0]
    check_tensor(op, "input", input)
    axes = check_axes(op, axis, input.ndim)
    if axes is None:
        return fn(input, None, keepdims)[0] if not keepdims or input.ndim == 0 else \
            _extreme_values(op, fn, input, tuple(range(input.ndim)), keepdims)
    out = input
    for a in sorted(axes, reverse=True):
        out = fn(out, a, keepdims)[0]
    return out


def amax(input, axis=None, keepdims=False):
    """The maximum values over ``axis`` (an int, a tuple of ints, or None for all)."""
    return _extreme_values("amax", max, input, axis, keepdims)


def amin(input, axis=None, keepdims=False):
    """The minimum values over ``axis`` (an int, a tuple of ints, or None for all)."""
    return _extreme_values("amin", min, input, axis, keepdims)


def argmax(input, dim=None, keepdim=False):
    """Int64 index of the maximum along ``dim`` (of the flattened input when None)."""
    dim, keepdim = _check_extremum("Argmax", input, dim, keepdim)
    return apply(ARGMAX, input, axis=dim, keepdims=keepdim)


def argmin(input, axis=None, keepdims=False):
    """Int64 index of the minimum along ``axis`` (of the flattened input when None)."""
    axis, keepdims = _check_extremum("Argmin", input, axis, keepdims)
    return apply(ARGMIN, input, axis=axis, keepdims=keepdims)
