"""cumsum: running sums along an axis (CuPy's scan kernel on the GPU, capturable).

The backward of a running sum is the running sum of the gradient taken from the other end, so one
Op with a ``reverse`` attribute is its own backward rule (higher orders included).
"""

from __future__ import annotations

from gpucell import dtype as _dt
from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_axis, check_tensor

__all__ = ["cumsum"]


def _cumsum(a, axis, reverse):
    if a.ndim == 0:
        return a.copy()
    xp = array_module(a)
    if reverse:
        a = xp.flip(a, axis)
    # dtype=a.dtype: NumPy would widen Int32 sums to Int64; MindSpore keeps the input's dtype.
    out = xp.cumsum(a, axis=axis, dtype=a.dtype)
    return xp.ascontiguousarray(xp.flip(out, axis)) if reverse else out


def _cumsum_backward(ctx, g):
    return apply(CUMSUM, g, axis=ctx.attrs["axis"], reverse=not ctx.attrs["reverse"])


CUMSUM = Op("CumSum", _cumsum, backward=_cumsum_backward, saves="none")


def cumsum(x, axis, dtype=None):
    """Running sums of ``x`` along ``axis``: ``out[i] = x[0] + ... + x[i]``; ``dtype`` casts ``x`` first.

    >>> import gpucell as ms
    >>> ms.ops.cumsum(ms.Tensor([[1, 2, 3], [4, 5, 6]]), 1).asnumpy()
    array([[ 1,  3,  6],
           [ 4,  9, 15]])
    """
    check_tensor("CumSum", "x", x)
    axis = check_axis("CumSum", axis, x.ndim)
    if dtype is not None:
        from gpucell.ops.conversion import cast

        x = cast(x, _dt.to_dtype(dtype, "CumSum"))
    if x.dtype.kind not in (_dt._INT, _dt._FLOAT):
        raise TypeError(f"For 'CumSum', the dtype of 'x' must be an int or float type, but got {x.dtype}.")
    return apply(CUMSUM, x, axis=axis, reverse=False)
