"""Overhead of one eager op: ``a + b`` on two 1024-element float32 tensors, no gradients, and
``p + b`` with ``p`` a Parameter whose gradient is being taken (the op records a graph node).

Baselines run in the same process, interleaved with gpucell's runs so machine noise hits both:
``numpy.add`` on the same arrays (the goals on the CPU: <= 2.4x of it without gradients, <= 5x
with recording), PyTorch when installed (``requires_grad`` for the second case), and on the GPU
raw ``cupy.add``.

    python benchmarks/op_overhead.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import gpucell as ms  # noqa: E402
from gpucell import backend  # noqa: E402
from gpucell.autograd.mode import recording  # noqa: E402

GOAL = 2.4
GOAL_WITH_GRAD = 5.0
GRAD_CASE = "gpucell p + b (grad)"


def _per_call_us(fn, calls: int, rounds: int) -> list[float]:
    """Per-call microseconds of ``fn`` in each of ``rounds`` timed rounds of ``calls`` calls."""
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - start) / calls * 1e6)
    return out


def measure(quick: bool) -> dict:
    calls, rounds = (2_000, 7) if quick else (20_000, 21)
    device = backend.get_device()
    host_a = np.random.default_rng(0).standard_normal(1024).astype(np.float32)
    host_b = np.random.default_rng(1).standard_normal(1024).astype(np.float32)
    a, b = ms.Tensor(host_a), ms.Tensor(host_b)
    xp = backend.xp_for(device)
    raw_a, raw_b = xp.asarray(host_a), xp.asarray(host_b)
    sync = backend.cupy.cuda.get_current_stream().synchronize if device == "GPU" else (lambda: None)

    param = ms.Parameter(ms.Tensor(host_a), name="p")
    candidates = {
        "gpucell a + b": lambda: a + b,
        GRAD_CASE: lambda: param + b,
        ("numpy.add" if device == "CPU" else "cupy.add"): lambda: xp.add(raw_a, raw_b),
    }
    # The grad case runs as inside grad / value_and_grad: recording on, the Parameter a leaf.
    contexts = {GRAD_CASE: lambda: recording(param)}
    try:
        import torch
        ta, tb = torch.from_numpy(host_a), torch.from_numpy(host_b)
        if device == "GPU" and torch.cuda.is_available():
            ta, tb = ta.cuda(), tb.cuda()
        tp = ta.clone().requires_grad_(True)
        candidates["torch a + b"] = lambda: ta + tb
        candidates["torch p + b (grad)"] = lambda: tp + tb
    except ImportError:
        pass

    for name, fn in candidates.items():  # warm-up: first-call costs, caches
        with contexts.get(name, contextlib.nullcontext)():
            _per_call_us(fn, calls // 10 + 1, 1)
    samples = {name: [] for name in candidates}
    for _ in range(rounds):  # interleave, so drift and noise fall on every candidate alike
        for name, fn in candidates.items():
            with contexts.get(name, contextlib.nullcontext)():
                samples[name] += _per_call_us(fn, calls, 1)
        sync()
    medians = {name: statistics.median(v) for name, v in samples.items()}
    baseline_name = "numpy.add" if device == "CPU" else "cupy.add"
    ours = medians["gpucell a + b"]
    rows = []
    for name, median in medians.items():
        rows.append({
            "case": name, "time_us": round(median, 3),
            "spread_us": round(statistics.pstdev(samples[name]), 3),
            "baseline": baseline_name, "ratio": round(median / medians[baseline_name], 3),
        })
    return {
        "benchmark": "op_overhead", "device": device, "quick": quick,
        "goal": (f"gpucell a + b <= {GOAL}x {baseline_name}, {GRAD_CASE} <= {GOAL_WITH_GRAD}x"
                 if device == "CPU" else "report only"),
        "ratio_vs_baseline": round(ours / medians[baseline_name], 3),
        "ratio_with_grad_vs_baseline": round(medians[GRAD_CASE] / medians[baseline_name], 3),
        "rows": rows,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (CI)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    result = measure(args.quick)
    print(f"op overhead on {result['device']} ({'quick' if args.quick else 'full'} run)")
    for row in result["rows"]:
        print(f"  {row['case']:<20} {row['time_us']:8.3f} us  (+-{row['spread_us']:.3f})  "
              f"{row['ratio']:6.2f}x {row['baseline']}")
    print(f"goal: {result['goal']}; measured {result['ratio_vs_baseline']:.2f}x and "
          f"{result['ratio_with_grad_vs_baseline']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
