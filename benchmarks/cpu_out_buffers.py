"""Does a CPU replay gain from preallocated ``out=`` buffers? The MLP step by hand, both ways.

The jit issue asked the CPU executor to replay plans "with preallocated output buffers (out=)".
This measures the idea before building it: the hand-written NumPy step of ``_mlp`` (a fresh
array per result) against the same step writing every matmul, ReLU and update temporary into
buffers allocated once (bound up front, no lookups), interleaved in one process. A ratio near
1.0 means NumPy's allocator already recycles those blocks (small arrays from its cache, large
ones from malloc's free lists, without page faults), and the executor keeps fresh arrays, which
also keeps it free of per-thread buffer sets and of outputs aliasing scratch memory.

    python benchmarks/cpu_out_buffers.py [--quick] [--json PATH]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # as the other step benchmarks (see mlp_step.py)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks import _harness as h  # noqa: E402
from benchmarks import _mlp  # noqa: E402
from benchmarks.mlp_step import STEP_BATCH_S  # noqa: E402


def _weights(sizes, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        out += [(rng.standard_normal((n_out, n_in)) * 0.05).astype(np.float32), np.zeros(n_out, np.float32)]
    return out


def buffered_step(weights: list[np.ndarray], batch_size: int):
    """``_mlp.numpy_step`` with every large temporary written into a buffer allocated here."""
    pairs = list(zip(weights[0::2], weights[1::2]))
    f32 = np.float32
    pre = [np.empty((batch_size, w.shape[0]), f32) for w, _ in pairs]
    post = [np.empty((batch_size, w.shape[0]), f32) for w, _ in pairs[:-1]]
    grad_w = [np.empty_like(w) for w, _ in pairs]
    grad_in = [np.empty((batch_size, w.shape[1]), f32) for w, _ in pairs]
    scaled = [np.empty_like(w) for w, _ in pairs]
    lr = f32(_mlp.LR)

    def step(x, y):
        acts = [x]
        for i, (w, b) in enumerate(pairs):
            h_ = np.matmul(acts[-1], w.T, out=pre[i])
            h_ += b
            if i < len(pairs) - 1:
                h_ = np.maximum(h_, 0, out=post[i])
            acts.append(h_)
        loss, g = _mlp.loss_and_grad(acts[-1], y)
        for i in range(len(pairs) - 1, -1, -1):
            w, b = pairs[i]
            gw = np.matmul(g.T, acts[i], out=grad_w[i])
            gb = g.sum(axis=0)
            if i:
                g = np.matmul(g, w, out=grad_in[i])
                g *= pre[i - 1] > 0
            w -= np.multiply(gw, lr, out=scaled[i])
            b -= lr * gb
        return loss

    return step


def measure(quick: bool) -> dict:
    rows = []
    for name, (sizes, batch_size) in _mlp.SIZES.items():
        x, y = _mlp.batch(sizes, batch_size)
        fresh = _mlp.numpy_step(_weights(sizes))
        buffered = buffered_step(_weights(sizes), batch_size)
        # Both update their own copy of the same weights: they compute the same numbers.
        assert fresh(x, y) == buffered(x, y)
        timings = h.compare({f"numpy fresh arrays {name}": lambda: fresh(x, y),
                             f"numpy out= buffers {name}": lambda: buffered(x, y)},
                            quick=quick, on_gpu=False, min_batch_s=STEP_BATCH_S[quick])
        rows += h.rows_for(timings, f"numpy fresh arrays {name}", size=sizes[0])
        for row in rows[-2:]:
            row["series"] = row["case"].rsplit(" ", 1)[0]
    return {"benchmark": "cpu_out_buffers", "device": "CPU", "quick": quick, "rows": rows}


def main(argv=None) -> int:
    args = h.parse_args(__doc__.splitlines()[0], argv)
    result = measure(args.quick)
    h.print_rows("MLP train step by hand in NumPy: fresh arrays against out= buffers", result["rows"])
    h.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
