"""benchmarks/_harness.py: queue-ahead timing against a fake GPU and a fake clock, the warm-up
that keeps a jit's capture out of the calibration, and the rows' timing fields."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import _harness as h  # noqa: E402
from gpucell import backend  # noqa: E402


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeEvent:
    def __init__(self, at: float):
        self.at = at  # when the GPU reaches it


class FakeGPU:
    """One stream: work runs in order, each item starting when it is queued or when the previous
    one ends, whichever is later. The host pays ``host_s`` per call; a filler may run short."""

    adaptive = True

    def __init__(self, clock: FakeClock, kernel_s: float, host_s: float, filler_scale: float = 1.0,
                 syncs: bool = False):
        self.clock, self.kernel_s, self.host_s = clock, kernel_s, host_s
        self.filler_scale, self.syncs = filler_scale, syncs
        self.busy_until = 0.0
        self.log: list = []

    def _queue(self, seconds: float) -> float:
        self.busy_until = max(self.busy_until, self.clock.now) + seconds
        return self.busy_until

    def filler(self, seconds: float) -> None:
        self.log.append(("filler", seconds))
        self._queue(seconds * self.filler_scale)

    def record(self) -> FakeEvent:
        self.log.append(("record",))
        return FakeEvent(self._queue(0.0))

    def done(self, event: FakeEvent) -> bool:
        return event.at <= self.clock.now

    def elapsed(self, start: FakeEvent, end: FakeEvent) -> float:
        return end.at - start.at

    def call(self) -> None:
        """The timed function: host time, then one kernel queued (or run and waited for)."""
        self.log.append(("call",))
        self.clock.now += self.host_s
        end = self._queue(self.kernel_s)
        if self.syncs:
            self.clock.now = max(self.clock.now, end)


def test_queued_batch_enqueues_the_filler_first_and_divides_by_n():
    clock = FakeClock()
    gpu = FakeGPU(clock, kernel_s=10e-6, host_s=30e-6)
    batch = h.queued_batch(gpu.call, 50, filler_s=5e-3, queue=gpu, clock=clock)
    assert gpu.log[0] == ("filler", 5e-3) and gpu.log[1] == ("record",)
    assert gpu.log[2:52] == [("call",)] * 50 and gpu.log[52] == ("record",) and len(gpu.log) == 53
    # The host took 1.5 ms to queue 50 calls, inside the 5 ms filler: the GPU ran them back to back.
    assert batch.per_call == pytest.approx(10e-6)
    assert batch.host == pytest.approx(50 * 30e-6)
    assert batch.starved is False


def test_a_short_filler_is_starved_and_times_the_host():
    clock = FakeClock()
    gpu = FakeGPU(clock, kernel_s=10e-6, host_s=30e-6)
    batch = h.queued_batch(gpu.call, 50, filler_s=0.5e-3, queue=gpu, clock=clock)
    assert batch.starved is True
    assert batch.per_call > 15e-6  # the host's pace, not the kernel's 10 us


def test_time_fn_queued_calibrates_on_gpu_time_after_two_warmups():
    clock = FakeClock()
    gpu = FakeGPU(clock, kernel_s=5e-6, host_s=20e-6)
    timing = h.time_fn(gpu.call, quick=True, queued=True, on_gpu=True, queue=gpu, clock=clock)
    assert gpu.log[:3] == [("call",), ("call",), ("filler", h.FILLER_MIN_S)]  # warm-up before any timing
    assert timing.method == "queue-ahead" and timing.starved == 0
    assert len(timing.samples) == h.QUICK_REPEAT
    # 2 ms of 5 us calls would be 400: capped so the launch queue never fills.
    assert timing.number == h.QUEUE_MAX_CALLS
    assert timing.median == pytest.approx(5e-6)
    fillers = [entry[1] for entry in gpu.log if entry[0] == "filler"]
    assert all(f >= 2 * h.QUEUE_MAX_CALLS * 20e-6 for f in fillers[1:])  # outlasts the host's queueing


def test_a_starved_repetition_is_retaken_behind_a_longer_filler():
    clock = FakeClock()
    # The filler runs a tenth of what was asked (a timer that ticks slower than assumed).
    gpu = FakeGPU(clock, kernel_s=5e-6, host_s=20e-6, filler_scale=0.1)
    timing = h.time_fn(gpu.call, quick=True, queued=True, on_gpu=True, number=100, queue=gpu, clock=clock)
    fillers = [entry[1] for entry in gpu.log if entry[0] == "filler"]
    assert max(fillers) >= 2 * fillers[1]  # lengthened
    assert timing.starved == 0 and timing.median == pytest.approx(5e-6)


def test_a_call_that_synchronizes_is_reported_starved():
    clock = FakeClock()
    gpu = FakeGPU(clock, kernel_s=5e-6, host_s=20e-6, syncs=True)
    timing = h.time_fn(gpu.call, quick=True, queued=True, on_gpu=True, number=10, queue=gpu, clock=clock)
    assert timing.starved == h.QUICK_REPEAT
    fillers = [entry[1] for entry in gpu.log if entry[0] == "filler"]
    # Each repetition is retaken once behind a longer filler; when the host has waited out even
    # that one, a longer one cannot help: the repetition is kept, counted, and the filler not grown.
    assert len(fillers) == 2 * (1 + h.QUICK_REPEAT)
    assert max(fillers) < 0.01


def test_no_retries_where_the_gpu_cannot_run_ahead():
    clock = FakeClock()
    gpu = FakeGPU(clock, kernel_s=5e-6, host_s=20e-6, syncs=True)
    gpu.adaptive = False  # the simulated device runs each call as it is queued
    timing = h.time_fn(gpu.call, quick=True, queued=True, on_gpu=True, number=10, queue=gpu, clock=clock)
    fillers = [entry[1] for entry in gpu.log if entry[0] == "filler"]
    assert len(fillers) == 1 + h.QUICK_REPEAT and timing.starved == h.QUICK_REPEAT


def test_warmup_keeps_a_jit_capture_out_of_the_calibration():
    calls = []

    def jitted():  # call 0 traces, call 1 warms up and captures: both slow; replays fast
        calls.append(None)
        if len(calls) <= 2:
            time.sleep(0.02)

    timing = h.time_fn(jitted, quick=True, on_gpu=False)
    assert timing.method == "host" and timing.number > 1
    assert timing.median < 1e-3


def test_compare_interleaves_and_rows_carry_the_timing():
    clock = FakeClock()
    fast = FakeGPU(clock, kernel_s=5e-6, host_s=20e-6)
    timings = h.compare({"a": fast.call, "b": fast.call}, quick=True, queued=True, on_gpu=True, number=20,
                        queue=fast, clock=clock)
    rows = h.rows_for(timings, "a")
    assert rows[1]["timing"] == "queue-ahead" and rows[1]["calls_per_sample"] == 20 and rows[1]["starved"] == 0
    assert rows[1]["ratio"] == pytest.approx(1.0)
    host_rows = h.rows_for({"x": h.Timing([1e-6, 2e-6])}, None)
    assert "timing" not in host_rows[0] and "starved" not in host_rows[0]


def test_goal_scale_turns_time_ratios_into_fractions():
    copy, kernel = h.Timing([1.0] * 5), h.Timing([1.0] * 5)
    g = h.goal(copy, kernel, 0.85, at_least=True, scale=13 / 8)  # 13 bytes moved where a copy moves 8
    assert g["value"] == pytest.approx(1.625) and g["met"] and g["interval"] == [1.625, 1.625]


@pytest.mark.gpu
@pytest.mark.parametrize("device", ["GPU"], indirect=True)
def test_queue_ahead_on_the_gpu(device):
    xp = backend.cupy
    n = 1 << 10 if backend.simulated() else 1 << 24
    a = xp.asarray(np.random.default_rng(0).standard_normal(n).astype(np.float32))
    timing = h.time_fn(lambda: a + a, quick=True, queued=True)
    assert timing.method == "queue-ahead" and timing.median > 0
    if backend.simulated():
        assert timing.starved == h.QUICK_REPEAT  # work runs as it is queued: no GPU to keep ahead
    else:
        assert timing.starved == 0, "the spin kernel did not keep the GPU ahead of the host"
        assert timing.median < 1e-3  # 128 MiB moved: about 40 us on an H100, not host dispatch
