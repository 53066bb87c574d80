"""The process group: ``init``, ``release``, ranks and sizes, with MindSpore's names.

``mpiexec -n N python train.py`` starts the processes; mpi4py's ``MPI.COMM_WORLD`` gives each its rank
and the world's size, and a shared-memory split (``Split_type(COMM_TYPE_SHARED)``) gives the rank
within the node, which picks the GPU. Without a launcher, ``init()`` makes a world of one, with or
without mpi4py, so the same script runs on one process unchanged. mpi4py is imported only by
``init()``: ``import gpucell`` never starts MPI.

>>> from gpucell.communication import init, get_rank, get_group_size, release
>>> init()
>>> get_rank(), get_group_size()
(0, 1)
>>> release()
"""

from __future__ import annotations

import os
import sys
import traceback

__all__ = ["GlobalComm", "init", "release", "get_rank", "get_group_size", "get_local_rank",
           "get_local_rank_size", "MPI_INSTALL_HINT"]

MPI_INSTALL_HINT = "pip install 'gpucell[mpi]' (mpi4py and MPICH)"
_BACKENDS = ("mpi", "nccl", "mccl", "hccl")
# Variables that MPICH (Hydra, PMI), Open MPI and PMIx set in each process they launch.
_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALRANKID")


class GlobalComm:
    """The backend and the name of the world group, set by ``init``."""

    BACKEND = "mpi"
    WORLD_COMM_GROUP = "mpi_world_group"
    INITED = False


class _World:
    comm = None        # MPI.COMM_WORLD, or None for a world of one without mpi4py
    local = None       # the shared-memory split of comm
    rank = 0
    size = 1
    local_rank = 0
    local_size = 1


def launched_by_mpi() -> bool:
    """Whether a launcher (``mpiexec``/``mpirun``/``srun``) started this process."""
    return any(name in os.environ for name in _LAUNCHER_VARS)


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(f"For 'communication.init', this process was started by an MPI launcher but "
                          f"mpi4py is missing ({error}); install it with {MPI_INSTALL_HINT}.") from error
    return MPI


def init(backend_name: str | None = None) -> None:
    """Joins the process group started by ``mpiexec`` (a world of one without it).

    ``backend_name``: None (``'nccl'`` on the GPU, ``'mpi'`` on the CPU), ``'mpi'``, ``'nccl'``;
    MindSpore's ``'mccl'`` and ``'hccl'`` are accepted as ``'mpi'`` and ``'nccl'``.
    In a world of several processes the ranks then capture a jitted step that holds a collective
    on every rank or on none, and bound their jit plan caches alike (the smallest ``max_bytes``).
    """
    from gpucell import backend

    if backend_name is not None and backend_name not in _BACKENDS:
        raise ValueError(f"For 'communication.init', 'backend_name' must be None or one of {list(_BACKENDS)}, "
                         f"but got {backend_name!r}.")
    if backend_name is None:
        name = "nccl" if backend.get_device() == "GPU" else "mpi"
    else:
        name = {"mccl": "mpi", "hccl": "nccl"}.get(backend_name, backend_name)
    try:
        from mpi4py import MPI
    except ImportError:
        if launched_by_mpi():
            _import_mpi()  # raises, naming the extra
        MPI = None
    if MPI is None:
        _World.comm = _World.local = None
        _World.rank, _World.size, _World.local_rank, _World.local_size = 0, 1, 0, 1
    else:
        _World.comm = MPI.COMM_WORLD
        _World.local = _World.comm.Split_type(MPI.COMM_TYPE_SHARED)
        _World.rank, _World.size = _World.comm.Get_rank(), _World.comm.Get_size()
        _World.local_rank, _World.local_size = _World.local.Get_rank(), _World.local.Get_size()
    GlobalComm.BACKEND = name
    GlobalComm.WORLD_COMM_GROUP = f"{name}_world_group"
    GlobalComm.INITED = True
    if _World.size > 1:
        _install_abort_hook()
    if name == "nccl" and backend.get_device() == "GPU" and _World.local_size > 1:
        _use_own_gpu()
    if _World.size > 1:
        _same_cache_bound()  # after _use_own_gpu: the default bound is that GPU's
        _agree_on_captures(True)


def _use_own_gpu() -> None:
    """Makes GPU ``local_rank`` current: before any NCCL communicator exists, since
    ncclCommInitRank binds to the current device and refuses two ranks of a node on one GPU."""
    from gpucell import backend

    count = backend.cupy.cuda.runtime.getDeviceCount()
    if _World.local_size > count:
        raise ValueError(f"For 'communication.init', the 'nccl' backend needs one GPU per process, but this node "
                         f"runs {_World.local_size} processes and has {count} GPU(s); start at most {count} "
                         f"processes per node, or use init('mpi').")
    backend.use_device_id(_World.local_rank)


def _install_abort_hook() -> None:
    """An uncaught exception on one rank aborts the whole world: the other ranks would otherwise wait
    forever in their next collective. The failing rank's traceback is printed first."""
    if _Hook.previous is not None:
        return
    _Hook.previous = sys.excepthook

    def abort_world(kind, value, tb) -> None:
        rank, size = _World.rank, _World.size
        sys.stderr.write(f"gpucell.communication: rank {rank} of {size} failed with an uncaught exception; "
                         f"aborting all ranks (MPI_Abort).\n")
        traceback.print_exception(kind, value, tb, file=sys.stderr)
        sys.stderr.flush()
        comm = _World.comm
        if comm is not None:
            comm.Abort(1)

    sys.excepthook = abort_world


class _Hook:
    previous = None  # sys.excepthook before init installed the abort hook


def _agree_on_captures(on: bool) -> None:
    """Makes jit capture a plan that holds a collective on every rank or on none (see
    ``jit/executors.py``): installed in a world of more than one process, so one process makes no
    MPI call for it. jit sits above communication and cannot import it, so it is handed the op and
    the agreement here."""
    from gpucell.jit import executors

    if on:
        from gpucell.communication.all_reduce_op import ALL_REDUCE
        from gpucell.communication.collectives import agree

        executors.ranks.collectives, executors.ranks.agree = frozenset({ALL_REDUCE}), agree
    else:
        executors.ranks.collectives, executors.ranks.agree = frozenset(), None


def _same_cache_bound() -> None:
    """Bounds every rank's jit plan cache alike: by the smallest ``max_bytes`` of any rank (the
    default is half of each one's GPU). A plan evicted on one rank only would be traced and captured
    again there alone, and its capture agreement would wait for ranks that only replay."""
    from mpi4py import MPI

    from gpucell import jit

    jit.set_cache_limits(max_bytes=_World.comm.allreduce(jit.cache_info().max_bytes, op=MPI.MIN))


def release() -> None:
    """Leaves the process group. MPI itself is finalized by mpi4py when the process exits."""
    from gpucell.communication import nccl

    nccl.reset()
    _agree_on_captures(False)
    if _Hook.previous is not None:
        sys.excepthook, _Hook.previous = _Hook.previous, None
    if _World.local is not None:
        _World.local.Free()
    _World.comm = _World.local = None
    _World.rank, _World.size, _World.local_rank, _World.local_size = 0, 1, 0, 1
    GlobalComm.INITED = False


def _check(where: str, group) -> None:
    if not GlobalComm.INITED:
        raise RuntimeError(f"For '{where}', call gpucell.communication.init() first.")
    if group is not None and group != GlobalComm.WORLD_COMM_GROUP:
        raise ValueError(f"For '{where}', only the world group {GlobalComm.WORLD_COMM_GROUP!r} exists "
                         f"(create_group is not supported yet), but got group={group!r}.")


def get_rank(group: str | None = None) -> int:
    """This process's rank in ``group`` (the world group by default)."""
    _check("get_rank", group)
    return _World.rank


def get_group_size(group: str | None = None) -> int:
    """The number of processes in ``group`` (the world group by default)."""
    _check("get_group_size", group)
    return _World.size


def get_local_rank(group: str | None = None) -> int:
    """This process's rank among the processes on its node (which GPU it uses)."""
    _check("get_local_rank", group)
    return _World.local_rank


def get_local_rank_size(group: str | None = None) -> int:
    """The number of processes on this node."""
    _check("get_local_rank_size", group)
    return _World.local_size


def is_rank_zero() -> bool:
    """Whether this process logs and saves: rank 0 of the world, or any process before ``init``."""
    return not GlobalComm.INITED or _World.rank == 0


def world_comm():
    """``MPI.COMM_WORLD`` after ``init``, or None in a world of one without mpi4py."""
    _check("communication", None)
    return _World.comm
