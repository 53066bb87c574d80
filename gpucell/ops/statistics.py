"""var and std (``Tensor.var`` / ``Tensor.std`` too): ``sum((x - mean) ** 2) / (N - ddof)`` over
``axis``, written with ops, so they run on the reduce kernel, differentiate and join a jit plan."""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import dtype as _dt
from gpucell.ops import reduction
from gpucell.ops._util import check_axes, check_bool, check_tensor, type_name
from gpucell.ops.conversion import cast
from gpucell.ops.elementwise import sqrt
from gpucell.ops.selection import select

__all__ = ["var", "std", "variance"]


def var(input, axis=None, ddof=0, keepdims=False):
    """Variance over ``axis`` (an int, a tuple of ints, or None for all) with divisor ``N - ddof``;
    int inputs give Float32, an empty input gives NaN.

    >>> import gpucell as ms
    >>> ms.ops.var(ms.Tensor([1.0, 2.0, 3.0, 4.0])).asnumpy()
    array(1.25, dtype=float32)
    """
    return variance(input, axis, ddof, keepdims, "var")


def std(input, axis=None, ddof=0, keepdims=False):
    """Standard deviation: the square root of :func:`var`."""
    return sqrt(variance(input, axis, ddof, keepdims, "std"))


def variance(input, axis, ddof, keepdims, where: str):
    """:func:`var`, with errors naming ``where`` (``Tensor.var`` and ``Tensor.std`` call it too)."""
    check_tensor(where, "input", input)
    if isinstance(ddof, (bool, np.bool_)):
        ddof = int(ddof)  # MindSpore: True is the unbiased estimate
    if not isinstance(ddof, numbers.Integral):
        raise TypeError(f"For '{where}', the 'ddof' must be an int, but got {ddof!r} with type "
                        f"'{type_name(ddof)}'.")
    keepdims = check_bool(where, "keepdims", keepdims)
    axes = check_axes(where, axis, input.ndim)
    x = input if input.dtype.kind == _dt._FLOAT else cast(input, _dt.float32)
    if input.size == 0:
        return reduction.sum(x) * float("nan")  # a 0-d NaN on input's device
    dims = range(input.ndim) if axes is None else axes
    count = int(np.prod([input.shape[d] for d in dims], dtype=np.int64))
    centred = x - reduction.mean(x, axes, True)
    total = reduction.sum(centred * centred, axes, keepdims)
    divisor = count - int(ddof)
    if divisor == 0:
        # x / 0 as a division gives it (inf, or nan where the sum is 0), without NumPy's warning.
        zero = total * 0.0
        return select(total > 0, zero + float("inf"), zero + float("nan"))
    return total / divisor
