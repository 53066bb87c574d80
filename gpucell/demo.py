"""``python -m gpucell.demo``: train a classifier on the handwritten digits that ship with gpucell.

Written the way a MindSpore user writes it: a network of Cells, a loss, an optimizer and
``Model.train``, with ``set_context(mode=GRAPH_MODE)`` so each training step is traced once and
then replayed as a compiled plan (CUDA graphs on the GPU). The data (1797 8x8 digits, UCI optdigits
via scikit-learn) ships inside the package, so nothing is downloaded. Prints the device, a progress
bar, steps per second and the test accuracy.

    python -m gpucell.demo [--model mlp|cnn] [--epochs N] [--eager] [--no-progress]
                           [--amp O0|O1|O2|O3|auto] [--amp-dtype bfloat16|float16]
    mpiexec -n 2 python -m gpucell.demo --data-parallel

``--data-parallel`` trains one replica per process started by ``mpiexec``: each reads its shard of
every epoch, the gradients are averaged over the processes (MPI on the CPU, NCCL on GPUs), and
rank 0 alone prints.

``--amp O2`` trains in mixed precision as MindSpore's ``Model(amp_level="O2")`` does: the network in
``--amp-dtype`` except its normalisations, float32 master weights and loss, a dynamic loss scale.
"""

from __future__ import annotations

import argparse
import sys
import time

import gpucell as ms
from gpucell import communication, nn
from gpucell.dataset import ArrayLoader, load_digits_split
from gpucell.train import Model


def mlp() -> nn.Cell:
    return nn.SequentialCell([nn.Dense(64, 256, activation="relu"), nn.Dense(256, 10)])


def cnn() -> nn.Cell:
    return nn.SequentialCell([
        nn.Conv2d(1, 16, 3, pad_mode="same", has_bias=True), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(16, 32, 3, pad_mode="same", has_bias=True), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Dense(32 * 2 * 2, 10),
    ])


def run(model_name: str, epochs: int, batch_size: int, compiled: bool, progress: bool, amp_level: str = "O0",
        amp_dtype: str = "bfloat16", data_parallel: bool = False) -> float:
    """Trains ``model_name`` for ``epochs`` (in mixed precision at ``amp_level``, in ``amp_dtype``;
    with ``data_parallel``, ``batch_size`` per process) and returns its accuracy on the held-out digits."""
    ms.set_seed(0)
    shards = {}
    if data_parallel:
        shards = {"num_shards": communication.get_group_size(), "shard_id": communication.get_rank()}
        ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True,
                                     parameter_broadcast=True)
    ms.set_context(mode=ms.GRAPH_MODE if compiled else ms.PYNATIVE_MODE)
    (x_train, y_train), (x_test, y_test) = load_digits_split(as_image=model_name == "cnn")
    net = mlp() if model_name == "mlp" else cnn()
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    optimizer = nn.Adam(net.trainable_params(), learning_rate=3e-3)
    amp = {} if amp_level == "O0" else {"amp_level": amp_level, "cast_model_type": getattr(ms, amp_dtype)}
    model = Model(net, loss_fn, optimizer, metrics={"accuracy"}, **amp)

    train_data = ArrayLoader((x_train, y_train), batch_size=batch_size, shuffle=True, seed=0,
                             drop_last=True, **shards)
    start = time.perf_counter()
    model.train(epochs, train_data, progress=progress)
    elapsed = time.perf_counter() - start
    steps = epochs * len(train_data)
    _say(f"trained {steps} steps in {elapsed:.1f} s: {steps / elapsed:.0f} steps/s "
         f"({'GRAPH_MODE, jit plans' if compiled else 'PYNATIVE_MODE, eager'})"
         + (f", data parallel over {shards['num_shards']} processes" if shards else ""))
    return model.eval(ArrayLoader((x_test, y_test), batch_size=len(x_test)))["accuracy"]


def _say(text: str) -> None:
    """Prints on rank 0 only (every process of a data-parallel run trains the same model)."""
    if communication.management.is_rank_zero():
        print(text, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    parser.add_argument("--epochs", type=int, default=None, help="default: 20")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--eager", action="store_true", help="PYNATIVE_MODE: no jit plans")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--amp", choices=("O0", "O1", "O2", "O3", "auto"), default="O0",
                        help="mixed-precision level, as Model(amp_level=...); default O0 (float32)")
    parser.add_argument("--amp-dtype", choices=("bfloat16", "float16"), default="bfloat16",
                        help="the low precision of --amp (default bfloat16)")
    parser.add_argument("--data-parallel", action="store_true",
                        help="one replica per mpiexec process, gradients averaged (mpiexec -n 2 ...)")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be at least 1, but got {args.epochs}")
    epochs = args.epochs or 20
    if args.data_parallel:
        communication.init()
    _say(f"gpucell {ms.__version__} on {ms.get_context('device_target')}: a {args.model} on the 8x8 "
         f"digits, {epochs} epochs" + (f", amp {args.amp} in {args.amp_dtype}" if args.amp != "O0" else "")
         + (f", rank 0 of {communication.get_group_size()}" if args.data_parallel else ""))
    accuracy = run(args.model, epochs, args.batch_size, not args.eager, not args.no_progress, args.amp,
                   args.amp_dtype, args.data_parallel)
    _say(f"test accuracy: {accuracy:.3f}")
    if args.data_parallel:
        communication.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
