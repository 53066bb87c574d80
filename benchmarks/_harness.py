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

Three clocks (a row's ``timing`` names the one used):

``host``         ``time.perf_counter`` around a batch of calls (the CPU; the scripts that measure
                 the host's own cost).
``events``       CUDA events around a batch of calls on the current stream: throughput, what a
                 training loop sees (the larger of the host's dispatch time and the GPU's time).
``queue-ahead``  the GPU's own time per call (:func:`queued_batch`): a spin kernel keeps the GPU
                 busy while the host queues an event, the N calls and an event behind it, so the
                 GPU then runs them back to back and (elapsed) / N excludes the host. Without it a
                 10-30 us kernel timed on its own measures Python's dispatch, not the kernel. A
                 sample whose filler ended before the host had queued the last call is
                 ``starved`` (the GPU may have waited for the host): the filler is lengthened and
                 the sample taken again; the count of samples still starved is reported.

Warm-up is two calls before anything is calibrated: a jitted function traces on call 0 and warms
up and captures its graph on call 1, and a calibration that saw call 1 would settle on one call
per repetition. On the simulated device (``GPUCELL_DEVICE=SIM``) events report host time: the
code paths are the GPU's, the figures are not GPU speed.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import numpy as _np  # noqa: E402

from gpucell import backend  # noqa: E402
from gpucell.backend import profiling as _dev  # noqa: E402

__all__ = [
    "CudaQueue",
    "QueuedBatch",
    "Timing",
    "compare",
    "cuda_queue",
    "goal",
    "goal_line",
    "paired_ratio",
    "peak_bytes",
    "device",
    "parse_args",
    "print_rows",
    "queued_batch",
    "rows_for",
    "simulated",
    "time_fn",
    "write_json",
]

# Repetitions and the least duration of one: enough in a quick run for a median that a busy CI
# machine does not swing by more than a few per cent.
QUICK_REPEAT, QUICK_BATCH_S = 9, 2e-3
FULL_REPEAT, FULL_BATCH_S = 21, 1e-2
WARMUP = 2  # calls before calibrating: a jitted function traces on call 0, captures on call 1
# Queue-ahead: at most this many calls behind one filler. CUDA queues about a thousand launches
# per stream before a launch call blocks the host; a call may launch several kernels.
QUEUE_MAX_CALLS = 200
# The filler lasts twice the host's time to queue a batch, plus a margin, within these bounds.
FILLER_MIN_S, FILLER_MAX_S, FILLER_MARGIN_S = 1e-3, 0.5, 5e-4
STARVED_RETRIES = 3


def device() -> str:
    """The device gpucell runs on here ("GPU" or "CPU")."""
    return backend.get_device()


def simulated() -> bool:
    """Whether the GPU is the simulated CUDA device (its figures are host time, not GPU speed)."""
    return backend.simulated()


class Timing:
    """Per-call times (seconds) of each repetition, with their median and interquartile range.

    ``method`` names the clock (see the module's docstring); ``number`` is the calls per
    repetition; ``starved`` (queue-ahead only) how many repetitions the host could not keep ahead.
    """

    __slots__ = ("samples", "method", "number", "starved")

    def __init__(self, samples: list[float], method: str | None = None, number: int | None = None,
                 starved: int | None = None):
        self.samples = samples
        self.method = method
        self.number = number
        self.starved = starved

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
        extra = f", {self.method}" if self.method else ""
        if self.starved:
            extra += f", {self.starved} starved"
        return (f"Timing(median={self.median * 1e6:.3f}us, spread={self.spread * 1e6:.3f}us, "
                f"n={len(self.samples)}{extra})")


# A kernel that keeps one thread busy for ``ns`` nanoseconds of the GPU's global timer, whatever
# the clock rate; clock64() bounds the spin should that timer not advance (4 cycles per ns: at most
# twice too long on a 2 GHz SM, never a hang). Benchmark tooling, not a gpucell kernel: it lives
# here, not in kernels/. The host emulator (the simulated device) has no timer register and runs
# each launch as it is queued, so there it returns at once.
_SPIN_SOURCE = r"""
extern "C" __global__ void gpucell_bench_spin(long long ns) {
#ifndef GPUCELL_EMULATOR
    unsigned long long start, now;
    const long long cycles = clock64();
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
    do {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    } while ((long long)(now - start) < ns && clock64() - cycles < 4 * ns);
#endif
}
"""


class CudaQueue:
    """What queue-ahead timing asks of the device, on the current stream: a filler kernel of a
    given duration, events, whether an event is done, the time between two events. Tests pass an
    object with the same methods and a fake clock."""

    def __init__(self):
        self._kernels: dict = {}

    @property
    def adaptive(self) -> bool:
        """Whether a longer filler can keep the GPU ahead of the host (not on the simulated device,
        which runs each call when it is queued)."""
        return not backend.simulated()

    def filler(self, seconds: float) -> None:
        cupy = backend.cupy
        kernel = self._kernels.get(cupy)
        if kernel is None:
            kernel = self._kernels[cupy] = cupy.RawKernel(_SPIN_SOURCE, "gpucell_bench_spin")
        kernel((1,), (1,), (_np.int64(int(seconds * 1e9)),))

    def record(self):
        return _dev.device_timer()

    def done(self, event) -> bool:
        return bool(event.done)

    def elapsed(self, start, end) -> float:
        return _dev.elapsed_seconds(start, end)


_queue: CudaQueue | None = None


def cuda_queue() -> CudaQueue:
    global _queue
    if _queue is None:
        _queue = CudaQueue()
    return _queue


class QueuedBatch(NamedTuple):
    """One queue-ahead repetition."""

    per_call: float  # the GPU's seconds per call
    host: float  # seconds the host took to queue the calls and the end event
    starved: bool  # the filler ended before the last call was queued: host time may be included


def queued_batch(fn, number: int, filler_s: float, queue=None, clock=time.perf_counter) -> QueuedBatch:
    """Times ``number`` calls of ``fn`` by the GPU's clock alone: filler, event, calls, event.

    The filler (a kernel spinning ``filler_s`` seconds) goes first on the current stream, so the
    start event and every call queue up behind it while the GPU is busy; once it ends the GPU runs
    them back to back, and (end - start) / number is the GPU's time per call, launch gaps between
    kernels included, the host's dispatch time not. If the start event is already done when the
    end event has been queued, the filler ended too early and the GPU may have waited for the host:
    the batch is ``starved``.
    """
    queue = cuda_queue() if queue is None else queue
    queue.filler(filler_s)
    begun = clock()
    start = queue.record()
    for _ in range(number):
        fn()
    end = queue.record()
    host = clock() - begun
    starved = queue.done(start)
    return QueuedBatch(queue.elapsed(start, end) / number, host, starved)


def _filler_for(host_s: float) -> float:
    """A filler that outlasts the host's queueing of a batch that took ``host_s`` last time."""
    return min(FILLER_MAX_S, max(FILLER_MIN_S, 2 * host_s + FILLER_MARGIN_S))


class _Sampler:
    """Times one candidate: calibrates the calls per repetition, then takes repetitions."""

    def __init__(self, fn, method: str, min_batch_s: float, number: int | None = None, queue=None,
                 clock=time.perf_counter):
        self.fn, self.method, self.min_batch_s = fn, method, min_batch_s
        self.number, self.queue, self.clock = number, queue, clock
        self.filler_s = FILLER_MIN_S
        self.starved = 0

    def calibrate(self) -> None:
        if self.method != "queue-ahead":
            if self.number is None:
                self.number = _calibrate(self.fn, self.method == "events", self.min_batch_s)
            return
        # One call behind a filler: its GPU time sets the calls per repetition, and its host time
        # the filler that keeps the GPU ahead of the host while they are queued. A call that
        # synchronizes starves any filler: then the shortest one wastes the least.
        probe = self._queued(1, count=False)
        if self.number is None:
            self.number = max(1, min(QUEUE_MAX_CALLS, math.ceil(self.min_batch_s / max(probe.per_call, 1e-9))))
        self.filler_s = FILLER_MIN_S if probe.starved else _filler_for(probe.host * self.number)

    def sample(self) -> float:
        if self.method == "queue-ahead":
            return self._queued(self.number).per_call
        return _batch(self.fn, self.number, self.method == "events")

    def _queued(self, number: int, count: bool = True) -> QueuedBatch:
        queue = cuda_queue() if self.queue is None else self.queue
        adaptive = getattr(queue, "adaptive", True)
        filler, lengthened = self.filler_s, False
        for attempt in range(STARVED_RETRIES + 1):
            batch = queued_batch(self.fn, number, filler, queue, self.clock)
            if not batch.starved or not adaptive:
                break
            if attempt and batch.host >= filler:
                break  # the host waited for the GPU (a call synchronizes): no filler can help
            # The filler ended early (the host was slower than last time, or the GPU's timer
            # runs short): at least double it, and retake the repetition.
            filler, lengthened = min(FILLER_MAX_S, max(2 * filler, _filler_for(batch.host))), True
        if adaptive and not batch.starved:
            # Sized on this batch's queueing time; a filler that had to be lengthened stays long.
            self.filler_s = max(_filler_for(batch.host), filler if lengthened else 0.0)
        if count and batch.starved:
            self.starved += 1
        return batch

    def timing(self, samples: list[float]) -> Timing:
        return Timing(samples, self.method, self.number,
                      self.starved if self.method == "queue-ahead" else None)


def _method(on_gpu: bool, queued: bool) -> str:
    if not on_gpu:
        return "host"
    return "queue-ahead" if queued else "events"


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
            on_gpu: bool | None = None, min_batch_s: float | None = None, queued: bool = False,
            warmup: int = WARMUP, queue=None, clock=time.perf_counter) -> Timing:
    """Times ``fn()``: ``warmup`` calls, then ``repeat`` repetitions of ``number`` calls each.

    ``number`` defaults to what makes a repetition last ``min_batch_s`` (2 ms quick, 10 ms full;
    at most ``QUEUE_MAX_CALLS`` queued); ``on_gpu`` (default: gpucell's device is the GPU) selects
    the GPU's clocks over perf_counter, and ``queued`` the GPU's own time (queue-ahead) over
    throughput (events around the batch). ``queue`` and ``clock`` replace the device and the host
    clock (tests).
    """
    return compare({"fn": fn}, quick=quick, repeat=repeat, number=number, on_gpu=on_gpu,
                   min_batch_s=min_batch_s, queued=queued, warmup=warmup, queue=queue, clock=clock)["fn"]


def compare(candidates: dict, *, quick: bool = False, repeat: int | None = None, number: int | None = None,
            on_gpu: bool | None = None, min_batch_s: float | None = None, queued: bool = False,
            warmup: int = WARMUP, queue=None, clock=time.perf_counter) -> dict[str, Timing]:
    """Times every ``name -> fn`` of ``candidates`` (options as :func:`time_fn`), interleaving
    their repetitions so that drift and noise of the machine fall on all of them alike."""
    on_gpu = device() == "GPU" if on_gpu is None else on_gpu
    repeat = repeat or (QUICK_REPEAT if quick else FULL_REPEAT)
    min_batch_s = min_batch_s or (QUICK_BATCH_S if quick else FULL_BATCH_S)
    method = _method(on_gpu, queued)
    samplers = {}
    for name, fn in candidates.items():
        for _ in range(warmup):  # first-call costs: compilation, caches, allocation, jit capture
            fn()
        samplers[name] = _Sampler(fn, method, min_batch_s, number, queue, clock)
        samplers[name].calibrate()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeat):
        for name, sampler in samplers.items():
            samples[name].append(sampler.sample())
    return {name: samplers[name].timing(s) for name, s in samples.items()}


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


def goal(a: Timing, b: Timing, limit: float, *, at_least: bool = False, scale: float = 1.0) -> dict:
    """A goal on ``scale * a / b`` (medians): at most ``limit`` (at least, with ``at_least``).
    ``met`` is judged on the ratio of the medians; ``paired`` and ``interval`` (see
    :func:`paired_ratio`) come with it, and ``clear`` says whether the whole interval is on the
    verdict's side. ``scale`` turns a time ratio into another figure (a fraction of bandwidth)."""
    value = scale * a.median / b.median
    paired, low, high = (scale * x for x in paired_ratio(a, b))
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
        row = {"case": name, "time_us": round(timing.median * 1e6, 3),
               "spread_us": round(timing.spread * 1e6, 3), "baseline": baseline,
               "ratio": round(timing.median / base, 3) if base else None}
        if timing.method is not None:
            row.update(timing=timing.method, calls_per_sample=timing.number)
        if timing.starved is not None:
            row["starved"] = timing.starved
        rows.append({**row, **extra})
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


def run_cli(doc: str, measure, title, argv=None) -> int:
    """A benchmark script's command line: :func:`parse_args` (described by the first line of
    ``doc``), ``measure(quick)``, its rows printed under ``title(result)`` and written to --json."""
    args = parse_args(doc.splitlines()[0], argv)
    result = measure(args.quick)
    print_rows(title(result), result["rows"])
    write_json(args.json, result)
    return 0


def print_rows(title: str, rows: list[dict]) -> None:
    print(title)
    width = max(len(r["case"]) for r in rows)
    for r in rows:
        ratio = f"{r['ratio']:7.2f}x {r['baseline']}" if r.get("ratio") is not None else ""
        spread = f"(+-{r['spread_us']:.3f})" if r.get("spread_us") is not None else ""
        print(f"  {r['case']:<{width}} {r['time_us']:12.3f} us {spread:>14}  {ratio}")
