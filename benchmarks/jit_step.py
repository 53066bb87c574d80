"""The MLP training step under ``gpucell.jit`` against eager gpucell, hand-written NumPy and PyTorch.

One process, the same weights, the canonical MindSpore loop (``value_and_grad`` + optimizer) with
the whole step jitted. Goals: CPU small MLP (64-128-128-10, batch 32) <= 1.5x the NumPy step and
>= 2x faster than eager; large MLP (784-512-512-10, batch 64) <= 1.05x NumPy. GPU small MLP >= 10x
faster than eager, faster than PyTorch eager and no slower than PyTorch with a CUDA graph; large
MLP within 1.25x of PyTorch eager.

    python benchmarks/jit_step.py [--quick] [--json PATH]
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
from benchmarks.mlp_step import STEP_BATCH_S  # noqa: E402
from gpucell.jit import cache_info  # noqa: E402


def _goals(name: str, t: dict, on_gpu: bool) -> dict:
    jit, eager = t[f"gpucell jit {name}"], t[f"gpucell eager {name}"]
    goals = {}
    if not on_gpu:
        goals["jit / numpy"] = h.goal(jit, t[f"numpy by hand {name}"], 1.5 if name == "small" else 1.05)
        if name == "small":
            goals["eager / jit (speed-up)"] = h.goal(eager, jit, 2.0, at_least=True)
    else:
        torch_eager = t.get(f"torch eager {name}")
        if name == "small":
            goals["eager / jit (speed-up)"] = h.goal(eager, jit, 10.0, at_least=True)
            if torch_eager is not None:
                goals["jit / torch eager"] = h.goal(jit, torch_eager, 1.0)
            graphed = t.get(f"torch cuda-graph {name}")
            if graphed is not None:
                goals["jit / torch cuda-graph"] = h.goal(jit, graphed, 1.0)
        elif torch_eager is not None:
            goals["jit / torch eager"] = h.goal(jit, torch_eager, 1.25)
    return goals


def measure(quick: bool) -> dict:
    on_gpu = h.device() == "GPU"
    rows, goals = [], {}
    for name, (sizes, batch_size) in _mlp.SIZES.items():
        x_host, y_host = _mlp.batch(sizes, batch_size)
        net, step = _mlp.gpucell_model(sizes)
        jitted = ms.jit(step)
        x, y = ms.Tensor(x_host), ms.Tensor(y_host)
        candidates = {f"gpucell jit {name}": lambda: jitted(x, y),
                      f"gpucell eager {name}": lambda: step(x, y)}
        weights = _mlp.weights_of(net)
        if not on_gpu:
            candidates[f"numpy by hand {name}"] = (
                lambda s=_mlp.numpy_step(weights): s(x_host, y_host))
        made = _mlp.torch_step(weights, cuda=on_gpu)
        if made is not None:
            torch_step, torch = made
            tx = torch.from_numpy(x_host).to("cuda" if on_gpu else "cpu")
            ty = torch.from_numpy(y_host).long().to(tx.device)
            candidates[f"torch eager {name}"] = lambda: torch_step(tx, ty)
        if on_gpu:
            graphed = _mlp.torch_graphed_step(weights, x_host, y_host)
            if graphed is not None:
                candidates[f"torch cuda-graph {name}"] = graphed
        timings = h.compare(candidates, quick=quick, min_batch_s=STEP_BATCH_S[quick])
        rows += h.rows_for(timings, f"gpucell eager {name}", size=sizes[0])
        for row in rows[-len(timings):]:  # one plotted line per implementation, over the two models
            row["series"] = row["case"].rsplit(" ", 1)[0]
        goals[name] = _goals(name, timings, on_gpu)
    info = cache_info()
    return {"benchmark": "jit_step", "device": h.device(), "quick": quick, "goals": goals,
            "cache": info._asdict(), "rows": rows}


def main(argv=None) -> int:
    args = h.parse_args(__doc__.splitlines()[0], argv)
    result = measure(args.quick)
    h.print_rows(f"MLP train step under jit, on {result['device']}", result["rows"])
    for name, goals in result["goals"].items():
        for label, g in goals.items():
            print(h.goal_line(f"{name} {label}", g))
    print(f"plan cache: {result['cache']}")
    h.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
