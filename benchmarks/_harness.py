"""Shared timing for the benchmark scripts: warm-up, repetitions, median and spread.

A benchmark script ``benchmarks/<name>.py`` (the runner ``benchmarks/run.py`` finds every one whose
name does not start with ``_``) accepts ``--quick`` (a short run, for CI) and ``--json PATH``, and
writes to PATH a JSON object with at least ``rows``: a list of dicts with

``case``      what was timed ("gpucell a + b", "cupy.add n=4096")
``time_us``   median time of one call, microseconds
``baseline``  the ``case`` this row is compared with (None for none)
``ratio``     ``time_us / time_us of baseline`` (None for none; < 1 is faster than the baseline)

and optionally ``spread_us`` (interquartile range), ``size`` (a number: the runner plots time
against it, one line per ``series``, default the case), ``series`` and ``peak_bytes`` (see
:func:`peak_bytes`; the runner's table shows it). Other top-level keys
(``device``, ``goal`` ...) are copied into the combined report as they are.

On the GPU the harness times with CUDA events on the current stream (the time the GPU took,
launch gaps included); on the CPU with ``time.perf_counter``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from gpucell import backend  # noqa: E402
from gpucell.backend import profiling as _dev  # noqa: E402

__all__ = [
    "Timing",
    "compare",
    "goal",
    "goal_line",
    "paired_ratio",
    "peak_bytes",
    "device",
    "parse_args",
    "print_rows",
    "rows_for",
    "time_fn",
    "write_json",
]

# Repetitions and the least duration of one: enough in a quick run for a median that a busy CI
# machine does not swing by more than a few per cent.
QUICK_REPEAT, QUICK_BATCH_S = 9, 2e-3
FULL_REPEAT, FULL_BATCH_S = 21, 1e-2


def device() -> str:
    """The device gpucell runs on here ("GPU" or "CPU")."""
    return backend.get_device()


class Timing:
    """Per-call times (seconds) of each repetition, with their median and interquartile range."""

    __slots__ = ("samples",)

    def __init__(self, samples: list[float]):
        self.samples = samples

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        if len(self.samples) < 4:
            return max(self.samples) - min(self.samples)
        q = statistics.quantiles(self.samples, n=4)
        return q[2] - q[0]

    def __repr__(self) -> str:
        return (f"Timing(median={self.median * 1e6:.3f}us, spread={self.spread * 1e6:.3f}us, "
                f"n={len(self.samples)})")


def _batch(fn, number: int, on_gpu: bool) -> float:
    """Seconds per call of ``number`` calls of ``fn``."""
    if on_gpu:
        start = _dev.device_timer()
        for _ in range(number):
            fn()
        return _dev.elapsed_seconds(start, _dev.device_timer()) / number
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def _calibrate(fn, on_gpu: bool, min_batch_s: float) -> int:
    """Calls per repetition so that one repetition lasts at least ``min_batch_s``."""
    number = 1
    while True:
        took = _batch(fn, number, on_gpu) * number
        if took >= min_batch_s or number >= 1 << 20:
            return number
        number = min(number * 10, max(number * 2, int(number * min_batch_s / max(took, 1e-9)) + 1))


def time_fn(fn, *, quick: bool = False, repeat: int | None = None, number: int | None = None,
            on_gpu: bool | None = None, min_batch_s: float | None = None) -> Timing:
    """Times ``fn()``: warm-up, then ``repeat`` repetitions of ``number`` calls each.

    ``number`` defaults to what makes a repetition last ``min_batch_s`` (2 ms quick, 10 ms full);
    ``on_gpu`` (default: gpucell's device is the GPU) selects CUDA events over perf_counter.
    """
    on_gpu = device() == "GPU" if on_gpu is None else on_gpu
    repeat = repeat or (QUICK_REPEAT if quick else FULL_REPEAT)
    min_batch_s = min_batch_s or (QUICK_BATCH_S if quick else FULL_BATCH_S)
    fn()  # first-call costs: compilation, caches, allocation
    number = number or _calibrate(fn, on_gpu, min_batch_s)
    return Timing([_batch(fn, number, on_gpu) for _ in range(repeat)])


def compare(candidates: dict, *, quick: bool = False, repeat: int | None = None,
            on_gpu: bool | None = None, min_batch_s: float | None = None) -> dict[str, Timing]:
    """Times every ``name -> fn`` of ``candidates``, interleaving their repetitions so that drift
    and noise of the machine fall on all of them alike."""
    on_gpu = device() == "GPU" if on_gpu is None else on_gpu
    repeat = repeat or (QUICK_REPEAT if quick else FULL_REPEAT)
    min_batch_s = min_batch_s or (QUICK_BATCH_S if quick else FULL_BATCH_S)
    numbers = {}
    for name, fn in candidates.items():
        fn()
        numbers[name] = _calibrate(fn, on_gpu, min_batch_s)
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeat):
        for name, fn in candidates.items():
            samples[name].append(_batch(fn, numbers[name], on_gpu))
    return {name: Timing(s) for name, s in samples.items()}


def peak_bytes(fn, on_gpu: bool | None = None, torch=None) -> int | None:
    """Bytes allocated at the peak of one call of ``fn``, above what was live before it.

    On the CPU through ``tracemalloc``, which sees NumPy's buffers (NumPy reports them to it) but
    not PyTorch's: pass ``torch`` for a PyTorch call and get None on the CPU. On the GPU through
    CuPy's pool (a memory hook, ``gpucell.backend.profiling.PoolPeak``), or PyTorch's allocator
    statistics for a PyTorch call.
    """
    import tracemalloc

    on_gpu = device() == "GPU" if on_gpu is None else on_gpu
    if torch is not None:
        if not on_gpu:
            return None
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return int(torch.cuda.max_memory_allocated() - base)
    if on_gpu:
        with _dev.PoolPeak() as watch:
            base = watch.current
            fn()
            return int(watch.peak - base)
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        fn()
        return int(tracemalloc.get_traced_memory()[1] - base)
    finally:
        if not tracing:
            tracemalloc.stop()


def paired_ratio(a: Timing, b: Timing, level: float = 0.95, resamples: int = 2000) -> tuple:
    """(median, low, high): the median over repetitions of ``a_i / b_i``, where ``a`` and ``b`` ran
    back to back in repetition i of :func:`compare`, with a percentile-bootstrap interval of that
    median at ``level``. The pairing cancels the slow drift of a shared machine, and the interval
    says how far the figure can be trusted."""
    ratios = [x / y for x, y in zip(a.samples, b.samples)]
    rng = random.Random(0)  # the same data gives the same interval
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(resamples))
    low = medians[int((1 - level) / 2 * resamples)]
    high = medians[int((1 + level) / 2 * resamples) - 1]
    return statistics.median(ratios), low, high


def goal(a: Timing, b: Timing, limit: float, *, at_least: bool = False) -> dict:
    """A goal on ``a / b`` (medians): at most ``limit`` (at least, with ``at_least``). ``met`` is
    judged on the ratio of the medians; ``paired`` and ``interval`` (see :func:`paired_ratio`)
    come with it, and ``clear`` says whether the whole interval is on the verdict's side."""
    value = a.median / b.median
    paired, low, high = paired_ratio(a, b)
    met = value >= limit if at_least else value <= limit
    inside = (low >= limit if at_least else high <= limit) if met else \
        (high < limit if at_least else low > limit)
    return {"value": round(value, 3), "limit": limit, "at_least": at_least, "met": met,
            "paired": round(paired, 3), "interval": [round(low, 3), round(high, 3)], "clear": inside}


def goal_line(label: str, g: dict) -> str:
    """One printed line for a :func:`goal`."""
    sign = ">=" if g["at_least"] else "<="
    verdict = "met" if g["met"] else "NOT met"
    if not g["clear"]:
        verdict += ", within the noise"
    low, high = g["interval"]
    return (f"goal {label}: {sign} {g['limit']}, measured {g['value']:.2f} ({verdict}); paired "
            f"{g['paired']:.2f}, 95% interval [{low:.2f}, {high:.2f}]")


def rows_for(timings: dict[str, Timing], baseline: str | None, **extra) -> list[dict]:
    """Contract rows for ``timings``, each compared with ``timings[baseline]``; ``extra`` (e.g.
    ``size=4096``) is added to every row."""
    base = timings[baseline].median if baseline is not None else None
    rows = []
    for name, timing in timings.items():
        rows.append({"case": name, "time_us": round(timing.median * 1e6, 3),
                     "spread_us": round(timing.spread * 1e6, 3), "baseline": baseline,
                     "ratio": round(timing.median / base, 3) if base else None, **extra})
    return rows


def parse_args(description: str, argv=None) -> argparse.Namespace:
    """``--quick`` and ``--json PATH``, the options every benchmark script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a short run (CI)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def write_json(path: Path | None, result: dict) -> None:
    if path is not None:
        Path(path).write_text(json.dumps(result, indent=2))


def print_rows(title: str, rows: list[dict]) -> None:
    print(title)
    width = max(len(r["case"]) for r in rows)
    for r in rows:
        ratio = f"{r['ratio']:7.2f}x {r['baseline']}" if r.get("ratio") is not None else ""
        spread = f"(+-{r['spread_us']:.3f})" if r.get("spread_us") is not None else ""
        print(f"  {r['case']:<{width}} {r['time_us']:12.3f} us {spread:>14}  {ratio}")
