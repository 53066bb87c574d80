"""Run by tests/communication/test_data_parallel.py: ``mpiexec -n 2 python dp_script.py OUT [--sum]``
trains a tiny MLP data parallel and saves each rank's parameters to OUT/rank{r}.npz. Without mpiexec
(``python dp_script.py OUT --reference``) it trains the same network on the full batch alone."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import gpucell as ms  # noqa: E402
from gpucell import communication, nn  # noqa: E402

STEPS, GLOBAL_BATCH = 5, 8


def build(seed: int):
    ms.set_seed(seed)
    net = nn.SequentialCell([nn.Dense(4, 8), nn.ReLU(), nn.Dense(8, 1)])
    return net


def data():
    rng = np.random.default_rng(7)
    return rng.standard_normal((GLOBAL_BATCH, 4)).astype(np.float32), rng.standard_normal(
        (GLOBAL_BATCH, 1)).astype(np.float32)


def main(out: Path, mode: str) -> None:
    ms.set_context(device_target="CPU")
    x, y = data()
    loss_fn = nn.MSELoss()
    if mode == "--reference":
        net = build(0)
        step = nn.TrainOneStepCell(nn.WithLossCell(net, loss_fn), nn.SGD(net.trainable_params(), 0.1))
        rank, lo, hi = 0, 0, GLOBAL_BATCH
    else:
        communication.init()
        rank, size = communication.get_rank(), communication.get_group_size()
        ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, device_num=size,
                                     gradients_mean=(mode != "--sum"), parameter_broadcast=True)
        net = build(rank)  # different on each rank until the broadcast
        # summed gradients of per-shard mean losses are size times the global mean: scale the lr
        lr = 0.1 if mode != "--sum" else 0.1 / size
        step = nn.TrainOneStepCell(nn.WithLossCell(net, loss_fn), nn.SGD(net.trainable_params(), lr))
        share = GLOBAL_BATCH // size
        lo, hi = rank * share, (rank + 1) * share
    for _ in range(STEPS):
        step(ms.Tensor(x[lo:hi]), ms.Tensor(y[lo:hi]))
    np.savez(out / f"rank{rank}{'_ref' if mode == '--reference' else ''}.npz",
             **{p.name: p.asnumpy() for p in net.get_parameters()})
    if mode != "--reference":
        communication.release()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "--mean")
