"""Softmax and log-softmax along one axis, fused in one kernel per row; kernels/softmax.cu.

The kernel works on the last axis of a contiguous array: another axis (or a non-contiguous
input) is first copied so that it is last and contiguous, and the result moved back.
"""

from __future__ import annotations

import numpy as np

from gpucell import backend
from gpucell.backend import kernels
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES, acc_dtype, check_arrays, check_axis

__all__ = ["softmax"]

_FILE = "softmax.cu"
for _dtype in FLOAT_DTYPES:
    kernels.register(_FILE, *(f"softmax_rows<{kernels.ctype(_dtype)}, {log}>" for log in (0, 1)))


def softmax(x, axis: int = -1, log: bool = False):
    """``exp(x) / sum(exp(x))`` along ``axis`` (its log if ``log``), computed stably.

    >>> softmax(np.log(np.array([[1.0, 3.0]])))
    array([[0.25, 0.75]])
    """
    op = "LogSoftmax" if log else "Softmax"
    check_arrays(op, FLOAT_DTYPES, x=x)
    if x.ndim == 0:
        raise ValueError(f"For '{op}', 'x' must have at least 1 dim, but got a 0-d array.")
    axis = check_axis(op, axis, x.ndim)
    launcher = kernels.launcher_for(x)
    if launcher is None:
        return _reference(x, axis, log)
    xp = backend.array_module(x)
    rows_view = xp.ascontiguousarray(xp.moveaxis(x, axis, -1))
    out = kernels.empty(xp, rows_view.shape, x.dtype)
    cols = rows_view.shape[-1]
    rows = rows_view.size // cols if cols else 0
    if rows:
        block = min(256, max(32, 1 << (cols - 1).bit_length()))
        launcher(_FILE, f"softmax_rows<{kernels.ctype(x.dtype)}, {int(bool(log))}>",
                 (min(rows, launcher.max_blocks), 1, 1), (block, 1, 1),
                 (rows_view, out, np.int64(rows), np.int64(cols)))
    return xp.ascontiguousarray(xp.moveaxis(out, -1, axis))


def _reference(x, axis: int, log: bool):
    if x.size == 0:
        return x.copy()
    xa = x.astype(acc_dtype(x.dtype), copy=False)
    shifted = xa - xa.max(axis=axis, keepdims=True)
    exps = np.exp(shifted)
    total = exps.sum(axis=axis, keepdims=True)
    out = shifted - np.log(total) if log else exps / total
    return out.astype(x.dtype, copy=False)
