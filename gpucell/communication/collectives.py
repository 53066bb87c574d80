"""All-reduce and broadcast in place on contiguous buffers: NumPy arrays over MPI, GPU arrays over NCCL.

MPI's buffer interface (``Allreduce(MPI.IN_PLACE, buf)``) works on the array's memory directly: no
pickling, one call per buffer, so callers flatten many small arrays into one bucket first. GPU arrays
go through NCCL (``communication/nccl.py``) on the current stream when ``init`` chose the 'nccl'
backend; under 'mpi' they are staged through host memory (a synchronizing copy: never captured).
"""

from __future__ import annotations

import numpy as np

from gpucell import backend
from gpucell.communication import management

__all__ = ["all_reduce", "broadcast", "agree", "ReduceOp"]


class ReduceOp:
    SUM = "sum"
    MEAN = "mean"


def _check_buffer(where: str, array):
    if not isinstance(array, np.ndarray) and not backend.is_gpu_array(array):
        raise TypeError(f"For '{where}', the buffer must be a NumPy or GPU array, but got "
                        f"{type(array).__module__}.{type(array).__name__}.")
    writeable = array.flags.writeable if isinstance(array, np.ndarray) else True
    if not array.flags.c_contiguous or not writeable:
        raise ValueError(f"For '{where}', the buffer must be a writeable C-contiguous array, got flags "
                         f"c_contiguous={array.flags.c_contiguous}, writeable={writeable}.")
    return array


def uses_nccl(array) -> bool:
    """Whether a collective on ``array`` runs on NCCL (a GPU array under the 'nccl' backend): it is
    then queued on the current stream and can be captured into a CUDA graph."""
    return not isinstance(array, np.ndarray) and management.GlobalComm.BACKEND == "nccl"


def _through_host(array, collective) -> None:
    """``collective(host_copy)`` for a GPU array under the 'mpi' backend, the result copied back."""
    host = backend.to_host(array)
    collective(host)
    array[...] = backend.cupy.asarray(host)


def all_reduce(array: np.ndarray, op: str = ReduceOp.SUM) -> np.ndarray:
    """Sums ``array`` over all ranks in place (``op='mean'``: then divides by the world's size)."""
    if op not in (ReduceOp.SUM, ReduceOp.MEAN):
        raise ValueError(f"For 'all_reduce', 'op' must be 'sum' or 'mean', but got {op!r}.")
    _check_buffer("all_reduce", array)
    comm = management.world_comm()
    if uses_nccl(array):
        from gpucell.communication import nccl

        nccl.all_reduce(array)
    elif comm is not None and comm.Get_size() > 1:
        if isinstance(array, np.ndarray):
            from mpi4py import MPI

            comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM)
        else:
            _through_host(array, lambda host: all_reduce(host, ReduceOp.SUM))
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
    if uses_nccl(array):
        from gpucell.communication import nccl

        nccl.broadcast(array, root)
    elif isinstance(array, np.ndarray):
        comm.Bcast(array, root=root)
    else:
        _through_host(array, lambda host: comm.Bcast(host, root=root))
    return array


def check_same(comm, description, where: str) -> None:
    """Raises on every rank when ``description`` (a picklable value) differs between ranks."""
    seen = comm.allgather(description)
    if any(s != seen[0] for s in seen):
        different = [rank for rank, s in enumerate(seen) if s != seen[0]]
        raise ValueError(f"For '{where}', the ranks hold different buffers: rank 0 has {seen[0]!r:.300}, "
                         f"ranks {different} differ (rank {different[0]}: {seen[different[0]]!r:.300}); "
                         f"every rank must build the same network.")


def agree(error: str | None = None) -> dict[int, str]:
    """Which ranks failed, known alike to every rank: ``{rank: error}`` of each rank that passed an
    ``error`` (None: it succeeded); empty when none did.

    A host-side collective that every rank must call at the same point of its program: one MPI
    all-reduce of a flag, then, only when some rank failed, an all-gather of the errors. jit calls
    it once per captured plan that holds a collective, so that every rank replays such a plan the
    same way. In a world of one it makes no MPI call.
    """
    if error is not None and not isinstance(error, str):
        raise TypeError(f"For 'agree', the 'error' must be a str or None, but got {type(error).__name__}.")
    comm = management.world_comm()
    if comm is None or management.get_group_size() == 1:
        return {} if error is None else {management.get_rank(): error}
    from mpi4py import MPI

    if not comm.allreduce(int(error is not None), op=MPI.SUM):
        return {}
    return {rank: text for rank, text in enumerate(comm.allgather(error)) if text is not None}
