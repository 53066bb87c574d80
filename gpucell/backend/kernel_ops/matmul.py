"""matmul_bias: ``op(a) @ op(b) (+ bias) (then ReLU)``, batched; the kernels and the reference.

Three kernels, chosen by dtype and device (:func:`kernel_for`):

* ``kernels/matmul_tc.cu``: tensor cores (WMMA) for float16 (sm_70+) and bfloat16 (sm_80+), and
  for float32 as TF32 when :func:`set_allow_tf32` is on (sm_80+; off by default, as in
  MindSpore: ``gpucell.set_context(gpu_config={"matmul_allow_tf32": True})``).
* ``kernels/matmul_simt.cu``: float32 on the CUDA cores, NumPy-level accuracy.
* ``kernels/matmul.cu``: float64, and every case the two above do not take (an older GPU, a
  matrix whose offsets do not fit 32 bits).

All accumulate in float32 (float64 for float64) and round once to the input dtype. Strided
operands (transposed views included) are read in place through their strides; only batch
dimensions that cannot be flattened into one stride are copied first. When a product has fewer
output tiles than the GPU has SMs (a small batch through a Dense layer), the fast kernels split K
(:func:`choose_tile`) and a second kernel adds the chunks in a fixed order, then applies bias and
ReLU. The output is a fresh C-contiguous ``(*batch, M, N)`` array.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gpucell import backend
from gpucell.backend import kernels
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES, acc_dtype, check_array, check_arrays
from gpucell.dtype import BF16_NUMPY

__all__ = ["matmul_bias", "TILES", "TC_TILES", "SIMT_TILES", "choose_tile", "kernel_for", "set_allow_tf32",
           "allow_tf32", "DTYPES"]

_OP = "MatMul"
_FILE, _TC_FILE, _SIMT_FILE = "matmul.cu", "matmul_tc.cu", "matmul_simt.cu"
_F16, _F32 = np.dtype(np.float16), np.dtype(np.float32)
_BF16 = None if BF16_NUMPY is None else np.dtype(BF16_NUMPY)
DTYPES = FLOAT_DTYPES + (() if _BF16 is None else (_BF16,))

# matmul.cu: (BM, BN, TM, TN), 256 threads each, largest first.
TILES = ((128, 128, 8, 8), (64, 64, 4, 4), (32, 32, 2, 2))
# matmul_tc.cu: (BM, BN, WARPS_M, WARPS_N); 256, 128 and 32 threads.
TC_TILES = ((128, 128, 2, 4), (64, 64, 2, 2), (32, 32, 1, 1))
# matmul_simt.cu: (BM, BN, TM, TN); 256, 256 and 64 threads.
SIMT_TILES = ((128, 128, 8, 8), (64, 64, 4, 4), (32, 32, 4, 4))
_SIMT_BK = 16  # GC_MM_SIMT_BK
_TC_BK = {_F16: 32, _F32: 16, _BF16: 32}  # GcTc<T>::BK
# A K chunk of split K is at least this deep: each chunk costs a float32 M x N write and read,
# which a chunk of 128 products per output element amortises.
MIN_SPLIT_K = 128
_INT32 = 2**31
_TC_ARCH = {_F16: 70, _BF16: 80, _F32: 80}

for _dtype in DTYPES:
    for _tile in TILES:
        kernels.register(_FILE, f"matmul_bias<{kernels.ctype(_dtype)}, {', '.join(map(str, _tile))}>")
for _dtype in (_F16, _BF16, _F32):
    if _dtype is not None:
        for _tile in TC_TILES:
            kernels.register(_TC_FILE, f"matmul_tc<{kernels.ctype(_dtype)}, {', '.join(map(str, _tile))}>")
        kernels.register(_SIMT_FILE, f"matmul_splitk_sum<{kernels.ctype(_dtype)}>")
for _tile in SIMT_TILES:
    kernels.register(_SIMT_FILE, f"matmul_simt<{', '.join(map(str, _tile))}>")

_allow_tf32 = False


def set_allow_tf32(allow: bool) -> None:
    """Lets float32 matmuls run on the tensor cores as TF32 (10-bit mantissa inputs, float32
    sums: about 1e-3 relative error instead of 1e-6) on sm_80+; the setting behind
    ``set_context(gpu_config={"matmul_allow_tf32": ...})``, which also drops the jit plans (a
    captured plan keeps the kernel it captured)."""
    global _allow_tf32
    _allow_tf32 = bool(allow)


def allow_tf32() -> bool:
    """Whether float32 matmuls may use TF32 tensor cores (default False)."""
    return _allow_tf32


def _op_shape(x, transpose: bool) -> tuple[int, int]:
    return (x.shape[-1], x.shape[-2]) if transpose else (x.shape[-2], x.shape[-1])


def _check(a, b, bias, transpose_a, transpose_b):
    check_arrays(_OP, DTYPES, a=a, b=b)
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
        check_arrays(_OP, DTYPES, a=a, bias=bias)
        if tuple(bias.shape) != (n,):
            raise ValueError(f"For '{_OP}', 'bias' must have shape ({n},), but got {tuple(bias.shape)}.")
    return m, n, k, batch_a or batch_b


def matmul_bias(a, b, bias=None, transpose_a: bool = False, transpose_b: bool = False, relu: bool = False):
    """``op(a) @ op(b) + bias``, then ReLU if ``relu``; op transposes the last two dims when asked.

    ``a``: ``(*batch, M, K)`` (``(*batch, K, M)`` if ``transpose_a``), ``b``: ``(*batch, K, N)``
    (``(*batch, N, K)`` if ``transpose_b``); either may be 2-D and is then shared by the batch.
    ``bias``: ``(N,)`` or None. Dense is ``matmul_bias(x, w, b, transpose_b=True)``. float16,
    bfloat16, float32, float64; the result has the inputs' dtype.

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
    a, a_steps = _strides(xp, a, transpose_a)
    b, b_steps = _strides(xp, b, transpose_b)
    if bias is not None and not bias.flags.c_contiguous:
        bias = xp.ascontiguousarray(bias)  # the kernels read bias[n]: a strided view would read wrong elements
    family = kernel_for(a.dtype, launcher.compute_capability)
    if family != "generic" and _fits_int32((m, k), a_steps[1:]) and _fits_int32((k, n), b_steps[1:]) \
            and count < _INT32:
        _launch_fast(family, launcher, xp, out, a, b, bias, a_steps, b_steps, m, n, k, count, relu)
    else:
        _launch_generic(launcher, out, a, b, bias, a_steps, b_steps, m, n, k, count, relu)
    return out


def kernel_for(dtype, compute_capability: int) -> str:
    """Which kernel runs ``dtype`` on a device of ``compute_capability`` (80 for sm_80):
    ``"tc"`` (tensor cores), ``"simt"`` (float32 on the CUDA cores) or ``"generic"`` (matmul.cu)."""
    dtype = np.dtype(dtype)
    if dtype == _F32 and not _allow_tf32:
        return "simt"
    if dtype in _TC_ARCH and compute_capability >= _TC_ARCH[dtype]:
        return "tc"
    return "simt" if dtype == _F32 else "generic"


class Tile(NamedTuple):
    """A launch of a fast kernel: its tile, how many chunks K is split into, and their depth."""

    tile: tuple[int, int, int, int]
    splits: int
    k_chunk: int


def choose_tile(tiles, m: int, n: int, k: int, batch: int, sm_count: int, bk: int) -> Tile:
    """The largest tile whose grid gives every SM a block; where none does, the largest tile for
    which splitting K into enough chunks still leaves each chunk ``MIN_SPLIT_K`` deep; failing
    that too, the smallest tile with as many chunks as that depth allows. Chunks are whole
    ``bk``-deep slices."""
    for tile in (*tiles, None):
        chosen = tile or tiles[-1]
        blocks = -(-m // chosen[0]) * -(-n // chosen[1]) * batch
        if blocks >= sm_count:
            return Tile(chosen, 1, max(k, 1))
        splits = -(-sm_count // blocks)
        if tile is None:
            splits = max(1, min(splits, k // MIN_SPLIT_K))
        elif k < splits * MIN_SPLIT_K:
            continue
        k_chunk = -(-(-(-k // splits)) // bk) * bk
        return Tile(chosen, -(-k // k_chunk) if k else 1, max(k_chunk, bk))
    raise AssertionError("the loop returns at its last tile")


def _launch_fast(family, launcher, xp, out, a, b, bias, a_steps, b_steps, m, n, k, count, relu):
    dtype = a.dtype
    tc = family == "tc"
    bk = _TC_BK[dtype] if tc else _SIMT_BK
    plan = choose_tile(TC_TILES if tc else SIMT_TILES, m, n, k, count, launcher.sm_count, bk)
    bm, bn, x, y = plan.tile
    threads = 32 * x * y if tc else (bm // x) * (bn // y)
    if -(-m // bm) > 65535:
        raise ValueError(f"For '{_OP}', M={m} needs {-(-m // bm)} row tiles, more than CUDA's grid limit 65535.")
    partial = out
    if plan.splits > 1:
        partial = kernels.empty(xp, (plan.splits, count, m, n), np.float32)
    (a_bs, a_ms, a_ks), (b_bs, b_ks, b_ns) = a_steps, b_steps
    args = [a, b, out if bias is None else bias, out, partial, np.int32(m), np.int32(n), np.int32(k),
            np.int32(count), np.int32(plan.splits), np.int32(plan.k_chunk), np.int64(a_bs), np.int32(a_ms),
            np.int32(a_ks), np.int64(b_bs), np.int32(b_ks), np.int32(b_ns)]
    if tc:
        args += [np.int32(_vector_rows(a, a_ks, a_ms, a_bs, k)), np.int32(_vector_rows(b, b_ks, b_ns, b_bs, k))]
        name = f"matmul_tc<{kernels.ctype(dtype)}, {', '.join(map(str, plan.tile))}>"
    else:
        name = f"matmul_simt<{', '.join(map(str, plan.tile))}>"
    args += [np.int32(bias is not None and plan.splits == 1), np.int32(bool(relu) and plan.splits == 1)]
    grid = (-(-n // bn), -(-m // bm), min(count * plan.splits, 65535))
    launcher(_TC_FILE if tc else _SIMT_FILE, name, grid, (threads, 1, 1), tuple(args))
    if plan.splits > 1:
        total = count * m * n
        grid, block = kernels.grid_1d(launcher, total)
        launcher(_SIMT_FILE, f"matmul_splitk_sum<{kernels.ctype(dtype)}>", grid, block,
                 (partial, out if bias is None else bias, out, np.int64(total), np.int64(n), np.int32(plan.splits),
                  np.int32(bias is not None), np.int32(bool(relu))))


def _launch_generic(launcher, out, a, b, bias, a_steps, b_steps, m, n, k, count, relu):
    tile = _choose_tile(m, n, count, launcher)
    bm, bn = tile[0], tile[1]
    grid = (-(-n // bn), -(-m // bm), min(count, 65535))
    if grid[1] > 65535:
        raise ValueError(f"For '{_OP}', M={m} needs {grid[1]} row tiles, more than CUDA's grid limit 65535.")
    name = f"matmul_bias<{kernels.ctype(a.dtype)}, {', '.join(map(str, tile))}>"
    (a_bs, a_ms, a_ks), (b_bs, b_ks, b_ns) = a_steps, b_steps
    args = (a, b, out if bias is None else bias, out, np.int64(m), np.int64(n), np.int64(k), np.int64(count),
            np.int64(a_bs), np.int64(a_ms), np.int64(a_ks), np.int64(b_bs), np.int64(b_ks), np.int64(b_ns),
            np.int32(bias is not None), np.int32(bool(relu)))
    launcher(_FILE, name, grid, (256, 1, 1), args)


def _choose_tile(m: int, n: int, batch: int, launcher) -> tuple[int, int, int, int]:
    """matmul.cu's tile: the largest whose grid still has a block for every SM (more tiles: less
    parallelism, but more reuse of each loaded element)."""
    for tile in TILES:
        if -(-m // tile[0]) * -(-n // tile[1]) * batch >= launcher.sm_count:
            return tile
    return TILES[-1]


def _fits_int32(shape: tuple[int, int], steps) -> bool:
    """Whether every offset inside one rows x cols matrix read through (row, col) element ``steps``
    fits the fast kernels' 32-bit arithmetic."""
    (rows, cols), (row_step, col_step) = shape, steps
    span = (rows - 1) * abs(row_step) + (cols - 1) * abs(col_step)
    return span < _INT32 and max(rows, cols) < _INT32 and abs(row_step) < _INT32 and abs(col_step) < _INT32


def _address(x) -> int:
    return x.ctypes.data if isinstance(x, np.ndarray) else x.data.ptr


def _vector_rows(x, k_step: int, row_step: int, batch_step: int, k: int) -> bool:
    """Whether matmul_tc.cu may stage ``x`` in 16-byte cp.async chunks: k contiguous, every row of
    every batch 16-byte aligned, K whole chunks."""
    size = x.itemsize
    per_chunk = 16 // size
    return (k_step == 1 and k % per_chunk == 0 and (row_step * size) % 16 == 0 and (batch_step * size) % 16 == 0
            and _address(x) % 16 == 0)


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
    """NumPy's product in the accumulation dtype (float32 for float16 and bfloat16), rounded once."""
    acc = acc_dtype(a.dtype) if a.dtype != _BF16 else _F32
    a = np.swapaxes(a, -1, -2) if transpose_a else a
    b = np.swapaxes(b, -1, -2) if transpose_b else b
    out = np.matmul(a.astype(acc, copy=False), b.astype(acc, copy=False))
    if bias is not None:
        out += bias.astype(acc, copy=False)
    if relu:
        out[out < 0] = 0  # like the kernel: NaN stays NaN
    return out.astype(a.dtype, copy=False)
