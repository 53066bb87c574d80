"""``gpucell.profiler``: where the time of a network goes, per op and per Cell.

>>> import gpucell as ms
>>> from gpucell import nn, ops
>>> class Net(nn.Cell):
...     def construct(self, x):
...         return ops.mul(x + 1.0, x)
>>> net, x = Net(), ms.Tensor([1.0, 2.0])
>>> with ms.profiler.profile() as prof:
...     y = net(x)
>>> sorted(row.name for row in prof.key_averages())
['Add', 'Mul', 'Net']
>>> print(prof.key_averages().table(sort_by="total"))  # doctest: +SKIP
>>> prof.export_chrome_trace("trace.json")  # doctest: +SKIP

Each op call is timed around ``ops._dispatch.apply`` (dispatch, forward, autograd recording) and
each Cell call around ``Cell.__call__``; on the GPU a pair of CUDA events also times the work the
call put on its stream. With ``nvtx=True`` every Cell call and op call is an NVTX range named by
the Cell's path (``Net.fc1 (Dense)``) or the op (``MatMul``), which Nsight Systems shows as the
model's structure. When no profile is active the hooks are empty tuples: one check per call.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator

import numpy as np

from gpucell import backend
from gpucell.backend import device_info
from gpucell.backend import profiling as _dev
from gpucell.nn import cell as _cell
from gpucell.ops import _dispatch
from gpucell.tensor import Tensor

__all__ = ["FunctionEvent", "KeyAverages", "Row", "profile", "record_function"]

_perf = time.perf_counter
_active: profile | None = None


class FunctionEvent:
    """One call: an op, a Cell or a ``record_function`` block. Times are in seconds."""

    __slots__ = (
        "_cell",
        "_ev0",
        "_ev1",
        "_nvtx",
        "child",
        "cpu",
        "depth",
        "device",
        "device_start",
        "kind",
        "mem",
        "name",
        "scope",
        "shapes",
        "start",
        "type",
    )

    def __init__(self, kind: str, name: str, type_: str, scope: str, nvtx: bool):
        self.kind = kind          # "op", "cell" or "user"
        self.name = name          # op name, Cell path or record_function label
        self.type = type_         # op name, Cell class name or "user"
        self.scope = scope        # path of the Cell the call ran in ("" at top level)
        self.start = 0.0
        self.cpu = 0.0            # host time of the whole call
        self.child = 0.0          # host time of the calls it made
        self.device = None        # GPU time between its CUDA events (None on the CPU)
        self.device_start = None
        self.mem = None           # bytes live in CuPy's pool when it ended (GPU only)
        self.shapes = None
        self.depth = 0            # calls open around it when it began
        self._ev0 = self._ev1 = None
        self._nvtx = nvtx
        self._cell = None

    @property
    def self_cpu(self) -> float:
        """Host time not spent in the calls it made."""
        return self.cpu - self.child

    def __repr__(self) -> str:
        return f"FunctionEvent({self.kind} {self.name!r}, cpu={self.cpu * 1e6:.1f}us)"


class Row:
    """The calls of one name added up (one line of :meth:`KeyAverages.table`)."""

    __slots__ = (
        "calls",
        "cpu_total",
        "device_total",
        "kind",
        "name",
        "peak_mem",
        "self_cpu_total",
        "type",
    )

    def __init__(self, kind: str, name: str, type_: str):
        self.kind, self.name, self.type = kind, name, type_
        self.calls = 0
        self.cpu_total = 0.0
        self.self_cpu_total = 0.0
        self.device_total = None
        self.peak_mem = None

    @property
    def cpu_avg(self) -> float:
        return self.cpu_total / self.calls

    @property
    def device_avg(self) -> float | None:
        return None if self.device_total is None else self.device_total / self.calls

    @property
    def total(self) -> float:
        """Device time where there is one (the GPU), else host time."""
        return self.cpu_total if self.device_total is None else self.device_total

    def __repr__(self) -> str:
        return f"Row({self.kind} {self.name!r}, calls={self.calls}, total={self.total * 1e3:.3f}ms)"


_SORT_KEYS = {
    "total": lambda r: r.total, "cpu": lambda r: r.cpu_total, "self": lambda r: r.self_cpu_total,
    "device": lambda r: r.device_total or 0.0, "calls": lambda r: r.calls,
    "avg": lambda r: r.total / r.calls, "name": lambda r: r.name,
}


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3f}"


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.2f} MiB"


class KeyAverages(list):
    """The rows of a profile, one per op name and per Cell path."""

    def __init__(self, rows, wall: float, footer: str):
        super().__init__(rows)
        self.wall = wall
        self.footer = footer

    def table(self, sort_by: str = "total", row_limit: int | None = None, kind: str | None = None) -> str:
        """Text table sorted by ``sort_by`` (descending): total, cpu, self, device, calls, avg, name.

        ``total`` is device time on the GPU and host time on the CPU. ``kind`` keeps only
        ``"op"``, ``"cell"`` or ``"user"`` rows.
        """
        if sort_by not in _SORT_KEYS:
            raise ValueError(f"For 'KeyAverages.table', 'sort_by' must be one of {sorted(_SORT_KEYS)}, "
                             f"but got {sort_by!r}.")
        if kind not in (None, "op", "cell", "user"):
            raise ValueError(f"For 'KeyAverages.table', 'kind' must be None, 'op', 'cell' or 'user', "
                             f"but got {kind!r}.")
        rows = [r for r in self if kind is None or r.kind == kind]
        rows.sort(key=_SORT_KEYS[sort_by], reverse=sort_by != "name")
        if row_limit is not None:
            rows = rows[:row_limit]
        on_device = any(r.device_total is not None for r in rows)
        head = ["Name", "Type", "Calls", "Host total ms", "Host self ms", "Host avg us"]
        if on_device:
            head += ["Device total ms", "Device avg us", "Peak mem"]
        head.append("% wall")
        body = []
        for r in rows:
            line = [r.name, r.type if r.kind == "cell" else r.kind, str(r.calls), _ms(r.cpu_total),
                    _ms(r.self_cpu_total),
                    f"{r.cpu_avg * 1e6:.1f}"]
            if on_device:
                line += [_ms(r.device_total),
                         "-" if r.device_avg is None else f"{r.device_avg * 1e6:.1f}", _mib(r.peak_mem)]
            line.append(f"{100 * r.total / self.wall:.1f}" if self.wall > 0 else "-")
            body.append(line)
        widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head))]
        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))

        def fmt(row):
            return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

        return "\n".join([rule, fmt(head), rule, *map(fmt, body), rule, self.footer])

    def __str__(self) -> str:
        return self.table()


class profile:
    """Context manager recording every op call and Cell call made in its block (this thread).

    ``nvtx``: also emit NVTX ranges (GPU only). ``record_shapes``: keep each op's input shapes
    (in the Chrome trace). After the block: :meth:`key_averages`, :meth:`export_chrome_trace`,
    ``events``, ``wall_time`` (seconds), ``peak_memory`` (bytes live in CuPy's pool at their
    highest, None on the CPU). Profiles do not nest.
    """

    def __init__(self, *, nvtx: bool = False, record_shapes: bool = False):
        if not isinstance(nvtx, bool) or not isinstance(record_shapes, bool):
            raise TypeError(f"For 'profile', 'nvtx' and 'record_shapes' must be bool, but got "
                            f"{nvtx!r} and {record_shapes!r}.")
        self.nvtx = nvtx and _dev.nvtx_available()
        self.record_shapes = record_shapes
        self.events: list[FunctionEvent] = []
        self.wall_time = 0.0
        self.peak_memory: int | None = None
        self.device = "CPU"
        self._stack: list[FunctionEvent] = []
        self._names: dict[tuple[int, int], str] = {}
        self._tid = 0
        self._t0 = 0.0
        self._ev0 = None
        self._pool = None
        self._gpu = False
        self._saw_gpu = False

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> profile:  # noqa: PYI034 - typing.Self needs Python 3.11
        global _active
        if _active is not None:
            raise RuntimeError("For 'profile', another profile is already active; profiles do not nest.")
        _active = self
        self.device = backend.get_device()
        # Device timing wherever a GPU is usable, whatever the default device: GPU tensors can be
        # used with a CPU default (the base event must exist for every device-timed op).
        self._gpu = backend.gpu_available()
        self._saw_gpu = False
        self._tid = threading.get_ident()
        self._pool = _dev.PoolPeak().__enter__()
        hooks = _dispatch.hooks
        hooks.pre_observers = hooks.pre_observers + (self._op_begin,)
        hooks.observers = hooks.observers + (self._op_end,)
        _cell.call_observers.observers = _cell.call_observers.observers + (self._cell_begin,)
        _dev.synchronize()
        if self._gpu:
            self._ev0 = _dev.device_timer()
        self._t0 = _perf()
        return self

    def __exit__(self, *exc) -> None:
        global _active
        _dev.synchronize()
        self.wall_time = _perf() - self._t0
        hooks = _dispatch.hooks
        hooks.pre_observers = tuple(f for f in hooks.pre_observers if f != self._op_begin)
        hooks.observers = tuple(f for f in hooks.observers if f != self._op_end)
        _cell.call_observers.observers = tuple(
            f for f in _cell.call_observers.observers if f != self._cell_begin)
        while self._stack:  # calls that raised, or a block left from inside a Cell
            self._discard(self._stack.pop())
        self._pool.__exit__(*exc)
        self.peak_memory = self._pool.peak if self._saw_gpu or self.device == "GPU" else None
        for event in self.events:
            if event._ev1 is not None:
                event.device = _dev.elapsed_seconds(event._ev0, event._ev1)
                event.device_start = _dev.elapsed_seconds(self._ev0, event._ev0)
            event._ev0 = event._ev1 = event._cell = None
        self._ev0 = None
        _active = None

    # -- recording -----------------------------------------------------------------------------
    def _scope(self) -> tuple[str, object]:
        for frame in reversed(self._stack):
            if frame.kind == "cell":
                return frame.name, frame._cell
        return "", None

    def _push(self, event: FunctionEvent, timed_on_device: bool) -> None:
        if event._nvtx:
            _dev.nvtx_push(event.name if event.kind != "cell" else f"{event.name} ({event.type})")
        if timed_on_device:
            self._saw_gpu = True
            event._ev0 = _dev.device_timer()
        event.depth = len(self._stack)
        self._stack.append(event)
        event.start = _perf()

    def _pop(self, event: FunctionEvent) -> None:
        end = _perf()
        stack = self._stack
        while stack and stack[-1] is not event:  # left open by a call that raised
            self._discard(stack.pop())
        if not stack:
            return
        stack.pop()
        event.cpu = end - event.start
        event.start -= self._t0
        if event._ev0 is not None:
            event._ev1 = _dev.device_timer()
            event.mem = self._pool.current
        if event._nvtx:
            _dev.nvtx_pop()
        if stack:
            stack[-1].child += event.cpu
        self.events.append(event)

    def _discard(self, event: FunctionEvent) -> None:
        if event._nvtx:
            _dev.nvtx_pop()

    def _op_begin(self, op, inputs, attrs) -> None:
        if threading.get_ident() != self._tid:
            return
        event = FunctionEvent("op", op.name, op.name, self._scope()[0], self.nvtx)
        on_gpu = False
        for x in inputs:
            if isinstance(x, Tensor):
                on_gpu = not isinstance(x._data, np.ndarray)
                break
        if self.record_shapes:
            event.shapes = [list(x.shape) if isinstance(x, Tensor) else None for x in inputs]
        self._push(event, on_gpu and self._gpu)

    def _op_end(self, op, inputs, outputs, attrs) -> None:
        if threading.get_ident() != self._tid:
            return
        for frame in reversed(self._stack):
            if frame.kind == "op" and frame.type == op.name:
                self._pop(frame)
                return

    def _cell_begin(self, cell):
        if threading.get_ident() != self._tid:
            return None
        scope, parent = self._scope()
        kind = type(cell).__name__
        if parent is None:
            name = kind
        else:
            key = (id(parent), id(cell))
            child = self._names.get(key)
            if child is None:
                child = next((n for n, c in parent._cells.items() if c is cell), kind)
                self._names[key] = child
            name = f"{scope}.{child}"
        event = FunctionEvent("cell", name, kind, scope, self.nvtx)
        event._cell = cell
        self._push(event, self._gpu and self.device == "GPU")
        return lambda output: self._pop(event)

    # -- results -------------------------------------------------------------------------------
    def key_averages(self) -> KeyAverages:
        """One :class:`Row` per op name and per Cell path, with totals, self time and call counts."""
        rows: dict[tuple[str, str], Row] = {}
        for e in self.events:
            row = rows.get((e.kind, e.name))
            if row is None:
                row = rows[(e.kind, e.name)] = Row(e.kind, e.name, e.type)
            row.calls += 1
            row.cpu_total += e.cpu
            row.self_cpu_total += e.self_cpu
            if e.device is not None:
                row.device_total = (row.device_total or 0.0) + e.device
            if e.mem is not None:
                row.peak_mem = max(row.peak_mem or 0, e.mem)
        return KeyAverages(rows.values(), self.wall_time, self._footer())

    @property
    def total_time(self) -> float:
        """Host time of the outermost calls: what the profile accounts for of ``wall_time``."""
        return sum(e.cpu for e in self.events if e.depth == 0)

    def _footer(self) -> str:
        ops = sum(1 for e in self.events if e.kind == "op")
        cells = sum(1 for e in self.events if e.kind == "cell")
        share = f"{100 * self.total_time / self.wall_time:.1f}%" if self.wall_time > 0 else "-"
        memory = (f"peak memory {_mib(self.peak_memory)} live in CuPy's pool" if self.peak_memory is not None
                  else "peak memory: n/a on the CPU (NumPy has no pool)")
        return (f"{self.device}: wall {self.wall_time * 1e3:.3f} ms, profiled calls cover "
                f"{self.total_time * 1e3:.3f} ms ({share}); {ops} op calls, {cells} Cell calls; {memory}")

    def chrome_trace(self) -> dict:
        """The profile as a Chrome trace (``chrome://tracing``, Perfetto): one event per call.

        Host calls are on thread "host"; on the GPU each timed call also has a span on the
        "device" track, placed by its CUDA events.
        """
        pid = os.getpid()
        trace = [{"name": "thread_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": "host"}}]
        if any(e.device is not None for e in self.events):
            trace.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": 1, "args": {"name": "device"}})
        for e in self.events:
            args = {"type": e.type, "scope": e.scope, "self_us": round(e.self_cpu * 1e6, 3)}
            if e.shapes is not None:
                args["shapes"] = e.shapes
            if e.device is not None:
                args["device_us"] = round(e.device * 1e6, 3)
            if e.mem is not None:
                args["pool_bytes"] = e.mem
            trace.append({"name": e.name, "cat": e.kind, "ph": "X", "pid": pid, "tid": 0,
                          "ts": round(e.start * 1e6, 3), "dur": round(e.cpu * 1e6, 3), "args": args})
            if e.device is not None:
                trace.append({"name": e.name, "cat": f"device_{e.kind}", "ph": "X", "pid": pid, "tid": 1,
                              "ts": round(e.device_start * 1e6, 3), "dur": round(e.device * 1e6, 3)})
        return {"traceEvents": trace, "displayTimeUnit": "ms",
                "otherData": {"device": self.device, "wall_us": round(self.wall_time * 1e6, 3),
                              "peak_memory_bytes": self.peak_memory,
                              "memory_stats": device_info.memory_stats()}}

    def export_chrome_trace(self, path: str | os.PathLike) -> None:
        """Writes :meth:`chrome_trace` as JSON to ``path``."""
        with open(path, "w") as f:
            json.dump(self.chrome_trace(), f)

    def __iter__(self) -> Iterator[FunctionEvent]:
        return iter(self.events)


class record_function:
    """Names a block inside a profile (a row of its own, a span in the trace, an NVTX range).

    >>> import gpucell as ms
    >>> with ms.profiler.profile() as prof:
    ...     with ms.profiler.record_function("data"):
    ...         x = ms.Tensor([1.0]) + 1.0
    >>> [e.name for e in prof.events]
    ['Add', 'data']
    """

    def __init__(self, name: str):
        if not isinstance(name, str):
            raise TypeError(f"For 'record_function', 'name' must be a str, but got {type(name).__name__}.")
        self.name = name
        self._event = None
        self._profile = None

    def __enter__(self) -> record_function:  # noqa: PYI034 - typing.Self needs Python 3.11
        prof = _active
        if prof is not None and threading.get_ident() == prof._tid:
            self._profile = prof
            self._event = FunctionEvent("user", self.name, "user", prof._scope()[0], prof.nvtx)
            prof._push(self._event, prof._gpu and prof.device == "GPU")
        return self

    def __exit__(self, *exc) -> None:
        if self._profile is not None and self._profile is _active:
            self._profile._pop(self._event)
        self._profile = self._event = None
