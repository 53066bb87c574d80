"""Size-capped flat buckets: many small arrays of one dtype packed into one contiguous buffer, so a
collective is one MPI call per bucket instead of one per Parameter (latency, not bandwidth, bounds
small messages)."""

from __future__ import annotations

import numpy as np

from gpucell.communication import collectives, management

__all__ = ["plan_buckets", "all_reduce_arrays", "broadcast_parameters", "DEFAULT_BUCKET_BYTES"]

DEFAULT_BUCKET_BYTES = 25 * 2**20


def plan_buckets(arrays, cap_bytes: int = DEFAULT_BUCKET_BYTES) -> list[list[int]]:
    """Indices of ``arrays`` grouped by dtype, in order, each group at most ``cap_bytes`` (an array
    bigger than the cap gets a bucket of its own)."""
    open_by_dtype: dict = {}
    buckets: list[list[int]] = []
    for i, array in enumerate(arrays):
        key = np.dtype(array.dtype).str
        current = open_by_dtype.get(key)
        if current is None or current[1] + array.nbytes > cap_bytes:
            current = [[], 0]
            open_by_dtype[key] = current
            buckets.append(current[0])
        current[0].append(i)
        current[1] += array.nbytes
    return buckets


def _flat(arrays, bucket) -> np.ndarray:
    return np.concatenate([np.ascontiguousarray(arrays[i]).reshape(-1) for i in bucket])


def all_reduce_arrays(arrays, op: str = "sum", cap_bytes: int = DEFAULT_BUCKET_BYTES) -> list[np.ndarray]:
    """New arrays: each of ``arrays`` summed (or averaged) over the ranks, one all-reduce per bucket."""
    out: list = [None] * len(arrays)
    for bucket in plan_buckets(arrays, cap_bytes):
        flat = collectives.all_reduce(_flat(arrays, bucket), op)
        offset = 0
        for i in bucket:
            n = arrays[i].size
            out[i] = flat[offset:offset + n].reshape(arrays[i].shape)
            offset += n
    return out


def broadcast_parameters(parameters, root: int = 0, cap_bytes: int = DEFAULT_BUCKET_BYTES) -> None:
    """Overwrites every Parameter on every rank with rank ``root``'s value. Names, shapes and dtypes
    are compared first: ranks that built different networks get a ValueError, not corrupted weights."""
    parameters = list(parameters)
    comm = management.world_comm()
    if comm is None or comm.Get_size() == 1:
        return
    collectives.check_same(comm, [(p.name, tuple(p.shape), str(p.dtype)) for p in parameters],
                           "broadcast_parameters")
    arrays = [p._data for p in parameters]
    for bucket in plan_buckets(arrays, cap_bytes):
        flat = collectives.broadcast(_flat(arrays, bucket), root, check=False)
        if comm.Get_rank() == root:
            continue
        offset = 0
        for i in bucket:
            n = arrays[i].size
            parameters[i].set_data(flat[offset:offset + n].reshape(arrays[i].shape))
            offset += n
