"""The one path by which work reaches the simulated device: checked, then run or recorded.

``launch(what, reads, writes, run)`` queues one operation on the current stream (or ``state``):
it takes the stream's happens-before clock (see _clock), checks each byte range it reads or writes
against the accesses still outstanding on that memory (RaceError if one is unordered and either
side writes), records its own, then runs ``run()`` at once, or, while the stream captures, records
it into the capture for ``Graph.launch`` to replay.
"""

from __future__ import annotations

from gpucell.backend.sim import _capture, _clock, _streams
from gpucell.backend.sim._errors import CAPTURE_IMPLICIT, CUDARuntimeError
from gpucell.backend.sim._memory import site

__all__ = ["launch", "span", "host_read", "host_write"]


def span(array) -> tuple:
    """(memory, lo, hi): the bytes an ndarray view covers (from its lowest to its highest byte)."""
    return array._span()


def launch(what: str, reads, writes, run, state: _clock.StreamState | None = None) -> None:
    """Queues an operation reading ``reads`` and writing ``writes`` (lists of (memory, lo, hi))."""
    if state is None:
        state = _streams.current_state()
    capture = state.capture
    if state.legacy and _capture._active:
        _capture.refuse_legacy_sync(state.device, f"{what} on the legacy default stream")
    clock = _clock.prepare(state)
    epoch = _clock.tick(state)
    where = site()
    if capture is None:
        for memory, lo, hi in reads:
            if hi > lo:
                memory.access(lo, hi, False, state, epoch, clock, what, where)
        for memory, lo, hi in writes:
            if hi > lo:
                memory.access(lo, hi, True, state, epoch, clock, what, where)
        if run is not None:
            run()
        return
    if capture.invalid is not None:
        return  # CUDA records nothing more into an invalidated capture
    accesses = []
    for write, ranges in ((False, reads), (True, writes)):
        for memory, lo, hi in ranges:
            if hi > lo:
                memory.access(lo, hi, write, state, epoch, clock, what, where, history=capture.history(memory))
                accesses.append((memory, lo, hi, write))
    capture.record(state, epoch, run, accesses, what)


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


def synchronizing(what: str) -> None:
    """An operation whose result size or value the host needs at once (nonzero, boolean masks,
    unique, ...): a device-to-host copy plus a synchronisation of the current stream."""
    state = _streams.current_state()
    if state.capture is not None:
        raise RuntimeError("the current stream is capturing, so D2H transfers are disallowed")


__all__ += ["refuse_library_in_capture", "synchronizing", "CAPTURE_IMPLICIT", "CUDARuntimeError"]
