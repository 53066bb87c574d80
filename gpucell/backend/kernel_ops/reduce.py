"""sum, mean and max over one axis or all axes; kernels/reduce.cu and the NumPy reference.

float16 accumulates in float32 on both backends. A non-contiguous input is copied to a contiguous
one first. ``max`` propagates NaN, as NumPy's does, and refuses an empty reduction.
"""

from __future__ import annotations

import numpy as np

from gpucell import backend
from gpucell.backend import kernels
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES, acc_dtype, check_arrays, check_axis

__all__ = ["reduce", "REDUCTIONS"]

_FILE = "reduce.cu"
# name -> (kernels/reduce.cu op code, MindSpore op name)
REDUCTIONS = {"sum": (0, "ReduceSum"), "mean": (0, "ReduceMean"), "max": (1, "ReduceMax")}
for _code in (0, 1):
    for _dtype in FLOAT_DTYPES:
        _c, _a = kernels.ctype(_dtype), kernels.ctype(acc_dtype(_dtype))
        # (T, T) in one pass; (T, acc) then (acc, T) when a long row is split across blocks.
        kernels.register(_FILE, f"reduce_rows<{_c}, {_c}, {_code}>", f"reduce_rows<{_c}, {_a}, {_code}>",
                         f"reduce_rows<{_a}, {_c}, {_code}>", f"reduce_cols<{_c}, {_c}, {_code}>",
                         f"reduce_cols<{_c}, {_a}, {_code}>", f"reduce_cols<{_a}, {_c}, {_code}>")


def reduce(name: str, x, axis: int | None = None, keepdims: bool = False):
    """Reduces ``x`` with ``name`` (sum, mean or max) over ``axis`` (an int, or None for all).

    >>> reduce("sum", np.arange(6, dtype=np.float32).reshape(2, 3), axis=0)
    array([3., 5., 7.], dtype=float32)
    """
    if name not in REDUCTIONS:
        raise ValueError(f"For 'reduce', the 'name' must be one of {list(REDUCTIONS)}, but got {name!r}.")
    code, op = REDUCTIONS[name]
    check_arrays(op, FLOAT_DTYPES, x=x)
    if axis is not None:
        axis = check_axis(op, axis, x.ndim)
    length = x.size if axis is None else x.shape[axis]
    if name == "max" and length == 0:
        raise ValueError(f"For '{op}', cannot take the max of an empty axis of 'x' with shape "
                         f"{tuple(x.shape)}: max has no identity.")
    out_shape = _out_shape(x.shape, axis, keepdims)
    launcher = kernels.launcher_for(x)
    if launcher is None:
        return _reference(name, x, axis, out_shape)
    xp = backend.array_module(x)
    x = xp.ascontiguousarray(x)
    outer = 1 if axis is None else int(np.prod(x.shape[:axis], dtype=np.int64))
    inner = 1 if axis is None else int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    acc = acc_dtype(x.dtype)
    divisor = acc.type(length if name == "mean" else 1)
    out = kernels.empty(xp, (outer, inner), x.dtype)
    if out.size:
        if inner == 1:
            _rows(launcher, xp, x, out, outer, length, code, divisor)
        else:
            _cols(launcher, xp, x, out, outer, length, inner, code, divisor)
    return out.reshape(out_shape)


def _cols(launcher, xp, x, out, outer: int, R: int, inner: int, code: int, divisor) -> None:
    """Reduces axis 1 of an (outer, R, inner) array; a long axis over few columns is split into
    chunks over grid z (>= 256 elements each), whose partials a second launch combines."""
    c = kernels.ctype(x.dtype)
    column_blocks = min(-(-inner // 32), launcher.max_blocks)
    grid_y = min(outer, 65535)
    splits = 1
    if column_blocks * grid_y < launcher.max_blocks and R > 512:
        splits = min(-(-R // 256), launcher.max_blocks // (column_blocks * grid_y), 65535)
    chunk_len = -(-R // splits) if R else 1
    splits = max(1, -(-R // chunk_len))
    if splits == 1:
        launcher(_FILE, f"reduce_cols<{c}, {c}, {code}>", (column_blocks, grid_y, 1), (32, 8, 1),
                 (x, out, np.int64(outer), np.int64(R), np.int64(inner), np.int64(max(R, 1)), divisor))
        return
    acc = acc_dtype(x.dtype)
    a = kernels.ctype(acc)
    partial = kernels.empty(xp, (outer, splits, inner), acc)
    launcher(_FILE, f"reduce_cols<{c}, {a}, {code}>", (column_blocks, grid_y, splits), (32, 8, 1),
             (x, partial, np.int64(outer), np.int64(R), np.int64(inner), np.int64(chunk_len), acc.type(1)))
    launcher(_FILE, f"reduce_cols<{a}, {c}, {code}>", (column_blocks, grid_y, 1), (32, 8, 1),
             (partial, out, np.int64(outer), np.int64(splits), np.int64(inner), np.int64(splits), divisor))


def _rows(launcher, xp, x, out, rows: int, cols: int, code: int, divisor) -> None:
    """Reduces each row of a (rows, cols) array; long rows split over blocks, then combined."""
    c = kernels.ctype(x.dtype)
    block = min(256, max(32, 1 << max(cols - 1, 0).bit_length()))
    chunks = 1
    if cols > 4 * block and rows < launcher.max_blocks:
        # Too few rows to fill the GPU: give each row several blocks of >= 4 elements a thread.
        chunks = min(-(-cols // (4 * block)), launcher.max_blocks // rows)
    chunk_len = max(1, -(-cols // chunks))
    chunks = max(1, -(-cols // chunk_len))
    grid_y = min(rows, 65535)
    if chunks == 1:
        launcher(_FILE, f"reduce_rows<{c}, {c}, {code}>", (1, grid_y, 1), (block, 1, 1),
                 (x, out, np.int64(rows), np.int64(cols), np.int64(chunk_len), divisor))
        return
    acc = acc_dtype(x.dtype)
    a = kernels.ctype(acc)
    partial = kernels.empty(xp, (rows, chunks), acc)
    launcher(_FILE, f"reduce_rows<{c}, {a}, {code}>", (chunks, grid_y, 1), (block, 1, 1),
             (x, partial, np.int64(rows), np.int64(cols), np.int64(chunk_len), acc.type(1)))
    launcher(_FILE, f"reduce_rows<{a}, {c}, {code}>", (1, grid_y, 1), (32, 1, 1),
             (partial, out, np.int64(rows), np.int64(chunks), np.int64(chunks), divisor))


def _out_shape(shape, axis, keepdims: bool) -> tuple[int, ...]:
    if axis is None:
        return (1,) * len(shape) if keepdims else ()
    if keepdims:
        return tuple(1 if d == axis else s for d, s in enumerate(shape))
    return tuple(s for d, s in enumerate(shape) if d != axis)


def _reference(name: str, x, axis, out_shape):
    if name == "max":
        result = np.max(x, axis=axis)
    else:
        result = np.sum(x, axis=axis, dtype=acc_dtype(x.dtype))
        if name == "mean":
            count = x.size if axis is None else x.shape[axis]
            with np.errstate(invalid="ignore", divide="ignore"):
                result = result / result.dtype.type(count)
    return np.asarray(result).astype(x.dtype, copy=False).reshape(out_shape)
