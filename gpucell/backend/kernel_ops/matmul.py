"""matmul_bias: ``op(a) @ op(b) (+ bias) (then ReLU)``, batched; kernels/matmul.cu and reference.

Strided operands (transposed views included) are read in place through their strides; only
batch dimensions that cannot be flattened into one stride are copied first. fp16 accumulates in
fp32 on both backends. The output is a fresh C-contiguous ``(*batch, M, N)`` array.
"""

from __future__ import annotations

import numpy as np

from gpucell import backend
from gpucell.backend import kernels
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES, acc_dtype, check_array, check_arrays

__all__ = ["matmul_bias", "TILES"]

_FILE = "matmul.cu"
_OP = "MatMul"
# (BM, BN, TM, TN): block tile of C and per-thread register block, 256 threads each, largest
# first. The wrapper takes the largest tile that still gives every SM a block.
TILES = ((128, 128, 8, 8), (64, 64, 4, 4), (32, 32, 2, 2))
for _dtype in FLOAT_DTYPES:
    for _tile in TILES:
        kernels.register(_FILE, f"matmul_bias<{kernels.ctype(_dtype)}, {', '.join(map(str, _tile))}>")


def _op_shape(x, transpose: bool) -> tuple[int, int]:
    return (x.shape[-1], x.shape[-2]) if transpose else (x.shape[-2], x.shape[-1])


def _check(a, b, bias, transpose_a, transpose_b):
    check_arrays(_OP, FLOAT_DTYPES, a=a, b=b)
    for name, x in (("a", a), ("b", b)):
        if x.ndim < 2:
            raise ValueError(f"For '{_OP}', '{name}' must have at least 2 dims, but got shape {tuple(x.shape)}.")
    (m, k), (k_b, n) = _op_shape(a, transpose_a), _op_shape(b, transpose_b)
    if k != k_b:
        raise ValueError(f"For '{_OP}', the contracted dim of 'a' ({k}) must equal that of 'b' ({k_b}); "
                         f"shapes {tuple(a.shape)} and {tuple(b.shape)} with transpose_a={transpose_a}, "
                         f"transpose_b={transpose_b}.")
    batch_a, batch_b = tuple(a.shape[:-2]), tuple(b.shape[:-2])
    if batch_a and batch_b and batch_a != batch_b:
        raise ValueError(f"For '{_OP}', the batch dims of 'a' {batch_a} and 'b' {batch_b} must be equal "
                         f"(or one operand 2-D).")
    if bias is not None:
        check_array(_OP, "bias", bias)
        check_arrays(_OP, FLOAT_DTYPES, a=a, bias=bias)
        if tuple(bias.shape) != (n,):
            raise ValueError(f"For '{_OP}', 'bias' must have shape ({n},), but got {tuple(bias.shape)}.")
    return m, n, k, batch_a or batch_b


def matmul_bias(a, b, bias=None, transpose_a: bool = False, transpose_b: bool = False, relu: bool = False):
    """``op(a) @ op(b) + bias``, then ReLU if ``relu``; op transposes the last two dims when asked.

    ``a``: ``(*batch, M, K)`` (``(*batch, K, M)`` if ``transpose_a``), ``b``: ``(*batch, K, N)``
    (``(*batch, N, K)`` if ``transpose_b``); either may be 2-D and is then shared by the batch.
    ``bias``: ``(N,)`` or None. Dense is ``matmul_bias(x, w, b, transpose_b=True)``.

    >>> matmul_bias(np.eye(2, dtype=np.float32), np.ones((2, 3), np.float32), np.arange(3, dtype=np.float32))
    array([[1., 2., 3.],
           [1., 2., 3.]], dtype=float32)
    """
    m, n, k, batch = _check(a, b, bias, transpose_a, transpose_b)
    launcher = kernels.launcher_for(a)
    if launcher is None:
        return _reference(a, b, bias, transpose_a, transpose_b, relu)
    xp = backend.array_module(a)
    out = kernels.empty(xp, (*batch, m, n), a.dtype)
    if out.size == 0:
        return out
    count = int(np.prod(batch, dtype=np.int64))
    a, (a_bs, a_ms, a_ks) = _strides(xp, a, transpose_a)
    b, (b_bs, b_ks, b_ns) = _strides(xp, b, transpose_b)
    if bias is not None and not bias.flags.c_contiguous:
        bias = xp.ascontiguousarray(bias)  # the kernel reads bias[n]: a strided view would read wrong elements
    tile = _choose_tile(m, n, count, launcher)
    bm, bn = tile[0], tile[1]
    grid = (-(-n // bn), -(-m // bm), min(count, 65535))
    if grid[1] > 65535:
        raise ValueError(f"For '{_OP}', M={m} needs {grid[1]} row tiles, more than CUDA's grid limit 65535.")
    name = f"matmul_bias<{kernels.ctype(a.dtype)}, {', '.join(map(str, tile))}>"
    args = (a, b, out if bias is None else bias, out, np.int64(m), np.int64(n), np.int64(k), np.int64(count),
            np.int64(a_bs), np.int64(a_ms), np.int64(a_ks), np.int64(b_bs), np.int64(b_ks), np.int64(b_ns),
            np.int32(bias is not None), np.int32(bool(relu)))
    launcher(_FILE, name, grid, (256, 1, 1), args)
    return out


def _choose_tile(m: int, n: int, batch: int, launcher) -> tuple[int, int, int, int]:
    """The largest tile whose grid still has a block for every SM (more tiles: less parallelism,
    but more reuse of each loaded element)."""
    for tile in TILES:
        if -(-m // tile[0]) * -(-n // tile[1]) * batch >= launcher.sm_count:
            return tile
    return TILES[-1]


def _strides(xp, x, transpose: bool):
    """(array, (batch, row, col) element strides of op(x)); batch stride 0 for a 2-D operand.

    Copies only when the batch dims cannot be one stride or a stride is not whole elements."""
    for attempt in range(2):
        steps = [s // x.itemsize if s % x.itemsize == 0 else None for s in x.strides]
        row, col = steps[-2], steps[-1]
        batch = _flat_batch_stride(x.shape[:-2], steps[:-2])
        if None not in (row, col, batch):
            return x, (batch, col, row) if transpose else (batch, row, col)
        x = xp.ascontiguousarray(x)
    raise AssertionError("a contiguous array always has flat strides")


def _flat_batch_stride(shape, steps):
    dims = [(extent, step) for extent, step in zip(shape, steps) if extent != 1]
    if not dims:
        return 0
    if any(step is None for _, step in dims):
        return None
    for (_, outer), (extent, inner) in zip(dims, dims[1:]):
        if outer != inner * extent:
            return None
    return dims[-1][1]


def _reference(a, b, bias, transpose_a, transpose_b, relu):
    acc = acc_dtype(a.dtype)
    a = np.swapaxes(a, -1, -2) if transpose_a else a
    b = np.swapaxes(b, -1, -2) if transpose_b else b
    out = np.matmul(a.astype(acc, copy=False), b.astype(acc, copy=False))
    if bias is not None:
        out += bias.astype(acc, copy=False)
    if relu:
        out[out < 0] = 0  # like the kernel: NaN stays NaN
    return out.astype(a.dtype, copy=False)
