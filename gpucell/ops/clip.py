"""clip_by_global_norm: scale a tuple of tensors (usually gradients) so their joint L2 norm is at
most ``clip_norm``. Written with ops, so it stays on the device, differentiates, and joins a plan."""

from __future__ import annotations

import numbers

from gpucell import dtype as _dt
from gpucell.ops._util import check_tensors
from gpucell.ops.arithmetic import add, div, mul
from gpucell.ops.conversion import cast
from gpucell.ops.elementwise import clamp, maximum, sqrt, square
from gpucell.ops.reduction import sum as _sum
from gpucell.tensor import Tensor

__all__ = ["clip_by_global_norm", "clip_by_value"]


def clip_by_global_norm(x, clip_norm=1.0, use_norm=None) -> tuple:
    """``x_i * clip_norm / max(global_norm, clip_norm)`` for each tensor of ``x``, where
    ``global_norm = sqrt(sum_i sum(x_i ** 2))``.

    >>> import gpucell as ms
    >>> a, b = ms.ops.clip_by_global_norm((ms.Tensor([3.0, 0.0]), ms.Tensor([4.0])), 1.0)
    >>> a.asnumpy(), b.asnumpy()
    (array([0.6, 0. ], dtype=float32), array([0.8], dtype=float32))
    """
    where = "clip_by_global_norm"
    if use_norm is not None:
        raise ValueError(f"For '{where}', the 'use_norm' must be None (the norm is always computed), "
                         f"but got {use_norm!r:.60}.")
    items = check_tensors(where, "x", (x,) if isinstance(x, Tensor) else x)
    for i, t in enumerate(items):
        if t.dtype.kind != _dt._FLOAT:
            raise TypeError(f"For '{where}', every element of 'x' must be a float Tensor, but element {i} "
                            f"is {t.dtype}.")
    if isinstance(clip_norm, Tensor):
        if clip_norm.size != 1:
            raise ValueError(f"For '{where}', the 'clip_norm' must hold one value, but got shape "
                             f"{clip_norm.shape}.")
    elif isinstance(clip_norm, bool) or not isinstance(clip_norm, numbers.Real):
        raise TypeError(f"For '{where}', the 'clip_norm' must be a float or a Tensor, but got "
                        f"{clip_norm!r} with type '{type(clip_norm).__name__}'.")
    elif clip_norm <= 0:
        raise ValueError(f"For '{where}', the 'clip_norm' must be > 0, but got {clip_norm}.")
    total = None
    for t in items:
        part = _sum(square(t if t.dtype == _dt.float32 else cast(t, _dt.float32)))
        total = part if total is None else add(total, part)
    norm = sqrt(total)
    # clip_norm / max(norm, clip_norm): 1 when the norm is within bounds, so nothing changes.
    factor = div(clip_norm, maximum(norm, clip_norm))
    return tuple(mul(t, factor if t.dtype == _dt.float32 else cast(factor, t.dtype)) for t in items)


def clip_by_value(x, clip_value_min=None, clip_value_max=None):
    """``x`` limited to ``[clip_value_min, clip_value_max]`` (each a Tensor, a number or None; not both
    None); ``x`` may be a tuple or list of Tensors, giving one of the same kind. Where the minimum
    exceeds the maximum, the result is the maximum.

    >>> import gpucell as ms
    >>> ms.ops.clip_by_value(ms.Tensor([-2.0, 0.5, 3.0]), -1.0, 1.0).asnumpy()
    array([-1. ,  0.5,  1. ], dtype=float32)
    """
    where = "clip_by_value"
    if clip_value_min is None and clip_value_max is None:
        raise ValueError(f"For '{where}', at least one of 'clip_value_min' or 'clip_value_max' must not be "
                         f"None.")
    for name, bound in (("clip_value_min", clip_value_min), ("clip_value_max", clip_value_max)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (Tensor, numbers.Real))):
            raise TypeError(f"For '{where}', the '{name}' must be a Tensor, a number or None, but got "
                            f"{type(bound).__name__}.")
    if isinstance(x, (tuple, list)):
        items = check_tensors(where, "x", x)
        return type(x)(clamp(t, clip_value_min, clip_value_max) for t in items)
    if not isinstance(x, Tensor):
        raise TypeError(f"For '{where}', the 'x' must be a Tensor or a tuple or list of Tensors, but got "
                        f"{type(x).__name__}.")
    return clamp(x, clip_value_min, clip_value_max)
