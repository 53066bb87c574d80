"""Run by tests/communication/test_nccl_review.py as ``mpiexec -n 2`` on the simulated GPU
(GPUCELL_DEVICE=SIM, GPUCELL_SIM_DEVICES=2): NCCL's rules across real processes.

Prints one ``ok <check>`` line per check that held; any failure raises (and the abort hook ends
the world).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout, not an installed copy

from gpucell import backend, communication  # noqa: E402
from gpucell.communication import collectives  # noqa: E402


def main() -> None:
    cp = backend.cupy
    from gpucell.backend.sim.cuda import nccl

    communication.init()
    rank, size = communication.get_rank(), communication.get_group_size()
    assert communication.GlobalComm.BACKEND == "nccl" and size == 2
    assert cp.cuda.Device().id == rank  # init made GPU local_rank current

    # Two ranks of one host on one GPU: ncclCommInitRank fails on both ("Duplicate GPU detected").
    unique_id = communication.management.world_comm().bcast(nccl.get_unique_id() if rank == 0 else None)
    with cp.cuda.Device(0):
        try:
            nccl.NcclCommunicator(size, unique_id, rank)
        except nccl.NcclError as error:
            assert "Duplicate GPU detected" in str(error) and "NCCL_ERROR_INVALID_USAGE" in str(error), error
        else:
            raise AssertionError("two ranks on GPU 0 made a communicator")
    print(f"ok {rank} duplicate-gpu", flush=True)

    # Complex numbers travel as pairs of reals: the sum is exact, part by part.
    mine = (np.arange(3) + 1j * (np.arange(3) + 10) * (rank + 1)).astype(np.complex64)
    summed = collectives.all_reduce(cp.asarray(mine))
    expected = sum((np.arange(3) + 1j * (np.arange(3) + 10) * (r + 1)).astype(np.complex64) for r in range(size))
    np.testing.assert_array_equal(summed.get(), expected)
    print(f"ok {rank} complex-sum", flush=True)

    # bool buffers are broadcast as bytes.
    flags = cp.asarray(np.array([True, False, True]) if rank == 0 else np.zeros(3, bool))
    collectives.broadcast(flags, root=0)
    np.testing.assert_array_equal(flags.get(), [True, False, True])
    print(f"ok {rank} bool-broadcast", flush=True)

    # An empty buffer: NCCL discards the collective on every rank, nothing hangs.
    empty = collectives.all_reduce(cp.zeros(0, cp.float32))
    assert empty.shape == (0,)
    print(f"ok {rank} empty", flush=True)
    communication.release()


if __name__ == "__main__":
    main()
