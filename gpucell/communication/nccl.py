"""NCCL collectives of GPU arrays: one ``NcclCommunicator`` per group, made at its first use.

Rank 0 makes the communicator's unique id (``nccl.get_unique_id()``) and MPI broadcasts it as a
pickled object, so its type goes through unchanged (a tuple of ints up to CuPy 13, ``bytes`` from
CuPy 14). Each collective is queued on the current stream and is capturable: inside a jitted
step's CUDA graph it is one more node, and every replay all-reduces again (NCCL supports capture).

A communicator works on the device that was current when it was made (``init`` makes GPU
``local_rank`` current first): buffers on another device are refused here, since NCCL checks no
pointers by default (``NCCL_CHECK_POINTERS=0``) and would fault or read the wrong memory. Counts
are in elements of the NCCL datatype; complex numbers travel as pairs of reals (a sum is taken
part by part) and bools as bytes (broadcast only: NCCL cannot sum them).
"""

from __future__ import annotations

import numpy as np

from gpucell import backend
from gpucell.communication import management

__all__ = ["communicator", "all_reduce", "broadcast", "reset"]

_communicators: dict = {}  # group name -> NcclCommunicator
_devices: dict = {}        # group name -> the id of the GPU its communicator works on


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
    # ncclCommInitRank binds the communicator to the current device (made current by init).
    device = backend.cupy.cuda.Device().id
    comm = _communicators[name] = nccl.NcclCommunicator(size, unique_id, rank)
    _devices[name] = device
    return comm


def reset() -> None:
    """Destroys the communicators (``release()`` calls it).

    A jitted step's CUDA graph holds the communicator its all-reduce was captured with, and would
    replay it after ``ncclCommDestroy`` (freed NCCL resources on a GPU): the jit cache is cleared
    first, and the device finishes the work already queued before the communicators go.
    """
    if not _communicators:
        return
    from gpucell import jit

    jit.clear_cache()
    for name, comm in list(_communicators.items()):
        backend.cupy.cuda.Device(_devices[name]).synchronize()
        comm.destroy()
    _communicators.clear()
    _devices.clear()


# gpucell dtype name -> (the NCCL datatype's name in cupy.cuda.nccl, NCCL elements per element)
_DATATYPES = {"float16": ("NCCL_FLOAT16", 1), "float32": ("NCCL_FLOAT32", 1), "float64": ("NCCL_FLOAT64", 1),
              "int8": ("NCCL_INT8", 1), "uint8": ("NCCL_UINT8", 1), "int32": ("NCCL_INT32", 1),
              "uint32": ("NCCL_UINT32", 1), "int64": ("NCCL_INT64", 1), "uint64": ("NCCL_UINT64", 1),
              "complex64": ("NCCL_FLOAT32", 2), "complex128": ("NCCL_FLOAT64", 2)}


def _datatype(nccl, array, where: str) -> tuple[int, int]:
    """(ncclDataType_t, count in its elements) of ``array`` for the collective ``where``."""
    from gpucell.dtype import BF16_NUMPY

    if BF16_NUMPY is not None and array.dtype == BF16_NUMPY:
        return nccl.NCCL_BFLOAT16, array.size
    name = np.dtype(array.dtype).name
    if name == "bool" and where == "broadcast":
        return nccl.NCCL_UINT8, array.size  # a copy of bytes: any 1-byte type carries it
    if name not in _DATATYPES:
        kinds = sorted(_DATATYPES) + ["bfloat16"] + (["bool"] if where == "broadcast" else [])
        raise TypeError(f"For '{where}', NCCL carries buffers of dtype {kinds}, but got {name}.")
    code, per_element = _DATATYPES[name]
    return getattr(nccl, code), array.size * per_element


def _check_device(array, group: str | None, where: str) -> None:
    device = _devices[group or management.GlobalComm.WORLD_COMM_GROUP]
    if array.device.id != device:
        raise ValueError(f"For '{where}', the buffer is on GPU {array.device.id} but the NCCL communicator works on "
                         f"GPU {device} (the device current at its first collective); make a process's GPU "
                         f"current before communication.init() and keep its arrays there.")


def _stream_pointer() -> int:
    return backend.cupy.cuda.get_current_stream().ptr


def all_reduce(array, group: str | None = None):
    """Sums the C-contiguous GPU ``array`` over the ranks, in place, on the current stream."""
    nccl = _module()
    comm = communicator(group)
    _check_device(array, group, "all_reduce")
    datatype, count = _datatype(nccl, array, "all_reduce")
    pointer = array.data.ptr
    comm.allReduce(pointer, pointer, count, datatype, nccl.NCCL_SUM, _stream_pointer())
    return array


def broadcast(array, root: int = 0, group: str | None = None):
    """Overwrites the C-contiguous GPU ``array`` on every rank with rank ``root``'s, in place."""
    nccl = _module()
    comm = communicator(group)
    _check_device(array, group, "broadcast")
    datatype, count = _datatype(nccl, array, "broadcast")
    comm.bcast(array.data.ptr, count, datatype, root, _stream_pointer())
    return array
