"""Two independent branches, each on its own stream, forward and backward (DESIGN.md invariant 7).

``x -> tanh(x @ w1)`` and ``x -> sigmoid(x @ w2)`` joined by a product; the gradient step runs
once with both branches on the caller's stream and once with each on a stream of its own (the
engine runs each node's backward on its forward's stream, ordered by events). On the GPU the
second is faster when the branches overlap; the report also gives an event timeline of one
two-stream step (start and end of each branch's forward, milliseconds from the step's start).
On the GPU both are the GPU's own time per step (queue-ahead timing, ``_harness.queued_batch``):
a step's Python (autograd, dispatch) takes longer than its kernels at n=512, and timed as
throughput both cases would measure the host. The timeline's step is queued behind a filler
kernel for the same reason. On the CPU streams are no-ops and the two cases are the same work.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _harness  # noqa: E402

import gpucell as ms  # noqa: E402
from gpucell import ops  # noqa: E402


def _setup(n: int):
    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.standard_normal((n, n)), ms.float32)
    w1 = ms.Parameter(ms.Tensor(rng.standard_normal((n, n)) / n ** 0.5, ms.float32), name="w1")
    w2 = ms.Parameter(ms.Tensor(rng.standard_normal((n, n)) / n ** 0.5, ms.float32), name="w2")
    return x, w1, w2


def _step(x, w1, w2, s1, s2, timeline=None):
    def loss(inp):
        marks = timeline if timeline is not None else {}
        caller = ms.current_stream()
        forked = caller.record()  # the branches start after the caller's work so far ...
        s1.wait_event(forked)
        s2.wait_event(forked)
        with s1:
            marks["branch1 start"] = s1.record()
            a = ops.tanh(ops.matmul(inp, w1))
            marks["branch1 end"] = s1.record()
        with s2:
            marks["branch2 start"] = s2.record()
            b = ops.sigmoid(ops.matmul(inp, w2))
            marks["branch2 end"] = s2.record()
        caller.wait_event(marks["branch1 end"])  # ... and the caller waits for both before the product
        caller.wait_event(marks["branch2 end"])
        return (a * b).sum()
    return ms.value_and_grad(loss, None, [w1, w2])(x)


def main(argv=None) -> int:
    args = _harness.parse_args(__doc__.splitlines()[0], argv)
    n = 64 if _harness.simulated() else 512 if args.quick else 2048  # the simulator emulates every block
    x, w1, w2 = _setup(n)
    caller = ms.current_stream()
    s1, s2 = ms.Stream(), ms.Stream()
    on_gpu = _harness.device() == "GPU"
    timings = _harness.compare({
        f"one stream n={n}": lambda: _step(x, w1, w2, caller, caller),
        f"two streams n={n}": lambda: _step(x, w1, w2, s1, s2),
    }, quick=args.quick, queued=on_gpu)
    rows = _harness.rows_for(timings, f"one stream n={n}")
    result = {"benchmark": "stream_overlap", "device": _harness.device(), "simulated": _harness.simulated(),
              "rows": rows, "goal": "two streams faster than one on the GPU (branches overlap); equal on the CPU"}
    if on_gpu:
        _harness.cuda_queue().filler(0.02)  # the step's launches queue up, then run at the GPU's pace
        start = caller.record()
        marks = {}
        _step(x, w1, w2, s1, s2, marks)
        caller.synchronize()
        start.synchronize()
        result["timeline_ms"] = {name: round(ms.backend.cupy.cuda.get_elapsed_time(start.raw, e.raw), 4)
                                 for name, e in marks.items()}
    _harness.print_rows("stream overlap", rows)
    if "timeline_ms" in result:
        print("timeline (ms):", result["timeline_ms"])
    _harness.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
