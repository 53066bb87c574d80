"""one_hot: ``on_value`` where ``indices`` names the position along a new ``depth`` axis, else
``off_value``. One comparison against ``arange(depth)`` and a select, on the device, without reading
the indices on the host: an index outside [0, depth) gives a row of ``off_value`` (MindSpore's GPU
kernel does the same), so the op can be captured in a CUDA graph. No gradient, as in MindSpore
(whose OneHot bprop returns zeros for every input)."""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_int, type_name
from gpucell.tensor import Tensor

__all__ = ["one_hot", "ONE_HOT"]

_INDEX_DTYPES = (_dt.uint8, _dt.int32, _dt.int64)
_VALUE_DTYPES = (_dt.int32, _dt.int64, _dt.float16, _dt.float32, _dt.float64)


def _one_hot(indices, on, off, *, depth, axis):
    xp = array_module(indices)
    hit = indices[..., None] == xp.arange(depth, dtype=indices.dtype)
    out = xp.where(hit, on.reshape(()), off.reshape(()))
    if axis != indices.ndim:
        out = xp.ascontiguousarray(xp.moveaxis(out, -1, axis))
    return out


ONE_HOT = Op("OneHot", _one_hot)


def _value(name: str, value, like: Tensor) -> Tensor:
    where = "OneHot"
    if isinstance(value, Tensor):
        if value.size != 1:
            raise ValueError(f"For '{where}', the '{name}' must hold one value, but got shape {value.shape}.")
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"For '{where}', the '{name}' must be a Tensor, an int or a float, but got {value!r} "
                        f"with type '{type_name(value)}'.")
    return Tensor(value, device=like.device)  # int -> Int64, float -> Float32, as MindSpore's Tensor()


def one_hot(indices, depth, on_value=1, off_value=0, axis=-1):
    """A one-hot tensor of ``on_value``'s dtype: ``indices`` (int) of shape ``(X0, ..., Xn)`` gives
    shape ``(X0, ..., depth, ..., Xn)`` with the new axis at ``axis`` (-1: last).

    >>> import gpucell as ms
    >>> ms.ops.one_hot(ms.Tensor([0, 2]), 3, ms.Tensor(1.0), ms.Tensor(0.0)).asnumpy()
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    where = "OneHot"
    if not isinstance(indices, Tensor):
        raise TypeError(f"For '{where}', the 'indices' must be a Tensor, but got {type_name(indices)}.")
    if indices.dtype not in _INDEX_DTYPES:
        raise TypeError(f"For '{where}', the dtype of 'indices' must be one of [UInt8, Int32, Int64], but got "
                        f"{indices.dtype}.")
    depth = check_int(where, "depth", depth)
    if depth < 0:
        raise ValueError(f"For '{where}', the 'depth' must be >= 0, but got {depth}.")
    axis = check_int(where, "axis", axis)
    if not -1 <= axis <= indices.ndim:
        raise ValueError(f"For '{where}', the 'axis' must be in range [-1, {indices.ndim}], but got {axis}.")
    on = _value("on_value", on_value, indices)
    off = _value("off_value", off_value, indices)
    if on.dtype not in _VALUE_DTYPES:
        raise TypeError(f"For '{where}', the dtype of 'on_value' must be one of [Int32, Int64, Float16, "
                        f"Float32, Float64], but got {on.dtype}.")
    if off.dtype is not on.dtype:
        raise TypeError(f"For '{where}', the 'off_value' must have the dtype of 'on_value' ({on.dtype}), but got "
                        f"{off.dtype}.")
    return apply(ONE_HOT, indices, on, off, depth=depth, axis=indices.ndim if axis == -1 else axis)
