"""CUDA-graph capture on the simulated device: what CUDA records, refuses and replays.

``begin`` puts a stream in capture: the work queued on it afterwards is recorded, not run, and a
stream that waits for an event recorded inside the capture joins it (a fork). ``end`` requires
every forked stream to have been joined back (the origin waited for an event recorded on it after
its last work), then returns a Graph, or raises if anything invalidated the capture: a host
synchronisation of a capturing stream, of the legacy stream or of the device, a cudaFree (a pool's
``free_all_blocks``, or device memory released), a query of a capturing stream. ``Graph.launch``
replays the recorded work in the order it was queued, on the same buffers, as one operation of the
launch stream; a buffer the graph uses must not have been released or handed to a new owner by the
pool since the capture ended (the graph would overwrite another array's data).

Races between the recorded operations are checked while capturing, on a happens-before history of
the capture's own (the work has not run yet, so it cannot race with the work outside).
"""

from __future__ import annotations

import weakref

from gpucell.backend.sim import _clock
from gpucell.backend.sim._errors import (
    CAPTURE_IMPLICIT,
    CAPTURE_INVALIDATED,
    CAPTURE_MERGE,
    CAPTURE_UNJOINED,
    ILLEGAL_ADDRESS,
    ILLEGAL_STATE,
    RaceError,
    runtime_error,
)

__all__ = ["Capture", "Graph", "begin", "end", "any_capturing", "invalidate_all", "note_allocation",
           "note_device_free", "refuse_legacy_sync"]

_active: weakref.WeakSet = weakref.WeakSet()


class Capture:
    """One capture sequence: its streams, its recorded work, and what (if anything) broke it."""

    def __init__(self, origin: _clock.StreamState, mode):
        self.origin = origin
        self.mode = mode
        self.streams = {origin}
        self.last: dict[int, int] = {}  # stream id -> epoch of its last recorded work
        self.steps: list[tuple] = []    # (run, accesses): accesses = [(memory, lo, hi, write)]
        self.histories: dict = {}       # Memory -> list of _memory.Access, the capture's own
        self.invalid: str | None = None
        self.closed = False
        self.end_serial = 0

    def history(self, memory) -> list:
        return self.histories.setdefault(memory, [])

    def join(self, state: _clock.StreamState) -> None:
        """``state`` waited for an event of this capture: it records into the capture from now on."""
        if state.capture is not None and state.capture is not self:
            self.invalidate("a stream joined two captures")
            raise runtime_error(CAPTURE_MERGE, "a stream joined a second capture")
        state.capture = self
        self.streams.add(state)
        self.last[state.id] = _clock.tick(state)  # the fork itself must be joined back

    def record(self, state: _clock.StreamState, epoch: int, run, accesses: list, what: str = "") -> None:
        self.last[state.id] = epoch
        self.steps.append((run, accesses, what))

    def invalidate(self, why: str) -> None:
        if self.invalid is None:
            self.invalid = why

    def refuse(self, what: str, status) -> None:
        self.invalidate(what)
        raise runtime_error(status, what)


def begin(state: _clock.StreamState, mode) -> None:
    if state.capture is not None:
        raise runtime_error(ILLEGAL_STATE, "begin_capture on a stream that is already capturing")
    capture = Capture(state, mode)
    state.capture = capture
    _active.add(capture)


def end(state: _clock.StreamState):
    capture = state.capture
    if capture is None or capture.origin is not state:
        raise runtime_error(ILLEGAL_STATE, "end_capture on a stream that did not begin a capture")
    unjoined = [other.label for other in capture.streams
                if other is not state and state.clock.get(other.id, 0) < capture.last.get(other.id, 0)]
    for other in capture.streams:
        other.capture = None
    capture.closed = True
    capture.end_serial = _clock.next_serial()
    _active.discard(capture)
    steps, capture.steps, capture.histories = capture.steps, [], {}  # events keep the Capture: not its memory
    if capture.invalid is not None:
        raise runtime_error(CAPTURE_INVALIDATED, capture.invalid)
    if unjoined:
        raise runtime_error(CAPTURE_UNJOINED, f"not joined back: {', '.join(unjoined)}")
    return Graph._of(steps, capture.end_serial)


def any_capturing() -> bool:
    return any(not capture.closed for capture in list(_active))


def invalidate_all(why: str) -> None:
    for capture in list(_active):
        capture.invalidate(why)


def refuse_legacy_sync(device: int, what: str) -> None:
    """The legacy stream synchronises with blocking streams: with one capturing, CUDA refuses."""
    for capture in list(_active):
        for state in capture.streams:
            if state.device == device and state.blocking and not state.legacy:
                capture.invalidate(f"{what} made the legacy stream wait for a capturing blocking stream")
                raise runtime_error(CAPTURE_IMPLICIT, what)


def note_allocation(state: _clock.StreamState, memory, lo: int, hi: int, clock: dict, where: tuple) -> None:
    """A pool chunk reused inside a capture must be free of unordered captured work too."""
    capture = state.capture
    if capture is None or memory not in capture.histories:
        return
    history = capture.histories[memory]
    for old in history:
        if old.lo < hi and lo < old.hi and clock.get(old.stream, 0) < old.epoch:
            raise RaceError(f"Inside a capture, the memory pool handed a block back to {state.label} at "
                            f"{_describe(where)} while captured work on another stream may still use it: "
                            f"{old.describe()}.")
    history[:] = [old for old in history if old.hi <= lo or old.lo >= hi]


def note_device_free(memory) -> None:
    """Device memory went back to the driver (cudaFree): it synchronises, so captures break."""
    if _active:
        invalidate_all("device memory was freed (cudaFree) during the capture")


def _describe(where) -> str:
    from gpucell.backend.sim._memory import describe_site
    return describe_site(where)


class Graph:
    """A captured CUDA graph (``cupy.cuda.Graph``): made only by ``Stream.end_capture``.

    It holds its replay and weak references to the memory it touches, never the arrays: as in
    CuPy, dropping an array frees its block to the pool even though a graph still uses it, and the
    launch then reports that (instead of the graph silently keeping the block for itself).
    """

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("currently this class cannot be initiated by the user and must be created via "
                                  "stream capture")

    @classmethod
    def _of(cls, steps: list, end_serial: int) -> Graph:
        graph = cls.__new__(cls)
        graph._runs = [run for run, _, _ in steps if run is not None]
        graph._end_serial = end_serial
        touched: dict = {}
        for _, accesses, _ in steps:
            for memory, lo, hi, write in accesses:
                key = (weakref.ref(memory), memory.ptr, lo, hi)
                touched[key] = touched.get(key, False) or write
        graph._touched = [(ref, ptr, lo, hi, write) for (ref, ptr, lo, hi), write in touched.items()]
        return graph

    def launch(self, stream=None) -> None:
        """Replays the captured work on ``stream`` (the current stream by default)."""
        from gpucell.backend.sim import _launch, _streams

        state = _streams.state_of(stream)
        reads, writes = [], []
        for ref, ptr, lo, hi, write in self._touched:
            memory = ref()
            if memory is None or memory.released:
                raise runtime_error(ILLEGAL_ADDRESS, f"the graph uses device memory {ptr + lo:#x} that was "
                                                        f"freed (free_all_blocks, cudaFree) after the capture")
            for (a_lo, a_hi), (serial, in_capture) in memory.allocations.items() if write else ():
                # A live array the pool made since the capture, outside any capture, in memory the
                # graph writes: the replay would overwrite its data. Blocks reused and freed again
                # are fine, and so are buffers of graphs captured later, which share scratch memory
                # with this one as graphs captured in sequence do (each replay rewrites them).
                if serial > self._end_serial and not in_capture and a_lo < hi and lo < a_hi:
                    raise RaceError(
                        f"Graph.launch: the graph writes device memory {memory.ptr + lo:#x} "
                        f"({hi - lo} bytes), which the memory pool has handed to a new, still live array since "
                        f"the capture; the replay would overwrite that array. Keep the capture's buffers (its "
                        f"private pool) to the graph alone.")
            (writes if write else reads).append((memory, lo, hi))
        runs = self._runs

        def replay():
            for run in runs:
                run()

        _launch.launch("Graph.launch", reads, writes, replay, state=state)

    def upload(self, stream=None) -> None:
        return None

    def debug_dot_str(self, flags=0) -> str:
        return f"digraph {{ // {len(self._runs)} simulated nodes\n}}\n"

