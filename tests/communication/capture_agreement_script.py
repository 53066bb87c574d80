"""Run by tests/communication/test_capture_agreement.py on the simulated GPUs.

``mpiexec -n 2 python capture_agreement_script.py OUT`` trains one tiny MLP data parallel, jitted
(its NCCL all-reduce inside the step's CUDA graph), once per configuration, and writes each rank's
result to OUT/rank{r}.npz, keyed "<config>/<what>":

- ``captured``: nothing fails; every rank replays the step as a graph;
- ``capture-fails``: rank ``--failing-rank`` (default 1) refuses the capture on purpose (its
  ``GraphRunner.capture`` raises), the other ranks capture fine;
- ``warm-up-fails``: that rank's warm-up raises before running a step (its call runs eagerly).

Per configuration: the parameters, each step's loss, the captured plans and failed executors of the
cache, and the text of every jit warning. Before ``init`` each rank bounds its plan cache by
``rank + 1`` GiB; "meta:max_bytes" is the bound after it (the ranks must agree on the smallest).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import gpucell as ms  # noqa: E402
from gpucell import communication, nn  # noqa: E402
from gpucell.backend import graphs  # noqa: E402
from gpucell.jit import executors, function  # noqa: E402

STEPS, GLOBAL_BATCH = 4, 8
REFUSAL = "refused on purpose on rank {rank}"


def _refuse(rank: int):
    def refuse(*args, **kwargs):
        raise RuntimeError(REFUSAL.format(rank=rank))
    return refuse


@contextlib.contextmanager
def failing(config: str, rank: int, failing_rank: int):
    """Makes this rank's capture (or warm-up) raise in ``config``, if it is the failing rank."""
    owner, name = {"capture-fails": (graphs.GraphRunner, "capture"),
                   "warm-up-fails": (executors.CudaGraphExecutor, "_warm_up")}.get(config, (None, None))
    if owner is None or rank != failing_rank:
        yield
        return
    original = getattr(owner, name)
    setattr(owner, name, _refuse(rank))
    try:
        yield
    finally:
        setattr(owner, name, original)


def train(config: str, rank: int, size: int, failing_rank: int) -> dict:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((GLOBAL_BATCH, 4)).astype(np.float32)
    y = rng.standard_normal((GLOBAL_BATCH, 1)).astype(np.float32)
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True,
                                 parameter_broadcast=True)
    ms.set_seed(rank + 1)  # different weights on each rank until the broadcast
    net = nn.SequentialCell([nn.Dense(4, 8), nn.ReLU(), nn.Dense(8, 1)])
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), nn.Momentum(net.trainable_params(), 0.1, 0.9))
    run = ms.jit(step.construct)
    share = GLOBAL_BATCH // size
    lo, hi = rank * share, (rank + 1) * share
    executors.CudaGraphExecutor._warned = False  # each configuration may warn once
    losses = []
    with warnings.catch_warnings(record=True) as caught, failing(config, rank, failing_rank):
        warnings.simplefilter("always")
        for _ in range(STEPS):
            losses.append(float(run(ms.Tensor(x[lo:hi]), ms.Tensor(y[lo:hi])).asnumpy()))
    plans = [plan.executor for plan in function.PLANS._plans.values()]
    out = {f"{config}/{p.name}": p.asnumpy() for p in net.get_parameters()}
    out[f"{config}/losses"] = np.array(losses)
    out[f"{config}/captures"] = np.array(ms.jit.cache_info().captures)
    out[f"{config}/failed"] = np.array(sum(e.failed for e in plans))
    out[f"{config}/warnings"] = np.array([str(w.message) for w in caught if "gpucell.jit" in str(w.message)])
    ms.reset_auto_parallel_context()
    ms.jit.clear_cache()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--failing-rank", type=int, default=1)
    args = parser.parse_args()
    from mpi4py import MPI

    ms.jit.set_cache_limits(max_bytes=(MPI.COMM_WORLD.Get_rank() + 1) << 30)
    communication.init()
    rank, size = communication.get_rank(), communication.get_group_size()
    results = {"meta:backend": np.array(communication.GlobalComm.BACKEND),
               "meta:max_bytes": np.array(ms.jit.cache_info().max_bytes)}
    for config in ("captured", "capture-fails", "warm-up-fails"):
        results.update(train(config, rank, size, args.failing_rank))
    np.savez(args.out / f"rank{rank}.npz", **results)
    communication.release()


if __name__ == "__main__":
    main()
