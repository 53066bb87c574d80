"""Tensor indexing: ``t[index]`` (a new tensor) and ``t[index] = value`` (in place).

Indices: ints, slices, ``...``, ``None``, bools, and bool or int arrays (Tensors, lists or NumPy
arrays), alone or in a tuple, with NumPy's semantics. Reading returns a copy, never a view, so a
later in-place write cannot reach back into the source.
"""

from __future__ import annotations

import numpy as np

from gpucell import backend
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import scatter_add, sum_to
from gpucell.tensor import Tensor

__all__ = ["GETITEM", "SETITEM", "normalize_index"]

_BASIC = (int, slice, type(Ellipsis), type(None), bool, np.integer, np.bool_)


def _index_array(item, xp, where: str):
    """An index array on the data's device, checked for dtype and, on the GPU, for bounds."""
    if isinstance(item, Tensor):
        if backend.array_module(item._data) is not xp:
            raise ValueError(f"For '{where}', the index tensor is on {item.device} but the data is not; "
                             f"move one of them with Tensor.move_to().")
        array = item._data
    else:
        array = xp.asarray(np.asarray(item))
    if array.dtype.kind not in "biu":
        raise TypeError(f"For '{where}', an index array must hold ints or bools, but got dtype "
                        f"{array.dtype}.")
    return array


def normalize_index(index, data, where: str):
    """``index`` with Tensors and lists turned into arrays of ``data``'s backend."""
    xp = backend.array_module(data)
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for item in items:
        if isinstance(item, _BASIC):
            out.append(item)
        elif isinstance(item, (Tensor, list, np.ndarray)) or backend.is_gpu_array(item):
            out.append(_index_array(item, xp, where))
        else:
            raise TypeError(f"For '{where}', an index must be an int, a slice, ..., None, a bool, or a "
                            f"Tensor/list/array of ints or bools, but got {type(item).__name__}.")
    if xp is not np:
        _check_gpu_bounds(out, data.shape, where)
    return tuple(out) if isinstance(index, tuple) else out[0]


def _dims_used(item) -> int:
    """How many data axes an index item consumes (a bool mask consumes one per mask dim)."""
    if item is None or item is Ellipsis:
        return 0
    if hasattr(item, "dtype") and item.dtype.kind == "b" and item.ndim > 0:
        return item.ndim
    return 1


def _check_gpu_bounds(items, shape, where: str) -> None:
    # CuPy wraps out-of-range integer-array indices instead of raising; NumPy raises. Agree with NumPy.
    axis = 0
    for position, item in enumerate(items):
        if item is Ellipsis:
            axis = len(shape) - sum(_dims_used(i) for i in items[position + 1:])
            continue
        if hasattr(item, "dtype") and item.dtype.kind in "iu" and item.size and axis < len(shape):
            low, high = int(item.min()), int(item.max())
            if low < -shape[axis] or high >= shape[axis]:
                bad = high if high >= shape[axis] else low
                raise IndexError(f"For '{where}', index {bad} is out of bounds for axis {axis} "
                                 f"with size {shape[axis]}.")
        axis += _dims_used(item)


def _getitem(a, index):
    key = normalize_index(index, a, "Tensor.__getitem__")
    try:
        out = a[key]
    except IndexError as exc:
        raise IndexError(f"For 'Tensor.__getitem__', {exc}") from None
    if getattr(out, "base", None) is not None:
        out = out.copy()  # detach views: results own their memory
    return out


def _setitem(a, value, index):
    key = normalize_index(index, a, "Tensor.__setitem__")
    value_kind = value.dtype.kind if hasattr(value, "dtype") else (
        "f" if isinstance(value, float) else "i")
    if value_kind == "f" and a.dtype.kind != "f":
        raise TypeError(f"For 'Tensor.__setitem__', a float value cannot be written into a tensor of "
                        f"dtype {a.dtype} without losing data; cast the value first.")
    try:
        a[key] = value
    except IndexError as exc:
        raise IndexError(f"For 'Tensor.__setitem__', {exc}") from None
    except ValueError as exc:
        raise ValueError(f"For 'Tensor.__setitem__', the value does not fit the indexed region: {exc}") \
            from None
    return a


def _is_basic(key) -> bool:
    items = key if isinstance(key, tuple) else (key,)
    return all(isinstance(item, _BASIC) for item in items)


def _getitem_grad(g, shape, index):
    xp = backend.array_module(g)
    if _is_basic(index):
        out = xp.zeros(shape, g.dtype)
        out[index] = g
        return out
    # Advanced indices may repeat a position: scatter-add at the flat positions they select.
    grid = xp.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)
    return scatter_add(xp, shape, grid[normalize_index(index, grid, "Tensor.__getitem__")], g)


def _getitem_backward(ctx, g):
    return apply(GETITEM_GRAD, g, shape=ctx.shape(0), index=ctx.attrs["index"])


def _getitem_grad_backward(ctx, gg):
    # GetitemGrad is the adjoint of Getitem (linear in g), so its gradient is Getitem again.
    return apply(GETITEM, gg, index=ctx.attrs["index"])


def _setitem_backward(ctx, g):
    # The written region of the old value no longer reaches the output; the value reaches it
    # broadcast, so its gradient is the region's gradient summed back to its shape.
    index = ctx.attrs["index"]
    g_target = None
    if ctx.needs(0):
        g_target = g.copy()
        g_target[index] = 0
    g_value = sum_to(g[index], ctx.shape(1)) if ctx.needs(1) else None
    return g_target, g_value


def _basic_index(attrs: dict) -> bool:
    """Capturable when the index is basic (ints, slices, ..., None): then the three ops are copies
    and fills. Index arrays are bounds-checked on the host and CuPy's scatter-add synchronises,
    which CUDA-graph capture refuses, so a jit plan runs those between captured segments."""
    return _is_basic(attrs["index"])


GETITEM = Op("Getitem", _getitem, backward=_getitem_backward, saves="none", capturable=_basic_index)
GETITEM_GRAD = Op("GetitemGrad", _getitem_grad, backward=_getitem_grad_backward, saves="none",
                  capturable=_basic_index)
SETITEM = Op("Setitem", _setitem, backward=_setitem_backward, inplace=True, saves="none",
             capturable=_basic_index)
