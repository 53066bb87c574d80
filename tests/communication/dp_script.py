"""Run by tests/communication/test_data_parallel.py.

``mpiexec -n N python dp_script.py OUT`` trains a tiny MLP data parallel once per configuration
(optimizer x eager/jit x gradients_mean) and saves each rank's parameters to OUT/rank{r}.npz, keyed
"<config>/<parameter>". ``python dp_script.py OUT --reference`` trains the same configurations in
one process on the full global batch (OUT/reference.npz). The ranks start from different weights
(seeded by rank) and must take rank 0's by the broadcast.

``--fail-rank R``: rank R raises after its first step (the world must abort, showing its error).
``--mismatch``: rank 1 builds a wider layer (the first broadcast must name it).
``--optimizers``: a comma-separated subset of sgd,momentum,adam.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import gpucell as ms  # noqa: E402
from gpucell import communication, nn  # noqa: E402

STEPS, GLOBAL_BATCH = 4, 8
OPTIMIZERS = {
    "sgd": lambda params: nn.SGD(params, 0.1),
    "momentum": lambda params: nn.Momentum(params, 0.1, 0.9),
    "adam": lambda params: nn.Adam(params, learning_rate=0.01),
}


def build(seed: int, hidden: int = 8):
    ms.set_seed(seed)
    return nn.SequentialCell([nn.Dense(4, hidden), nn.ReLU(), nn.Dense(hidden, 1)])


def data():
    rng = np.random.default_rng(7)
    return (rng.standard_normal((GLOBAL_BATCH, 4)).astype(np.float32),
            rng.standard_normal((GLOBAL_BATCH, 1)).astype(np.float32))


def train(optimizer: str, jit: bool, mean: bool, rank: int, size: int, reference: bool) -> dict:
    x, y = data()
    if reference:
        net, lo, hi = build(1), 0, GLOBAL_BATCH  # rank 0's weights
    else:
        ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, device_num=size,
                                     gradients_mean=mean, parameter_broadcast=True)
        net = build(rank + 1)  # different on each rank until the broadcast
        share = GLOBAL_BATCH // size
        lo, hi = rank * share, (rank + 1) * share
    mse = nn.MSELoss()
    loss = mse
    if not reference and not mean:
        # Summed gradients of per-shard mean losses are `size` times the global mean: scale the loss.
        def loss(out, label):
            return mse(out, label) / size
    step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), OPTIMIZERS[optimizer](net.trainable_params()))
    run = ms.jit(step.construct) if jit else step
    for _ in range(STEPS):
        run(ms.Tensor(x[lo:hi]), ms.Tensor(y[lo:hi]))
    ms.reset_auto_parallel_context()
    info = ms.jit.cache_info()
    ms.jit.clear_cache()
    params = {p.name: p.asnumpy() for p in net.get_parameters()}
    # How the jitted step ran: plans captured into CUDA graphs, eager segments between them.
    params["meta:graphs"] = np.array([info.captures, info.graph_breaks])
    return params


def model_train(out: Path, rank: int, size: int) -> None:
    """Model.train with a progress bar, LossMonitor and ModelCheckpoint: rank 0 alone prints and saves."""
    from gpucell.dataset import ArrayLoader
    from gpucell.train import CheckpointConfig, LossMonitor, Model, ModelCheckpoint

    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True,
                                 parameter_broadcast=True)
    x, y = data()
    net = build(rank + 1)
    model = Model(net, nn.MSELoss(), nn.SGD(net.trainable_params(), 0.1))
    loader = ArrayLoader((x, y), batch_size=2, shuffle=True, seed=0, num_shards=size, shard_id=rank)
    checkpoints = ModelCheckpoint("dp", str(out / "ckpt"), CheckpointConfig(save_checkpoint_steps=1,
                                                                             keep_checkpoint_max=10))
    model.train(1, loader, callbacks=[LossMonitor(1), checkpoints],
                progress=True)
    ms.reset_auto_parallel_context()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--reference", action="store_true")
    parser.add_argument("--optimizers", default="sgd,momentum,adam")
    parser.add_argument("--fail-rank", type=int, default=-1)
    parser.add_argument("--mismatch", action="store_true")
    parser.add_argument("--model-train", action="store_true", help="also run Model.train with callbacks")
    args = parser.parse_args()
    if os.environ.get("GPUCELL_DEVICE") != "SIM":
        ms.set_context(device_target="CPU")
    rank, size = 0, 1
    if not args.reference:
        communication.init()
        rank, size = communication.get_rank(), communication.get_group_size()
    if args.mismatch:
        ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, parameter_broadcast=True)
        net = build(0, hidden=8 if rank == 0 else 9)
        nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), nn.SGD(net.trainable_params(), 0.1))
    results = {}
    for optimizer in args.optimizers.split(","):
        for jit in (False, True):
            for mean in (True, False):
                if args.reference and not mean:
                    continue  # the reference has one answer per optimizer and mode
                params = train(optimizer, jit, mean, rank, size, args.reference)
                if args.fail_rank == rank:
                    raise RuntimeError(f"rank {rank} fails on purpose after training {optimizer}")
                tag = f"{optimizer}-{'jit' if jit else 'eager'}" + ("" if args.reference else
                                                                    f"-{'mean' if mean else 'sum'}")
                results.update({f"{tag}/{name}": value for name, value in params.items()})
    if args.model_train:
        model_train(args.out, rank, size)
    if not args.reference:
        results["meta:backend"] = np.array(communication.GlobalComm.BACKEND)
    name = "reference.npz" if args.reference else f"rank{rank}.npz"
    np.savez(args.out / name, **results)
    if not args.reference:
        communication.release()


if __name__ == "__main__":
    main()
