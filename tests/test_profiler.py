"""gpucell.profiler: per-op and per-Cell times, call counts, tables, Chrome traces, NVTX."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import gpucell as ms
from gpucell import nn, ops
from gpucell.nn import cell as cell_module
from gpucell.ops import _dispatch
from gpucell.profiler import profile, record_function


class Affine(nn.Cell):
    def __init__(self, n: int, device: str):
        super().__init__()
        self.w = ms.Parameter(ms.Tensor(np.full((n, n), 0.01, np.float32), device=device), name="w")

    def construct(self, x):
        return ops.matmul(x, self.w) + 1.0


class Net(nn.Cell):
    def __init__(self, n: int = 8, device: str = "CPU"):
        super().__init__()
        self.fc1 = Affine(n, device)
        self.fc2 = Affine(n, device)

    def construct(self, x):
        return self.fc2(self.fc1(x)) * 2.0


def _tensor(shape, device):
    return ms.Tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32), device=device)


def _hooks_are_empty():
    return (_dispatch.hooks.pre_observers == () and _dispatch.hooks.observers == ()
            and cell_module.call_observers.observers == ())


def test_ops_and_cells_are_counted_with_paths(device):
    net, x = Net(device=device), _tensor((4, 8), device)
    with profile() as prof:
        for _ in range(3):
            net(x)
    rows = {(r.kind, r.name): r for r in prof.key_averages()}
    assert rows[("cell", "Net")].calls == 3
    assert rows[("cell", "Net.fc1")].calls == 3 and rows[("cell", "Net.fc1")].type == "Affine"
    assert rows[("cell", "Net.fc2")].calls == 3
    assert rows[("op", "MatMul")].calls == 6
    assert rows[("op", "Add")].calls == 6
    assert rows[("op", "Mul")].calls == 3
    matmuls = [e for e in prof.events if e.name == "MatMul"]
    assert {e.scope for e in matmuls} == {"Net.fc1", "Net.fc2"}
    net_row = rows[("cell", "Net")]
    assert net_row.self_cpu_total < net_row.cpu_total
    assert _hooks_are_empty()


def _within_10_percent(run_once, attempts: int = 3):
    """``run_once() -> (profiled, wall)``; a shared CI machine can stall the process between two
    calls for longer than the whole region, so the claim holds if one of a few attempts shows it."""
    seen = []
    for _ in range(attempts):
        profiled, wall = run_once()
        seen.append((profiled, wall))
        if abs(profiled - wall) / wall < 0.10:
            return
    pytest.fail(f"profiled time and wall time differ by more than 10 % in every attempt: {seen}")


def test_profiler_totals_match_the_wall_time_on_cpu():
    # Ops long enough (about a millisecond) that the profiler's own few microseconds per call
    # between them stay far below the 10 % the test allows.
    a, b = _tensor((1024, 1024), "CPU"), _tensor((1024, 1024), "CPU")

    def run_once():
        start = time.perf_counter()
        with profile() as prof:
            for _ in range(20):
                c = ops.mul(a, b)
                c = ops.add(c, a)
        wall = time.perf_counter() - start
        assert prof.wall_time <= wall
        assert prof.total_time == pytest.approx(sum(r.cpu_total for r in prof.key_averages()))
        return sum(r.cpu_total for r in prof.key_averages() if r.kind == "op"), wall

    _within_10_percent(run_once)


def test_cell_total_matches_the_wall_time_on_cpu():
    net, x = Net(256), _tensor((256, 256), "CPU")

    def run_once():
        start = time.perf_counter()
        with profile() as prof:
            for _ in range(20):
                net(x)
        wall = time.perf_counter() - start
        return next(r.cpu_total for r in prof.key_averages() if r.name == "Net"), wall

    _within_10_percent(run_once)


def test_chrome_trace_is_valid_json_with_one_event_per_op_call(tmp_path, device):
    x = _tensor((16,), device)
    calls = 0
    with profile(record_shapes=True) as prof:
        for _ in range(5):
            y = x + x          # Add
            y = y * 3.0        # Mul
            y = ops.neg(y)     # Neg
            calls += 3
        with record_function("tail"):
            y = y - x          # Sub
            calls += 1
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(path)
    trace = json.loads(path.read_text())
    op_events = [e for e in trace["traceEvents"] if e.get("cat") == "op"]
    assert len(op_events) == calls
    assert [e["name"] for e in op_events[:3]] == ["Add", "Mul", "Neg"]
    for e in op_events:
        assert e["ph"] == "X" and e["dur"] >= 0 and e["ts"] >= 0
        assert e["args"]["shapes"][0] == [16]
    starts = [e["ts"] for e in op_events]
    assert starts == sorted(starts)
    user = [e for e in trace["traceEvents"] if e.get("cat") == "user"]
    assert [e["name"] for e in user] == ["tail"]
    assert op_events[-1]["ts"] >= user[0]["ts"]
    if device == "GPU":
        assert all("device_us" in e["args"] for e in op_events)


def test_table_is_sorted_by_total_and_limits_rows():
    a = _tensor((256, 256), "CPU")
    with profile() as prof:
        for _ in range(5):
            ops.matmul(a, a)
        ops.add(a, a)
    averages = prof.key_averages()
    text = averages.table(sort_by="total")
    lines = text.splitlines()
    assert lines[1].split()[:3] == ["Name", "Type", "Calls"]
    assert lines[3].startswith("MatMul") and lines[4].startswith("Add")
    assert "2 op calls" not in lines[-1] and "6 op calls, 0 Cell calls" in lines[-1]
    assert len(averages.table(row_limit=1).splitlines()) == 6
    by_calls = averages.table(sort_by="calls").splitlines()
    assert by_calls[3].startswith("MatMul")
    with pytest.raises(ValueError, match="sort_by"):
        averages.table(sort_by="speed")
    with pytest.raises(ValueError, match="kind"):
        averages.table(kind="layer")


def test_a_failing_op_inside_the_profile_is_not_counted_and_recording_goes_on():
    x = _tensor((4,), "CPU")
    with profile() as prof:
        with pytest.raises(TypeError):
            ops.add(x, "one")
        ops.add(x, x)
    names = [e.name for e in prof.events]
    assert names == ["Add"]
    assert _hooks_are_empty()


def test_a_failing_cell_leaves_the_parent_correct():
    class Boom(nn.Cell):
        def construct(self, x):
            raise ValueError("boom")

    class Outer(nn.Cell):
        def __init__(self):
            super().__init__()
            self.boom = Boom()

        def construct(self, x):
            try:
                self.boom(x)
            except ValueError:
                pass
            return x + 1.0

    with profile() as prof:
        Outer()(_tensor((2,), "CPU"))
        Outer()(_tensor((2,), "CPU"))
    rows = {r.name: r for r in prof.key_averages()}
    # Cell call observers are not told when a call raises, so the failed call is dropped when its
    # parent ends (an op run in between is attributed to the failed Cell's scope).
    assert set(rows) == {"Add", "Outer"}
    assert rows["Outer"].calls == 2 and rows["Add"].calls == 2
    assert _hooks_are_empty()


def test_hooks_are_removed_when_the_block_raises():
    with pytest.raises(KeyError), profile():
        raise KeyError("x")
    assert _hooks_are_empty()


def test_profiles_do_not_nest():
    with profile(), pytest.raises(RuntimeError, match="already active"), profile():
        pass
    assert _hooks_are_empty()
    with profile() as again:  # usable again afterwards
        _tensor((2,), "CPU") + 1.0
    assert [e.name for e in again.events] == ["Add"]


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="'nvtx'"):
        profile(nvtx="yes")
    with pytest.raises(TypeError, match="record_function"):
        record_function(3)


def test_nvtx_request_is_harmless_without_a_gpu():
    with profile(nvtx=True) as prof:
        Net()(_tensor((2, 8), "CPU"))
    assert [e.name for e in prof.events if e.kind == "cell"] == ["Net.fc1", "Net.fc2", "Net"]


def test_record_function_outside_a_profile_does_nothing():
    with record_function("idle"):
        _tensor((2,), "CPU") + 1.0


@pytest.mark.skipif(ms.memory_stats()["device"] == "GPU", reason="checks the CPU answer")
def test_peak_memory_is_none_on_cpu():
    with profile() as prof:
        _tensor((2,), "CPU") + 1.0
    assert prof.peak_memory is None
    assert "peak memory: n/a on the CPU" in prof.key_averages().table()


@pytest.mark.gpu
def test_gpu_device_times_and_peak_memory():
    x = _tensor((1024, 1024), "GPU")
    with profile(nvtx=True) as prof:
        for _ in range(3):
            y = ops.matmul(x, x)
        del y
    rows = {r.name: r for r in prof.key_averages()}
    assert rows["MatMul"].device_total is not None and rows["MatMul"].device_total > 0
    assert prof.peak_memory >= 2 * 4 * 1024 * 1024
    assert rows["MatMul"].peak_mem >= 4 * 1024 * 1024
    trace = prof.chrome_trace()
    assert sum(1 for e in trace["traceEvents"] if e.get("cat") == "device_op") == 3
    assert "Device total ms" in prof.key_averages().table()
