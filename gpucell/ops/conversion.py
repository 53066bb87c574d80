"""cast and copy."""

from __future__ import annotations

from gpucell import dtype as _dt
from gpucell.ops._dispatch import Op, apply

__all__ = ["cast", "copy"]


def _cast(a, dtype):
    return a.astype(dtype, copy=True)


def _copy(a):
    return a.copy()


CAST = Op("Cast", _cast)
COPY = Op("Copy", _copy)


def cast(input, dtype):
    """``input`` converted to ``dtype`` (a new tensor).

    >>> import gpucell as ms
    >>> ms.ops.cast(ms.Tensor([1, 2]), ms.float32)
    Tensor(shape=[2], dtype=Float32, value= [ 1.00000000e+00,  2.00000000e+00])
    """
    return apply(CAST, input, dtype=_dt.to_dtype(dtype, "Cast").numpy)


def copy(input):
    """A new tensor with a copy of ``input``'s data."""
    return apply(COPY, input)
