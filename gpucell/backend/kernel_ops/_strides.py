"""The BroadcastIndex argument of kernels/broadcast.cuh: each operand's element strides over the
output shape, with dimensions merged where every operand allows it.

Broadcast and strided (non-contiguous, negative-stride) inputs are read in place; only an operand
whose byte strides are not whole elements, or a view needing more than GC_MAX_DIMS dimensions
after merging, is first copied into a contiguous broadcast array.
"""

from __future__ import annotations

import numpy as np

MAX_DIMS = 6  # GC_MAX_DIMS in kernels/broadcast.cuh
MAX_OPERANDS = 3  # GC_MAX_OPERANDS
INDEX_DTYPE = np.dtype([("ndim", "<i8"), ("shape", "<i8", (MAX_DIMS,)),
                        ("strides", "<i8", (MAX_OPERANDS, MAX_DIMS))])


def _element_strides(array, shape: tuple[int, ...]) -> list[int] | None:
    """Element strides of ``array`` broadcast to ``shape`` (0 on broadcast dims), or None."""
    lead = len(shape) - array.ndim
    strides = [0] * lead
    for extent, out_extent, step in zip(array.shape, shape[lead:], array.strides):
        if step % array.itemsize:
            return None
        strides.append(0 if extent == 1 and out_extent != 1 else step // array.itemsize)
    return strides


def _collapse(shape, per_operand):
    """Drops size-1 dims and merges a dim into the next where all operands are contiguous across."""
    dims = [(extent, [s[d] for s in per_operand]) for d, extent in enumerate(shape) if extent != 1]
    merged: list[tuple[int, list[int]]] = []
    for extent, strides in dims:
        if merged:
            prev_extent, prev_strides = merged[-1]
            if all(p == s * extent for p, s in zip(prev_strides, strides)):
                merged[-1] = (prev_extent * extent, strides)
                continue
        merged.append((extent, strides))
    return merged


def broadcast_index(xp, shape: tuple[int, ...], operands: list) -> tuple[np.ndarray, list]:
    """(index, operands): the BroadcastIndex for ``operands`` over ``shape``, as a one-element
    structured array, and the operands to pass (the same arrays unless one had to be copied)."""
    operands = list(operands)
    per_operand = []
    for i, array in enumerate(operands):
        strides = _element_strides(array, shape)
        if strides is None:
            operands[i] = array = xp.ascontiguousarray(xp.broadcast_to(array, shape))
            strides = _element_strides(array, shape)
        per_operand.append(strides)
    merged = _collapse(shape, per_operand)
    if len(merged) > MAX_DIMS:
        operands = [xp.ascontiguousarray(xp.broadcast_to(a, shape)) for a in operands]
        return broadcast_index(xp, shape, operands)
    index = np.zeros(1, INDEX_DTYPE)
    index["ndim"] = len(merged)
    for d, (extent, strides) in enumerate(merged):
        index["shape"][0, d] = extent
        for k, step in enumerate(strides):
            index["strides"][0, k, d] = step
    return index, operands
