"""select and where: ``cond ? x : y`` elementwise, on the select kernel (kernels/elementwise.cu)."""

from __future__ import annotations

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module, kernel_ops
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import sum_to, type_name
from gpucell.tensor import Tensor

__all__ = ["select", "where"]


def _select(cond, x, y):
    # A Python number takes the dtype of the other operand (checked lossless in ``select``).
    like = x if hasattr(x, "dtype") else y
    if not hasattr(x, "dtype"):
        x = _scalar_array(x, like)
    if not hasattr(y, "dtype"):
        y = _scalar_array(y, like)
    return kernel_ops.select(cond, x, y)


def _scalar_array(value, like):
    # full, not asarray: a fill kernel, where asarray is a host-to-device copy, which CUDA-graph
    # capture refuses (a jitted step that selects a number would fall back to eager replay).
    return array_module(like).full((), value, dtype=like.dtype)


def _select_backward(ctx, g):
    cond = ctx.input(0)
    return (None,
            sum_to(select(cond, g, 0.0), ctx.shape(1)) if ctx.needs(1) else None,
            sum_to(select(cond, 0.0, g), ctx.shape(2)) if ctx.needs(2) else None)


SELECT = Op("Select", _select, backward=_select_backward)


def _check_operand(where: str, name: str, value) -> None:
    if not isinstance(value, (Tensor, bool, int, float)):
        raise TypeError(f"For '{where}', the '{name}' must be a Tensor or a Python number, but got "
                        f"{type_name(value)}.")


def select(cond, x, y):
    """``x`` where ``cond`` is True, else ``y``, with broadcasting; ``x`` or ``y`` may be a number.

    ``cond`` must be Bool; ``x`` and ``y`` (when both Tensors) must share a dtype.

    >>> import gpucell as ms
    >>> ms.ops.select(ms.Tensor([True, False]), ms.Tensor([1.0, 2.0]), 0.0).asnumpy()
    array([1., 0.], dtype=float32)
    """
    if not isinstance(cond, Tensor):
        raise TypeError(f"For 'Select', the 'cond' must be a Tensor, but got {type_name(cond)}.")
    if cond.dtype is not _dt.bool_:
        raise TypeError(f"For 'Select', the dtype of 'cond' must be Bool, but got {cond.dtype}.")
    _check_operand("Select", "x", x)
    _check_operand("Select", "y", y)
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        raise TypeError("For 'Select', at least one of 'x' and 'y' must be a Tensor, but got "
                        f"{type_name(x)} and {type_name(y)}.")
    if isinstance(x, Tensor) and isinstance(y, Tensor):
        if x.dtype is not y.dtype:
            raise TypeError(f"For 'Select', the 'x' and 'y' must have the same dtype, but got {x.dtype} "
                            f"and {y.dtype}.")
    else:
        tensor, number = (x, y) if isinstance(x, Tensor) else (y, x)
        if isinstance(number, float) and tensor.dtype.kind != _dt._FLOAT:
            raise TypeError(f"For 'Select', a float number cannot be selected into a {tensor.dtype} "
                            f"tensor without losing data; got {number!r}.")
    try:
        np.broadcast_shapes(cond.shape, getattr(x, "shape", ()), getattr(y, "shape", ()))
    except ValueError:
        raise ValueError(f"For 'Select', the shapes of 'cond' {cond.shape}, 'x' {getattr(x, 'shape', ())} "
                         f"and 'y' {getattr(y, 'shape', ())} cannot be broadcast together.") from None
    return apply(SELECT, cond, x, y)


def where(condition, x, y):
    """Like :func:`select`, but ``x`` and ``y`` are promoted to a common dtype first."""
    if isinstance(x, Tensor) and isinstance(y, Tensor) and x.dtype is not y.dtype:
        common = _dt.promote_types(x.dtype, y.dtype)
        x, y = x.astype(common), y.astype(common)
    elif isinstance(x, Tensor) and isinstance(y, float) and x.dtype.kind != _dt._FLOAT:
        x = x.astype(_dt.float32)
    elif isinstance(y, Tensor) and isinstance(x, float) and y.dtype.kind != _dt._FLOAT:
        y = y.astype(_dt.float32)
    return select(condition, x, y)
