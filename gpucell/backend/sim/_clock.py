"""Happens-before on the simulated device: a vector clock per stream, per event and for the host.

A clock maps a stream id to the number of operations of that stream known to be complete (or
ordered before) from the point of view of its owner. An operation queued on stream ``s`` is
ordered after an earlier access ``(t, epoch)`` exactly when ``s``'s clock has ``clock[t] >= epoch``.
The clocks grow by CUDA's rules, and by nothing else:

* stream order: each operation ticks its own stream's entry;
* events: ``record`` copies the stream's clock into the event, ``wait_event`` merges it back;
* the host: ``synchronize`` of a stream, an event or the device merges their clocks into the
  host's clock, and every operation queued later (on any stream) starts from it;
* the legacy default stream: an operation on it waits for all prior work of the blocking streams
  of its device, and blocking streams wait for prior work on it. Non-blocking streams
  (``Stream(non_blocking=True)``) do not synchronise with it, as on CUDA.
"""

from __future__ import annotations

import itertools
import threading
import weakref

__all__ = ["next_serial", "StreamState", "merge", "prepare", "tick", "host_merge", "legacy_state",
           "ptds_state", "device_states", "ordered"]

_ids = itertools.count(1)
_serials = itertools.count(1)


def next_serial() -> int:
    """A process-wide counter ordering allocations and capture ends (for Graph.launch's check)."""
    return next(_serials)


class StreamState:
    """What the simulator knows of one CUDA stream (the ``Stream`` object is the user's handle)."""

    __slots__ = ("id", "device", "blocking", "legacy", "clock", "capture", "label", "host_seen", "__weakref__")

    def __init__(self, device: int, blocking: bool, legacy: bool, label: str):
        self.id = next(_ids)
        self.device = device
        self.blocking = blocking
        self.legacy = legacy
        self.clock: dict[int, int] = {}
        self.capture = None  # the _capture.Capture this stream records into, if any
        self.label = label
        self.host_seen = -1  # host clock version last merged


def merge(into: dict, other: dict) -> None:
    """``into = max(into, other)`` entry by entry."""
    for key, value in other.items():
        if into.get(key, 0) < value:
            into[key] = value


def ordered(clock: dict, stream_id: int, epoch: int) -> bool:
    return clock.get(stream_id, 0) >= epoch


class _Host:
    __slots__ = ("clock", "version", "lock")

    def __init__(self):
        self.clock: dict[int, int] = {}
        self.version = 0
        self.lock = threading.RLock()


_host = _Host()
_legacy: dict[int, StreamState] = {}
_blocking: dict[int, weakref.WeakSet] = {}
_all: dict[int, weakref.WeakSet] = {}
_ptds = threading.local()


def _register(state: StreamState) -> StreamState:
    _all.setdefault(state.device, weakref.WeakSet()).add(state)
    if state.blocking and not state.legacy:
        _blocking.setdefault(state.device, weakref.WeakSet()).add(state)
    return state


def new_state(device: int, blocking: bool, label: str) -> StreamState:
    return _register(StreamState(device, blocking, False, label))


def legacy_state(device: int) -> StreamState:
    """The legacy default stream (``Stream.null``, pointer 0) of a device."""
    state = _legacy.get(device)
    if state is None:
        state = _legacy[device] = _register(StreamState(device, True, True,
                                                        f"the legacy default stream of device {device}"))
    return state


def ptds_state(device: int) -> StreamState:
    """The calling thread's per-thread default stream on a device (a blocking stream)."""
    states = getattr(_ptds, "states", None)
    if states is None:
        states = _ptds.states = {}
    if device not in states:
        states[device] = new_state(device, True, f"the per-thread default stream of device {device}")
    return states[device]


def device_states(device: int) -> list[StreamState]:
    return list(_all.get(device, ()))


def prepare(state: StreamState) -> dict:
    """The clock of an operation about to be queued on ``state`` (before its own tick)."""
    clock = state.clock
    if state.host_seen != _host.version:
        merge(clock, _host.clock)
        state.host_seen = _host.version
    if state.legacy:
        for other in list(_blocking.get(state.device, ())):
            merge(clock, other.clock)
    elif state.blocking:
        legacy = _legacy.get(state.device)
        if legacy is not None:
            merge(clock, legacy.clock)
    return clock


def tick(state: StreamState) -> int:
    """Counts one more operation on ``state``; returns its epoch."""
    epoch = state.clock.get(state.id, 0) + 1
    state.clock[state.id] = epoch
    return epoch


def host_merge(clock: dict) -> None:
    """The host has waited for everything ``clock`` covers."""
    with _host.lock:
        merge(_host.clock, clock)
        _host.version += 1

