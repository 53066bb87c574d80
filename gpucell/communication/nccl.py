"""NCCL collectives of GPU arrays: one ``NcclCommunicator`` per group, made at its first use.

Rank 0 makes the communicator's unique id (``nccl.get_unique_id()``) and MPI broadcasts it as a
pickled object, so its type goes through unchanged (a tuple of ints up to CuPy 13, ``bytes`` from
CuPy 14). Each collective is queued on the current stream and is capturable: inside a jitted
step's CUDA graph it is one more node, and every replay all-reduces again (NCCL supports capture).
"""

from __future__ import annotations

import numpy as np

from gpucell import backend
from gpucell.communication import management

__all__ = ["communicator", "all_reduce", "broadcast", "reset"]

_communicators: dict = {}  # group name -> NcclCommunicator


def _module():
    from gpucell.backend.nccl import nccl_module

    return nccl_module()


def communicator(group: str | None = None):
    """The NCCL communicator of ``group`` (the world), made collectively on first use."""
    name = group or management.GlobalComm.WORLD_COMM_GROUP
    comm = _communicators.get(name)
    if comm is not None:
        return comm
    nccl = _module()
    rank, size = management.get_rank(group), management.get_group_size(group)
    world = management.world_comm()
    unique_id = nccl.get_unique_id() if rank == 0 else None
    if world is not None and size > 1:
        unique_id = world.bcast(unique_id, root=0)
    comm = _communicators[name] = nccl.NcclCommunicator(size, unique_id, rank)
    return comm


def reset() -> None:
    """Destroys the communicators (``release()`` calls it)."""
    for comm in _communicators.values():
        comm.destroy()
    _communicators.clear()


def _datatype(nccl, array) -> int:
    from gpucell.dtype import BF16_NUMPY

    if BF16_NUMPY is not None and array.dtype == BF16_NUMPY:
        return nccl.NCCL_BFLOAT16
    codes = {"float32": nccl.NCCL_FLOAT32, "float64": nccl.NCCL_FLOAT64, "float16": nccl.NCCL_FLOAT16,
             "int32": nccl.NCCL_INT32, "int64": nccl.NCCL_INT64, "uint8": nccl.NCCL_UINT8, "int8": nccl.NCCL_INT8}
    code = codes.get(np.dtype(array.dtype).name)
    if code is None:
        raise TypeError(f"For 'all_reduce', NCCL carries {sorted(codes)} and bfloat16, but got {array.dtype}.")
    return code


def _stream_pointer() -> int:
    return backend.cupy.cuda.get_current_stream().ptr


def all_reduce(array, group: str | None = None):
    """Sums the C-contiguous GPU ``array`` over the ranks, in place, on the current stream."""
    nccl = _module()
    comm = communicator(group)
    pointer = array.data.ptr
    comm.allReduce(pointer, pointer, array.size, _datatype(nccl, array), nccl.NCCL_SUM, _stream_pointer())
    return array


def broadcast(array, root: int = 0, group: str | None = None):
    """Overwrites the C-contiguous GPU ``array`` on every rank with rank ``root``'s, in place."""
    nccl = _module()
    comm = communicator(group)
    comm.bcast(array.data.ptr, array.size, _datatype(nccl, array), root, _stream_pointer())
    return array
