"""Does a side stream that reads without an event see a write that is not finished? (device check)

    python benchmarks/_stream_probe.py [--quick] [--json PATH] [--trials N] [--log2 K]

Each trial: the caller's stream writes ``w = x * 0 + t`` (2^24 float32 elements on a GPU, two
kernels of tens of microseconds each), a side stream reads it (``r = w + 0``), the caller waits
for the side stream, and the elements of ``r`` that are not ``t`` are counted. ``ordered``: the
side stream first waits for an event recorded after the write; ``unordered``: it does not. CUDA
orders nothing between two streams by itself, so the unordered read can run before or during the
write and see what the block held before (CuPy's pool hands the previous trial's block back):
wrong elements. The ``writer delayed`` variants put a 1 ms spin kernel on the caller's stream
before the write, so an unordered read certainly runs first, and an ordered one must wait.

Verdicts: the ordered variants must never be wrong (a wrong result there is a bug in gpucell's
streams or events); the unordered ones show whether the race the simulated device reports (it
raises ``RaceError`` at the first unordered read) also corrupts data on this GPU. On the CPU
streams are no-ops and every variant is trivially right.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import gpucell as ms  # noqa: E402
from benchmarks import _harness as h  # noqa: E402

DELAY_S = 1e-3
VARIANTS = {  # name: (ordered, writer delayed)
    "ordered": (True, False),
    "ordered, writer delayed": (True, True),
    "unordered": (False, False),
    "unordered, writer delayed": (False, True),
}


def run_variant(x, caller, side, ordered: bool, delayed: bool, trials: int) -> dict:
    """Wrong trials and elements of one variant; a RaceError (the simulated device) ends it."""
    wrong_trials, worst, error = 0, 0, None
    done = 0
    start = time.perf_counter()
    try:
        for t in range(1, trials + 1):
            if delayed and h.device() == "GPU":
                h.cuda_queue().filler(DELAY_S)
            w = x * 0.0 + float(t)  # the write, on the caller's stream
            if ordered:
                side.wait_event(caller.record())
            with side:
                r = w + 0.0  # the read, on the side stream
            caller.wait_event(side.record())  # the check itself is ordered after the read
            bad = int((r != float(t)).astype(ms.int32).sum().asnumpy())
            done += 1
            if bad:
                wrong_trials += 1
                worst = max(worst, bad)
    except ms.RaceError as exc:  # the simulated device refuses the unordered read
        error = str(exc).splitlines()[0][:400]
    caller.synchronize()
    side.synchronize()
    return {"ordered": ordered, "writer_delayed": delayed, "trials": done, "wrong_trials": wrong_trials,
            "worst_wrong_elements": worst, "race_error": error, "seconds": round(time.perf_counter() - start, 3)}


def probe(log2: int, trials: int) -> dict:
    n = 1 << log2
    x = ms.Tensor(np.random.default_rng(0).standard_normal(n).astype(np.float32))
    caller, side = ms.current_stream(), ms.Stream()
    variants = {name: run_variant(x, caller, side, ordered, delayed, trials)
                for name, (ordered, delayed) in VARIANTS.items()}
    ordered_ok = all(v["wrong_trials"] == 0 and v["race_error"] is None and v["trials"] == trials
                     for v in variants.values() if v["ordered"])
    raced = {name: v["wrong_trials"] > 0 or v["race_error"] is not None
             for name, v in variants.items() if not v["ordered"]}
    return {"benchmark": "stream_probe", "device": h.device(), "simulated": h.simulated(), "n": n,
            "trials": trials, "variants": variants,
            "goals": {"ordered never wrong": {"value": sum(v["wrong_trials"] for v in variants.values()
                                                          if v["ordered"]),
                                              "limit": 0, "at_least": False, "met": ordered_ok}},
            "unordered_race_seen": raced}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials")
    parser.add_argument("--json", type=Path, help="write the result to this JSON file")
    parser.add_argument("--trials", type=int, help="trials per variant (default 200, 50 with --quick)")
    parser.add_argument("--log2", type=int, help="elements written, as a power of two (default 24; 10 on "
                                                 "the simulated device)")
    args = parser.parse_args(argv)
    trials = args.trials or (50 if args.quick else 200)
    log2 = args.log2 or (10 if h.simulated() or h.device() == "CPU" else 24)
    result = probe(log2, trials)
    print(f"two-stream probe on {result['device']}{' (simulated)' if result['simulated'] else ''}: "
          f"n=2^{log2}, {trials} trials per variant")
    for name, v in result["variants"].items():
        race = f", RaceError: {v['race_error'][:120]}" if v["race_error"] else ""
        print(f"  {name:<26} {v['wrong_trials']:>4} of {v['trials']} trials wrong "
              f"(worst {v['worst_wrong_elements']} elements){race}")
    verdict = result["goals"]["ordered never wrong"]
    print(f"goal ordered never wrong: {'met' if verdict['met'] else 'NOT met'}; race seen unordered: "
          f"{result['unordered_race_seen']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if verdict["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
