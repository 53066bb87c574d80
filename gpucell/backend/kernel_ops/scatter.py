"""Row scatter-add, the embedding backward: kernels/scatter.cu and the NumPy reference.

``scatter_add_rows(ids, rows, vocab)`` builds a zeroed ``(vocab, width)`` table and adds
``rows[k]`` into row ``ids[k]`` for every position ``k`` of ``ids``. float16 accumulates in float32
on both backends and is rounded once at the end. Ids outside ``[0, vocab)`` are skipped on both
backends (the GPU cannot raise without a sync); callers that must refuse them check first.

The kernel adds with atomics, so the order in which a repeated id's rows are summed differs from
the reference's (and from run to run): such sums agree within the rounding of a reordered sum.
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import backend
from gpucell.backend import kernels
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES, acc_dtype, check_array, check_arrays, check_same_device

__all__ = ["scatter_add_rows"]

_FILE = "scatter.cu"
_OP = "ScatterAddRows"
_ID_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))  # the kernel's id types; others go as int64
for _dtype in FLOAT_DTYPES:
    for _ids in _ID_DTYPES:
        kernels.register(_FILE, f"scatter_add_rows<{kernels.ctype(_dtype)}, {kernels.ctype(_ids)}>")


def scatter_add_rows(ids, rows, vocab: int):
    """A ``(vocab, width)`` table: zeros, plus ``rows[k]`` added into row ``ids[k]`` for every k.

    ``rows`` has shape ``ids.shape + (width,)`` and a float dtype, which the table keeps.

    >>> scatter_add_rows(np.array([2, 0, 2]), np.ones((3, 2), np.float32), 3)
    array([[1., 1.],
           [0., 0.],
           [2., 2.]], dtype=float32)
    """
    _check(ids, rows, vocab)
    vocab = int(vocab)
    launcher = kernels.launcher_for(rows)
    if launcher is None:
        return _reference(ids, rows, vocab)
    xp = backend.array_module(rows)
    acc = acc_dtype(rows.dtype)
    width = rows.shape[-1]
    table = xp.zeros((vocab, width), acc)
    if rows.size:
        rows = xp.ascontiguousarray(rows)
        # A uint64 id above int64's range wraps negative here and is skipped: it is out of range anyway.
        ids = xp.ascontiguousarray(ids if ids.dtype in _ID_DTYPES else ids.astype(np.int64))
        grid, block = kernels.grid_1d(launcher, rows.size)
        launcher(_FILE, f"scatter_add_rows<{kernels.ctype(rows.dtype)}, {kernels.ctype(ids.dtype)}>", grid, block,
                 (rows, ids, table, np.int64(rows.size), np.int64(width), np.int64(vocab)))
    return table.astype(rows.dtype, copy=False)


def _check(ids, rows, vocab) -> None:
    check_arrays(_OP, FLOAT_DTYPES, rows=rows)
    check_array(_OP, "ids", ids)
    check_same_device(_OP, ids=ids, rows=rows)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"For '{_OP}', the dtype of 'ids' must be an integer type, but got {ids.dtype}.")
    if rows.ndim != ids.ndim + 1 or tuple(rows.shape[:-1]) != tuple(ids.shape):
        raise ValueError(f"For '{_OP}', the shape of 'rows' must be the shape of 'ids' {tuple(ids.shape)} plus "
                         f"a width, but got {tuple(rows.shape)}.")
    if isinstance(vocab, (bool, np.bool_)) or not isinstance(vocab, numbers.Integral):
        raise TypeError(f"For '{_OP}', the 'vocab' must be an int, but got {vocab!r} with type "
                        f"'{type(vocab).__name__}'.")
    if vocab < 0:
        raise ValueError(f"For '{_OP}', the 'vocab' must be non-negative, but got {vocab}.")


def _reference(ids, rows, vocab: int):
    acc = acc_dtype(rows.dtype)
    width = rows.shape[-1]
    table = np.zeros((vocab, width), acc)
    flat_ids = ids.reshape(-1)
    flat_rows = rows.reshape(flat_ids.size, width)  # not (-1, width): width may be 0
    keep = (flat_ids >= 0) & (flat_ids < vocab)
    if not keep.all():
        flat_ids, flat_rows = flat_ids[keep], flat_rows[keep]
    np.add.at(table, flat_ids, flat_rows.astype(acc, copy=False))
    return table.astype(rows.dtype, copy=False)
