"""An LSTM that learns which of two markers comes first in a sequence of variable length.

Each sequence holds noise symbols and exactly one 'A' and one 'B' at random places within its
length; the label says whether 'A' comes before 'B'. Nothing about a single step answers that: the
network must remember what it has seen. The sequences are padded to one length and ``seq_length``
tells the LSTM where each ends, so its final state ``h_n`` is the state after the last real step.

Written as MindSpore code is: an ``nn.LSTM`` and an ``nn.Dense`` head in a Cell, a loss inside it,
``nn.TrainOneStepCell`` with Adam, and ``ms.jit`` over the step unless ``--eager``.

    python examples/lstm_classifier.py [--eager] [--device CPU|GPU|SIM] [--steps N] [--target 0.95]

Prints the device, the loss as it trains and ``test accuracy: X``; exits 1 if X is below ``--target``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import gpucell as ms
from gpucell import nn, ops

SYMBOLS = 6  # one-hot: 0 = 'A', 1 = 'B', 2.. = noise


def make_data(count: int, max_len: int, rng: np.random.Generator):
    """``count`` padded sequences (count, max_len, SYMBOLS), their lengths and labels (1: 'A' first)."""
    lengths = rng.integers(max_len // 2, max_len + 1, count)
    symbols = rng.integers(2, SYMBOLS, (count, max_len))
    labels = np.zeros(count, np.int32)
    for row, n in enumerate(lengths):
        a, b = rng.choice(n, size=2, replace=False)
        symbols[row, a], symbols[row, b] = 0, 1
        labels[row] = a < b
    x = np.eye(SYMBOLS, dtype=np.float32)[symbols]
    x[np.arange(max_len)[None, :] >= lengths[:, None]] = 0.0  # the padding: zeros the LSTM never reads
    return x, lengths.astype(np.int32), labels


class OrderClassifier(nn.Cell):
    """LSTM over the sequence, then a Dense layer on the final hidden state: two logits."""

    def __init__(self, hidden: int = 24):
        super().__init__()
        self.lstm = nn.LSTM(SYMBOLS, hidden, batch_first=True)
        self.head = nn.Dense(hidden, 2)

    def construct(self, x, seq_length):
        _, (h_n, _) = self.lstm(x, None, seq_length)
        return self.head(h_n[-1])


class WithLoss(nn.Cell):
    """The classifier and its loss over (x, seq_length, label): what TrainOneStepCell differentiates."""

    def __init__(self, net: nn.Cell):
        super().__init__()
        self.net = net
        self.loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")

    def construct(self, x, seq_length, label):
        return self.loss(self.net(x, seq_length), label)


def accuracy(net: nn.Cell, x, lengths, labels) -> float:
    net.set_train(False)
    logits = net(ms.Tensor(x), ms.Tensor(lengths))
    return float((ops.argmax(logits, 1).asnumpy() == labels).mean())


def train(steps: int, batch_size: int, max_len: int, compiled: bool, seed: int) -> float:
    """Trains for ``steps`` batches of fresh data and returns the accuracy on 1000 held-out sequences."""
    ms.set_seed(seed)
    rng = np.random.default_rng(seed)
    net = OrderClassifier()
    step = nn.TrainOneStepCell(WithLoss(net), nn.Adam(net.trainable_params(), learning_rate=0.02))
    run = ms.jit(step) if compiled else step
    step.set_train()
    start = time.perf_counter()
    for i in range(steps):
        x, lengths, labels = make_data(batch_size, max_len, rng)
        loss = run(ms.Tensor(x), ms.Tensor(lengths), ms.Tensor(labels))
        if i % 50 == 0 or i == steps - 1:
            print(f"step {i:4d}  loss {float(loss.asnumpy()):.4f}")
    elapsed = time.perf_counter() - start
    print(f"trained {steps} steps in {elapsed:.1f} s ({'jit' if compiled else 'eager'})")
    return accuracy(net, *make_data(1000, max_len, np.random.default_rng(seed + 1)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eager", action="store_true", help="run each step eagerly (no ms.jit)")
    parser.add_argument("--device", choices=("CPU", "GPU", "SIM"), default=None,
                        help="device_target (SIM: the simulated CUDA device); default: gpucell's choice")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-len", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, default=0.95, help="the accuracy to reach (exit 1 below it)")
    args = parser.parse_args(argv)
    if args.device is not None:
        ms.set_context(device_target=args.device)
    print(f"gpucell {ms.__version__} on {ms.get_context('device_target')}: LSTM, which of 'A' and 'B' "
          f"comes first, sequences of {args.max_len // 2} to {args.max_len} steps")
    acc = train(args.steps, args.batch_size, args.max_len, not args.eager, args.seed)
    print(f"test accuracy: {acc:.3f}")
    return 0 if acc >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
