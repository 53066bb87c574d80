"""Size-capped flat buckets: many small arrays of one dtype packed into one contiguous buffer, so a
collective is one MPI call per bucket instead of one per Parameter (latency, not bandwidth, bounds
small messages)."""

from __future__ import annotations

import numpy as np

from gpucell import backend
from gpucell.communication import collectives, management

__all__ = ["plan_buckets", "all_reduce_arrays", "broadcast_parameters", "check_same_parameters",
           "DEFAULT_BUCKET_BYTES"]

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


def _flat(arrays, bucket):
    xp = backend.array_module(arrays[bucket[0]])
    return xp.concatenate([xp.ascontiguousarray(arrays[i]).reshape(-1) for i in bucket])


def all_reduce_arrays(arrays, op: str = "sum", cap_bytes: int = DEFAULT_BUCKET_BYTES) -> list:
    """New arrays: each of ``arrays`` (NumPy or GPU) summed (or averaged) over the ranks, one
    all-reduce per bucket; each result is a view of its bucket."""
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
    check_same_parameters(comm, parameters)
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


def check_same_parameters(comm, parameters) -> None:
    """Raises on every rank, naming the first Parameter whose name, shape or dtype differs between
    rank 0 and another rank (the ranks built different networks)."""
    mine = [(p.name, tuple(p.shape), str(p.dtype)) for p in parameters]
    seen = comm.allgather(mine)
    for rank, theirs in enumerate(seen[1:], start=1):
        if theirs == seen[0]:
            continue
        if len(theirs) != len(seen[0]):
            raise ValueError(f"For 'broadcast_parameters', rank 0 has {len(seen[0])} Parameters but rank {rank} "
                             f"has {len(theirs)}; every rank must build the same network.")
        for (name0, shape0, dtype0), (name, shape, dtype) in zip(seen[0], theirs):
            if (name0, shape0, dtype0) != (name, shape, dtype):
                raise ValueError(f"For 'broadcast_parameters', the Parameter '{name0}' has shape {shape0} and dtype "
                                 f"{dtype0} on rank 0, but rank {rank} has '{name}' with shape {shape} and dtype "
                                 f"{dtype}; every rank must build the same network.")
