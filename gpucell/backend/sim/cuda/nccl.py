"""``cupy.cuda.nccl`` of the simulated device: NCCL communicators whose collectives are stream work.

As on a GPU, a collective is queued on the stream it is given (a raw ``cudaStream_t``): it reads its
send buffer and writes its receive buffer there, so the race detector orders it like any kernel,
and on a capturing stream it is recorded into the graph (NCCL supports capture) and runs again at
every replay. The ranks of a communicator are the processes of an ``mpiexec`` world of ``ndev``
processes (the data travels through mpi4py, host memory to host memory); a communicator of one
rank needs no world: its all-reduce is the identity, its broadcast a copy.

Like CuPy, ``cupy.cuda`` does not import this module: ``from cupy.cuda import nccl`` does. Only
the names of CuPy 14's ``cupy_backends.cuda.libs.nccl`` that gpucell uses are offered, with CuPy's
signatures and constants (``tests/communication/test_sim_nccl.py`` and ``test_nccl_review.py``
check them against the installed CuPy).

NCCL's own rules are kept: a collective of ``count == 0`` is discarded (its pointers are not
looked at), and two ranks of one host on one device fail ``ncclCommInitRank`` ("Duplicate GPU
detected", ``ncclInvalidUsage``). Where a GPU's behaviour is undefined the simulator refuses:
buffers or a stream on another device than the communicator's (NCCL checks no pointers unless
``NCCL_CHECK_POINTERS=1``), and a graph replaying a collective of a destroyed communicator.
"""

from __future__ import annotations

import os as _os
import socket as _socket

import numpy as _np

from gpucell.backend.sim import _clock, _context, _launch, _memory, _streams

__all__ = ["available", "NcclError", "NcclCommunicator", "get_unique_id", "get_version", "get_build_version",
           "NCCL_INT8", "NCCL_CHAR", "NCCL_UINT8", "NCCL_INT32", "NCCL_INT", "NCCL_UINT32", "NCCL_INT64",
           "NCCL_UINT64", "NCCL_FLOAT16", "NCCL_HALF", "NCCL_FLOAT32", "NCCL_FLOAT", "NCCL_FLOAT64",
           "NCCL_DOUBLE", "NCCL_BFLOAT16", "NCCL_SUM", "NCCL_PROD", "NCCL_MAX", "NCCL_MIN", "NCCL_AVG"]

available = True

# ncclDataType_t and ncclRedOp_t, as nccl.h numbers them.
NCCL_INT8 = NCCL_CHAR = 0
NCCL_UINT8 = 1
NCCL_INT32 = NCCL_INT = 2
NCCL_UINT32 = 3
NCCL_INT64 = 4
NCCL_UINT64 = 5
NCCL_FLOAT16 = NCCL_HALF = 6
NCCL_FLOAT32 = NCCL_FLOAT = 7
NCCL_FLOAT64 = NCCL_DOUBLE = 8
NCCL_BFLOAT16 = 9
NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN, NCCL_AVG = 0, 1, 2, 3, 4

_VERSION = 22501  # NCCL 2.25.1, the version CuPy 14.2's cuda12x wheel is built against
_UNIQUE_ID_BYTES = 128
_INVALID_ARGUMENT, _INVALID_USAGE = 4, 5
_ERRORS = {_INVALID_ARGUMENT: ("NCCL_ERROR_INVALID_ARGUMENT", "invalid argument"),
           _INVALID_USAGE: ("NCCL_ERROR_INVALID_USAGE", "invalid usage")}


def _numpy_dtype(datatype: int) -> _np.dtype:
    if datatype == NCCL_BFLOAT16:
        from gpucell.dtype import BF16_NUMPY

        if BF16_NUMPY is not None:
            return BF16_NUMPY
    names = {NCCL_INT8: "int8", NCCL_UINT8: "uint8", NCCL_INT32: "int32", NCCL_UINT32: "uint32", NCCL_INT64: "int64",
             NCCL_UINT64: "uint64", NCCL_FLOAT16: "float16", NCCL_FLOAT32: "float32", NCCL_FLOAT64: "float64"}
    if datatype not in names:
        raise _error(_INVALID_ARGUMENT, f"unknown ncclDataType_t {datatype}")
    return _np.dtype(names[datatype])


class NcclError(RuntimeError):
    """As CuPy's: ``NcclError(status)``, ``"<name>: <string>"``."""

    def __init__(self, status):
        self.status = status
        name, text = _ERRORS.get(status, (f"NCCL_ERROR_{status}", "unknown error"))
        super().__init__(f"{name}: {text}")

    def __reduce__(self):
        return (type(self), (self.status,))


def _error(status: int, detail: str) -> NcclError:
    """An NcclError whose message also says what the simulator found wrong."""
    error = NcclError(status)
    error.args = (f"{error.args[0]} ({detail})",)
    return error


def get_unique_id() -> bytes:
    """128 random bytes that name a communicator (CuPy 14 returns ``bytes``; 13.x a tuple of ints)."""
    return _os.urandom(_UNIQUE_ID_BYTES)


def get_version() -> int:
    return _VERSION


def get_build_version() -> int:
    return _VERSION


def _mpi_world(ndev: int, where: str):
    """COMM_WORLD of an mpiexec world of ``ndev`` processes: the simulated NCCL's transport."""
    try:
        from mpi4py import MPI
    except ImportError:
        MPI = None
    if MPI is None or not MPI.Is_initialized() or MPI.COMM_WORLD.Get_size() != ndev:
        raise _error(_INVALID_USAGE, f"{where}: the simulated NCCL connects the {ndev} processes of an mpiexec "
                                        f"world of {ndev}; start them with mpiexec -n {ndev} and initialize MPI first")
    return MPI


def _check_one_device_per_rank(joined: list, rank: int) -> None:
    """NCCL's "Duplicate GPU detected": ``joined`` holds (id, host, device) of every rank."""
    _, host, device = joined[rank]
    for other, (_, other_host, other_device) in enumerate(joined):
        if other != rank and (other_host, other_device) == (host, device):
            raise _error(_INVALID_USAGE, f"Duplicate GPU detected : rank {rank} and rank {other} both on CUDA "
                                            f"device {device} (make each process's device current, e.g. "
                                            f"cupy.cuda.Device(local_rank).use(), before NcclCommunicator)")


class NcclCommunicator:
    """One rank's NCCL communicator: ``NcclCommunicator(ndev, commId, rank, config=None)``."""

    def __init__(self, ndev, commId, rank, config=None):
        # CuPy 14's own checks, with its exception types and words (Cython's argument check, then its
        # length check).
        if not isinstance(commId, bytes):
            raise TypeError(f"Argument 'commId' has incorrect type (expected bytes, got {type(commId).__name__})")
        if len(commId) != _UNIQUE_ID_BYTES:
            raise ValueError(f"commId length {len(commId)} != {_UNIQUE_ID_BYTES}.")
        if not isinstance(ndev, int) or not isinstance(rank, int) or ndev < 1 or not 0 <= rank < ndev:
            raise _error(_INVALID_ARGUMENT, f"rank {rank!r} of {ndev!r} ranks")
        self._ndev, self._rank, self._id = ndev, rank, commId
        self._mpi = None
        if ndev > 1:
            MPI = _mpi_world(ndev, "NcclCommunicator")
            if MPI.COMM_WORLD.Get_rank() != rank:
                raise _error(_INVALID_USAGE, f"rank {rank} is MPI rank {MPI.COMM_WORLD.Get_rank()}: the simulated "
                                                f"NCCL's ranks are the world's")
            # ncclCommInitRank blocks until every rank joined; it then refuses two ranks on one GPU.
            joined = MPI.COMM_WORLD.allgather((commId, _socket.gethostname(), _context.get_device_id()))
            if any(i != commId for i, _, _ in joined):
                raise _error(_INVALID_USAGE, "the ranks passed different unique ids")
            _check_one_device_per_rank(joined, rank)
            self._mpi = MPI
        self._device = _context.get_device_id()
        self._alive = True

    def destroy(self) -> None:
        self._alive = False

    def abort(self) -> None:
        self._alive = False

    def device_id(self) -> int:
        return self._device

    def rank_id(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._ndev

    def _buffer(self, where: str, pointer: int, count: int, dtype: _np.dtype) -> tuple:
        found = _memory.memory_at(pointer)
        nbytes = count * dtype.itemsize
        if found is None or found[1] + nbytes > found[0].size:
            raise _error(_INVALID_ARGUMENT, f"{where}: {nbytes} bytes at {pointer:#x} are not in one live "
                                               f"device allocation")
        if found[0].device_id != self._device:
            raise _error(_INVALID_ARGUMENT, f"{where}: the buffer at {pointer:#x} is on device "
                                               f"{found[0].device_id}, the communicator on device {self._device}")
        return found[0], found[1], found[1] + nbytes

    def _stream(self, where: str, stream: int):
        # NCCL makes its own device current to launch, so 0 and 2 (the legacy and the per-thread
        # default stream) are that device's; any other stream must belong to it.
        if stream == 0:
            return _clock.legacy_state(self._device)
        if stream == 2:
            return _clock.ptds_state(self._device)
        state = _streams.state_of_pointer(stream)
        if state.device != self._device:
            raise _error(_INVALID_ARGUMENT, f"{where}: the stream is on device {state.device}, the communicator "
                                               f"on device {self._device}")
        return state

    def _check(self, where: str) -> None:
        if not self._alive:
            raise _error(_INVALID_ARGUMENT, f"{where} on a destroyed communicator")

    def _check_replay(self, where: str) -> None:
        """A graph that captured a collective replays it with the communicator it was captured
        with: on a GPU, once that one is destroyed, the replay uses freed NCCL resources."""
        if not self._alive:
            raise _error(_INVALID_USAGE, f"a graph replays {where} of a destroyed communicator")

    def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):
        """Queues ``recvbuf = op over the ranks of sendbuf`` (``count`` elements) on ``stream``."""
        self._check("allReduce")
        dtype = _numpy_dtype(datatype)
        if op not in (NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN, NCCL_AVG):
            raise _error(_INVALID_ARGUMENT, f"allReduce: unknown ncclRedOp_t {op}")
        state = self._stream("allReduce", stream)
        if count == 0:
            return  # NCCL discards an empty collective ("Empty collectives can be discarded")
        source, target = self._buffer("allReduce", sendbuf, count, dtype), self._buffer("allReduce", recvbuf, count,
                                                                                          dtype)

        def run():
            self._check_replay("ncclAllReduce")
            values = source[0].view(source[1], source[2] - source[1]).view(dtype).copy()
            if self._mpi is not None:
                MPI = self._mpi
                mpi_op = {NCCL_SUM: MPI.SUM, NCCL_AVG: MPI.SUM, NCCL_PROD: MPI.PROD, NCCL_MAX: MPI.MAX,
                          NCCL_MIN: MPI.MIN}[op]
                # MPI has no bfloat16: it travels as float32 (a sum of two bfloat16 values is exact there)
                wide = values.astype(_np.float32) if datatype == NCCL_BFLOAT16 else values
                reduced = _np.empty_like(wide)
                MPI.COMM_WORLD.Allreduce(wide, reduced, op=mpi_op)
                values = (reduced / reduced.dtype.type(self._ndev) if op == NCCL_AVG else reduced).astype(dtype)
            target[0].view(target[1], target[2] - target[1]).view(dtype)[...] = values

        _launch.launch("ncclAllReduce", [source], [target], run, state)

    def broadcast(self, sendbuff, recvbuff, count, datatype, root, stream):
        """Queues ``recvbuff = root's sendbuff`` on every rank, on ``stream``."""
        self._check("broadcast")
        dtype = _numpy_dtype(datatype)
        if not 0 <= root < self._ndev:
            raise _error(_INVALID_ARGUMENT, f"broadcast: root {root} of {self._ndev} ranks")
        state = self._stream("broadcast", stream)
        if count == 0:
            return  # discarded, as an empty all-reduce
        target = self._buffer("broadcast", recvbuff, count, dtype)
        reads = [self._buffer("broadcast", sendbuff, count, dtype)] if self._rank == root else []

        def run():
            self._check_replay("ncclBroadcast")
            values = _np.empty(count, dtype)
            if reads:
                memory, lo, hi = reads[0]
                values[...] = memory.view(lo, hi - lo).view(dtype)
            if self._mpi is not None:
                self._mpi.COMM_WORLD.Bcast(values.view(_np.uint8), root=root)
            target[0].view(target[1], target[2] - target[1]).view(dtype)[...] = values

        _launch.launch("ncclBroadcast", reads, [target], run, state)

    def bcast(self, buff, count, datatype, root, stream):
        """In-place broadcast: ``buff`` on every rank becomes root's."""
        self.broadcast(buff, buff, count, datatype, root, stream)
