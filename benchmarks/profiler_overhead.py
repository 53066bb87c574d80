"""What the profiler costs: one eager op and one Cell call, with no profile active and inside one.

With no profile the dispatch hooks are empty tuples (one check per op call and per Cell call), so
"off" should match ``op_overhead.py``'s figure; "on" shows the price of per-call timing.

    python benchmarks/profiler_overhead.py [--quick] [--json PATH]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402

import gpucell as ms  # noqa: E402
from gpucell import backend, nn  # noqa: E402
from gpucell.profiler import profile  # noqa: E402


class _Add(nn.Cell):
    def construct(self, x, y):
        return x + y


def measure(quick: bool) -> dict:
    device = h.device()
    rng = np.random.default_rng(0)
    host = rng.standard_normal((2, 1024)).astype(np.float32)
    a, b = ms.Tensor(host[0], device=device), ms.Tensor(host[1], device=device)
    xp = backend.xp_for(device)
    raw_a, raw_b = xp.asarray(host[0]), xp.asarray(host[1])
    cell = _Add()
    baseline = f"{xp.__name__}.add"
    off = h.compare({baseline: lambda: xp.add(raw_a, raw_b), "gpucell a + b, no profile": lambda: a + b,
                     "Cell call, no profile": lambda: cell(a, b)}, quick=quick)
    # Inside a profile every call is recorded: keep the profile short so it does not hold millions
    # of events, and time it separately (the same baseline is re-timed alongside).
    with profile():
        on = h.compare({baseline: lambda: xp.add(raw_a, raw_b), "gpucell a + b, profiling": lambda: a + b,
                        "Cell call, profiling": lambda: cell(a, b)}, quick=True)
    rows = h.rows_for(off, baseline)
    base_off = off[baseline].median
    for row in h.rows_for(on, baseline)[1:]:
        rows.append(row)
    ratio_off = off["gpucell a + b, no profile"].median / base_off
    return {"benchmark": "profiler_overhead", "device": device, "quick": quick,
            "goal": "profile off: the op costs what op_overhead.py measures (<= 2.4x numpy.add on the CPU)",
            "ratio_vs_baseline": round(ratio_off, 3), "rows": rows}


def main(argv=None) -> int:
    args = h.parse_args(__doc__.splitlines()[0], argv)
    result = measure(args.quick)
    h.print_rows(f"profiler overhead on {result['device']} ({'quick' if args.quick else 'full'} run)",
                 result["rows"])
    h.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
