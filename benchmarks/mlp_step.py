"""An eager MLP training step on gpucell against a hand-written NumPy step (and PyTorch).

The canonical MindSpore loop (``value_and_grad`` + optimizer) for 784-512-512-10 at batch 64 and
64-128-128-10 at batch 32, timed in one process against the same step written by hand in NumPy
over the same weights. Goals on a 2-core CPU: <= 1.15x (large) and <= 3x (small) the NumPy step.
Each row also has the peak memory one step allocates (``_harness.peak_bytes``).

    python benchmarks/mlp_step.py [--quick] [--json PATH]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Every candidate runs its BLAS and PyTorch's kernels on one thread (set before NumPy loads). On
# a 2-core machine, idle BLAS / OpenMP workers spin after each call and slow whichever candidate
# runs next, so multi-threaded timings measure the interleaving order, not the frameworks.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import gpucell as ms  # noqa: E402
from benchmarks import _harness as h  # noqa: E402
from benchmarks import _mlp  # noqa: E402

GOALS = {"large": 1.15, "small": 3.0}
# Seconds per repetition (quick, full): long enough that switching between candidates, whose
# weights and buffers then have to come back into the caches, is a small part of each repetition.
STEP_BATCH_S = {True: 2e-3, False: 5e-2}


def measure(quick: bool) -> dict:
    rows, verdicts = [], {}
    for name, (sizes, batch_size) in _mlp.SIZES.items():
        x_host, y_host = _mlp.batch(sizes, batch_size)
        net, step = _mlp.gpucell_model(sizes)
        x, y = ms.Tensor(x_host), ms.Tensor(y_host)
        candidates = {f"gpucell eager {name}": lambda: step(x, y)}
        if h.device() == "CPU":
            candidates[f"numpy by hand {name}"] = (
                lambda s=_mlp.numpy_step(_mlp.weights_of(net)): s(x_host, y_host))
        made = _mlp.torch_step(_mlp.weights_of(net), cuda=h.device() == "GPU")
        torch = None
        if made is not None:
            torch_step, torch = made
            tx = torch.from_numpy(x_host).to("cuda" if h.device() == "GPU" else "cpu")
            ty = torch.from_numpy(y_host).long().to(tx.device)
            candidates[f"torch eager {name}"] = lambda: torch_step(tx, ty)
        baseline = f"numpy by hand {name}" if h.device() == "CPU" else f"torch eager {name}"
        baseline = baseline if baseline in candidates else None
        peaks = {case: h.peak_bytes(fn, torch=torch if case.startswith("torch") else None)
                 for case, fn in candidates.items()}
        timings = h.compare(candidates, quick=quick, min_batch_s=STEP_BATCH_S[quick])
        rows += h.rows_for(timings, baseline, size=sizes[0])
        for row in rows[-len(timings):]:  # one plotted line per implementation, over the two models
            row["series"] = row["case"].rsplit(" ", 1)[0]
            row["peak_bytes"] = peaks[row["case"]]
        if baseline is not None and h.device() == "CPU":
            verdicts[name] = h.goal(timings[f"gpucell eager {name}"], timings[baseline], GOALS[name])
    return {"benchmark": "mlp_step", "device": h.device(), "quick": quick, "goals": verdicts, "rows": rows}


def main(argv=None) -> int:
    args = h.parse_args(__doc__.splitlines()[0], argv)
    result = measure(args.quick)
    h.print_rows(f"MLP train step, eager, on {result['device']}", result["rows"])
    for name, verdict in result["goals"].items():
        print(h.goal_line(f"{name} eager / numpy by hand", verdict))
    h.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
