"""The one path by which work reaches the simulated device: checked, then run or recorded.

``launch(what, reads, writes, run)`` queues one operation on the current stream (or ``state``):
it takes the stream's happens-before clock (see _clock), checks each byte range it reads or writes
against the accesses still outstanding on that memory (RaceError if one is unordered and either
side writes), records its own, then runs ``run()`` at once, or, while the stream captures, records
it into the capture for ``Graph.launch`` to replay.
"""

from __future__ import annotations

from gpucell.backend.sim import _capture, _clock, _streams
from gpucell.backend.sim._memory import site

__all__ = ["launch", "check", "host_read", "host_write"]


def _ranges(reads, writes) -> list:
    """(memory, lo, hi, write, view) of an operation's non-empty reads and writes, each given as
    (memory, lo, hi) or, for a strided array view that touches only some of those bytes,
    (memory, lo, hi, view) (see ndarray._bytes)."""
    return ([(r[0], r[1], r[2], False, r[3] if len(r) > 3 else None) for r in reads if r[2] > r[1]]
            + [(r[0], r[1], r[2], True, r[3] if len(r) > 3 else None) for r in writes if r[2] > r[1]])


def check(what: str, reads, writes, state: _clock.StreamState | None = None) -> None:
    """Raises RaceError if ``launch`` of these accesses would, but queues and records nothing: an
    operation that writes in place checks first, so a refused one leaves memory as it was."""
    if state is None:
        state = _streams.current_state()
    capture = state.capture
    if capture is not None and capture.invalid is not None:
        return
    clock = _clock.prepare(state)
    where = site()
    for memory, lo, hi, write, view in _ranges(reads, writes):
        memory.check(lo, hi, write, state, clock, what, where,
                     history=None if capture is None else capture.history(memory), view=view)


def launch(what: str, reads, writes, run, state: _clock.StreamState | None = None) -> None:
    """Queues an operation reading ``reads`` and writing ``writes`` (lists of (memory, lo, hi))."""
    if state is None:
        state = _streams.current_state()
    capture = state.capture
    if state.legacy and _capture._active:
        _capture.refuse_legacy_sync(state.device, f"{what} on the legacy default stream")
    if capture is not None and capture.invalid is not None:
        return  # CUDA records nothing more into an invalidated capture
    ranges = _ranges(reads, writes)
    clock = _clock.prepare(state)
    where = site()
    # Every range is checked before anything is recorded or run: an operation refused with a
    # RaceError leaves no trace (no half-recorded accesses, no tick of its stream, no effect).
    for memory, lo, hi, write, view in ranges:
        memory.check(lo, hi, write, state, clock, what, where,
                     history=None if capture is None else capture.history(memory), view=view)
    epoch = _clock.tick(state)
    if capture is None:
        for memory, lo, hi, write, view in ranges:
            memory.record(lo, hi, write, state, epoch, clock, what, where, view=view)
        if run is not None:
            run()
        return
    for memory, lo, hi, write, view in ranges:
        memory.record(lo, hi, write, state, epoch, clock, what, where, history=capture.history(memory), view=view)
    capture.record(state, epoch, run, [(memory, lo, hi, write) for memory, lo, hi, write, _ in ranges], what)


def host_read(what: str, ranges, stream=None, blocking: bool = True) -> None:
    """A device-to-host copy of ``ranges`` on ``stream``; with ``blocking`` the host then waits for
    that stream (CuPy's ``get()``/``asnumpy``: only that stream, nothing else)."""
    state = _streams.state_of(stream)
    if state.capture is not None:
        raise RuntimeError("the current stream is capturing, so D2H transfers are disallowed")
    launch(what, ranges, [], None, state)
    if blocking:
        _streams.host_sync(state, what)


def host_write(what: str, ranges, run, stream=None) -> None:
    """A host-to-device copy into ``ranges`` on ``stream`` (refused in capture, as CuPy refuses)."""
    state = _streams.state_of(stream)
    if state.capture is not None:
        raise RuntimeError("the current stream is capturing, so H2D transfers are disallowed")
    launch(what, [], ranges, run, state)


def refuse_library_in_capture(library: str) -> None:
    """cuBLAS / cuRAND calls: CuPy refuses them on a capturing stream before calling CUDA."""
    state = _streams.current_state()
    if state.capture is not None:
        raise NotImplementedError(f"calling {library} API during stream capture is currently unsupported")


__all__ += ["refuse_library_in_capture"]
