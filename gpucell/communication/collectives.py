"""All-reduce and broadcast of host (NumPy) arrays over MPI, in place on contiguous buffers.

MPI's buffer interface (``Allreduce(MPI.IN_PLACE, buf)``) works on the array's memory directly: no
pickling, one call per buffer, so callers flatten many small arrays into one bucket first. GPU arrays
go through NCCL (``cupy.cuda.nccl``), which is not built yet.
"""

from __future__ import annotations

import numpy as np

from gpucell.communication import management

__all__ = ["all_reduce", "broadcast", "ReduceOp"]


class ReduceOp:
    SUM = "sum"
    MEAN = "mean"


def _check_buffer(where: str, array) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise NotImplementedError(
            f"For '{where}', collectives on GPU arrays need the NCCL path (cupy.cuda.nccl), which is not "
            f"built yet (issue 15); got {type(array).__module__}.{type(array).__name__}. Train data parallel "
            f"on the CPU (set_context(device_target='CPU')) for now.")
    if not array.flags.c_contiguous or not array.flags.writeable:
        raise ValueError(f"For '{where}', the buffer must be a writeable C-contiguous array, got flags "
                         f"c_contiguous={array.flags.c_contiguous}, writeable={array.flags.writeable}.")
    return array


def all_reduce(array: np.ndarray, op: str = ReduceOp.SUM) -> np.ndarray:
    """Sums ``array`` over all ranks in place (``op='mean'``: then divides by the world's size)."""
    if op not in (ReduceOp.SUM, ReduceOp.MEAN):
        raise ValueError(f"For 'all_reduce', 'op' must be 'sum' or 'mean', but got {op!r}.")
    _check_buffer("all_reduce", array)
    comm = management.world_comm()
    if comm is not None and comm.Get_size() > 1:
        from mpi4py import MPI

        comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM)
    if op == ReduceOp.MEAN:
        array /= management.get_group_size()
    return array


def broadcast(array: np.ndarray, root: int = 0, check: bool = True) -> np.ndarray:
    """Overwrites ``array`` on every rank with rank ``root``'s, in place. With ``check`` each rank
    sends its shape first, so a mismatch raises instead of corrupting memory."""
    _check_buffer("broadcast", array)
    comm = management.world_comm()
    if comm is None or comm.Get_size() == 1:
        return array
    if check:
        check_same(comm, (array.shape, array.dtype.str), "broadcast")
    comm.Bcast(array, root=root)
    return array


def check_same(comm, description, where: str) -> None:
    """Raises on every rank when ``description`` (a picklable value) differs between ranks."""
    seen = comm.allgather(description)
    if any(s != seen[0] for s in seen):
        different = [rank for rank, s in enumerate(seen) if s != seen[0]]
        raise ValueError(f"For '{where}', the ranks hold different buffers: rank 0 has {seen[0]!r:.300}, "
                         f"ranks {different} differ (rank {different[0]}: {seen[different[0]]!r:.300}); "
                         f"every rank must build the same network.")
