"""``cupy.cuda.Stream`` / ``Event`` on the simulated device, and the thread's current stream.

Work is executed on the host the moment it is queued (or recorded, inside a capture), but the
simulator keeps the order CUDA promises (see _clock), so it can tell when a program relies on an
order that a real GPU would not give it.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref

from gpucell.backend.sim import _capture, _clock, _context
from gpucell.backend.sim._errors import CAPTURE_UNSUPPORTED, INVALID_HANDLE, runtime_error

__all__ = ["Stream", "ExternalStream", "Event", "get_current_stream", "get_elapsed_time", "current_state",
           "state_of", "state_of_pointer", "host_sync"]

_pointers = itertools.count(0x5100)  # fake cudaStream_t values, distinct from 0 (legacy) and 2 (per-thread)
_STREAM_LEGACY, _STREAM_PER_THREAD = 0, 2


class _BaseStream:
    """CUDA stream (see ``cupy.cuda.Stream``)."""

    def __init__(self, ptr: int, device_id: int, state: _clock.StreamState | None):
        self.ptr = ptr
        self.device_id = device_id
        self._state = state

    def _sim_state(self) -> _clock.StreamState:
        if self.ptr == _STREAM_LEGACY:
            return _clock.legacy_state(_context.get_device_id())
        if self.ptr == _STREAM_PER_THREAD:
            return _clock.ptds_state(_context.get_device_id())
        return self._state

    def __eq__(self, other):
        return isinstance(other, _BaseStream) and self.ptr == other.ptr

    def __hash__(self):
        return self.ptr

    def __repr__(self):
        return f"<{type(self).__name__} {self.ptr} (device {self.device_id})>"

    def __enter__(self):
        device_id = _check_stream_device(self.device_id)
        stacks = _stacks()
        stacks.setdefault(device_id, [get_default_stream()]).append(self)
        stacks.setdefault("devices", []).append(device_id)
        return self

    def __exit__(self, *args):
        stacks = _stacks()
        device_id = stacks["devices"].pop()
        stacks[device_id].pop()

    def use(self):
        """Makes this stream current."""
        device_id = _check_stream_device(self.device_id)
        stack = _stacks().setdefault(device_id, [get_default_stream()])
        stack[-1] = self
        return self

    @property
    def done(self) -> bool:
        """True (all simulated work completes when queued); the host now knows it has."""
        state = self._sim_state()
        if state.capture is not None:
            state.capture.refuse("query of a capturing stream", CAPTURE_UNSUPPORTED)
        _clock.host_merge(_queued(state))
        return True

    def synchronize(self) -> None:
        """Waits for the stream completing all queued work."""
        host_sync(self._sim_state(), "Stream.synchronize")

    def add_callback(self, callback, arg) -> None:
        """Queues ``callback(stream, status, arg)`` after the stream's work (not capturable)."""
        from gpucell.backend.sim import _launch

        state = self._sim_state()
        if state.capture is not None:
            state.capture.refuse("Stream.add_callback (cudaStreamAddCallback) while capturing",
                                 CAPTURE_UNSUPPORTED)
        _launch.launch("Stream.add_callback", [], [], lambda: callback(self, 0, arg), state)

    def launch_host_func(self, callback, arg) -> None:
        """Queues ``callback(arg)`` after the stream's work (recorded into a capture, as in CuPy).

        A stream operation, not a host synchronisation: the calling thread does not wait, so it
        learns nothing of the stream's progress (the simulator runs the callback when queued, after
        the earlier work, which it has already run)."""
        from gpucell.backend.sim import _launch

        _launch.launch("Stream.launch_host_func", [], [], lambda: callback(arg), self._sim_state())

    def record(self, event=None):
        """Records an event on the stream (a new Event when none is given)."""
        if event is None:
            event = Event()
        _check_event("Stream.record", event)
        event.record(self)
        return event

    def wait_event(self, event) -> None:
        """Later work on this stream starts after ``event``'s work."""
        _check_event("Stream.wait_event", event)
        state = self._sim_state()
        if event._clock is None:
            return  # waiting for a never-recorded event is a no-op in CUDA
        if event._capture is not None and state.capture is not event._capture:
            if event._capture.closed:
                return
            # A fork into the capture: this stream records into it from now on. A stream of another
            # capture would merge two capture sequences, which join refuses as CUDA does.
            event._capture.join(state)
        _clock.merge(state.clock, event._clock)

    def begin_capture(self, mode=None) -> None:
        """Starts recording this stream's work into a CUDA graph (see ``cupy.cuda.Stream``)."""
        if self.ptr in (_STREAM_LEGACY, 1):
            raise RuntimeError("cannot capture on the default (legacy) stream")
        _capture.begin(self._sim_state(), mode)

    def end_capture(self):
        """Ends the capture begun on this stream and returns the Graph."""
        return _capture.end(self._sim_state())

    def is_capturing(self) -> bool:
        state = self._sim_state()
        if state.capture is not None and state.capture.invalid is not None:
            raise RuntimeError("the stream was capturing, but an error has invalidated the capture sequence")
        return state.capture is not None

    @property
    def is_non_blocking(self) -> bool:
        return not self._sim_state().blocking

    @property
    def priority(self) -> int:
        return 0


class Stream(_BaseStream):
    """CUDA stream: ``Stream(null=False, non_blocking=False, ptds=False, priority=None)``."""

    null = None
    ptds = None

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None):
        if null:
            super().__init__(_STREAM_LEGACY, -1, None)
        elif ptds:
            super().__init__(_STREAM_PER_THREAD, -1, None)
        else:
            device_id = _context.get_device_id()
            ptr = next(_pointers)
            kind = "non-blocking" if non_blocking else "blocking"
            state = _clock.new_state(device_id, not non_blocking, f"{kind} stream {ptr:#x} of device {device_id}")
            super().__init__(ptr, device_id, state)
            _by_pointer[ptr] = self


class ExternalStream(_BaseStream):
    """A stream made elsewhere: on the simulator only the pointers of its own streams are known."""

    def __init__(self, ptr, device_id=-1):
        known = {_STREAM_LEGACY: None, _STREAM_PER_THREAD: None}
        if ptr not in known:
            raise ValueError(f"For 'ExternalStream', the simulated device knows no stream {ptr:#x}; only "
                             f"streams it created (use Stream.from_external on those).")
        super().__init__(ptr, device_id, None)


# Live streams by their cudaStream_t value: libraries (NCCL) take a stream as a raw pointer.
_by_pointer: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def state_of_pointer(ptr: int) -> _clock.StreamState:
    """The state of the stream whose ``cudaStream_t`` is ``ptr`` (0: legacy, 2: per-thread)."""
    stream = {_STREAM_LEGACY: Stream.null, _STREAM_PER_THREAD: Stream.ptds}.get(ptr) or _by_pointer.get(ptr)
    if stream is None:
        raise runtime_error(INVALID_HANDLE, f"no live stream has the pointer {ptr:#x}")
    return stream._sim_state()


Stream.null = Stream(null=True)
Stream.ptds = Stream(ptds=True)
_tls = threading.local()


def _stacks() -> dict:
    stacks = getattr(_tls, "stacks", None)
    if stacks is None:
        stacks = _tls.stacks = {}
    return stacks


def get_default_stream():
    return Stream.null


def _check_stream_device(device_id: int) -> int:
    current = _context.get_device_id()
    if device_id == -1:
        return current
    if device_id != current:
        raise RuntimeError(f"The device that the stream is created on ({device_id}) does not match with the "
                           f"current device ({current})")
    return device_id


def get_current_stream(device_id: int = -1):
    """The current stream of a device (of the current device by default)."""
    if device_id == -1:
        device_id = _context.get_device_id()
    stack = _stacks().get(device_id)
    return stack[-1] if stack else Stream.null


def current_state() -> _clock.StreamState:
    """The simulator's state of the current stream of the current device."""
    stack = _stacks().get(_context.get_device_id())
    return (stack[-1] if stack else Stream.null)._sim_state()


def state_of(stream) -> _clock.StreamState:
    """The state of ``stream`` (a Stream, or None for the current one)."""
    if stream is None:
        return current_state()
    if not isinstance(stream, _BaseStream):
        raise TypeError(f"expected a cupy.cuda.Stream, but got {type(stream).__name__}")
    return stream._sim_state()


def host_sync(state: _clock.StreamState, what: str) -> None:
    """The host waits for ``state``'s work (refused while that stream captures, as CUDA refuses)."""
    if state.capture is not None:
        state.capture.invalidate(f"{what} while the stream was capturing")
        raise runtime_error(CAPTURE_UNSUPPORTED, f"{what} on a capturing stream")
    if state.legacy:
        _capture.refuse_legacy_sync(state.device, what)
    _clock.host_merge(_queued(state))


def _queued(state: _clock.StreamState) -> dict:
    """What waiting for ``state`` waits for: the work queued on it so far. A blocking stream's
    implicit wait for the legacy stream belongs to its next operation, so its synchronisation does
    not cover legacy work queued since its last one (``prepare`` would add that: the host would
    miss a race). The legacy stream keeps the conservative view (it waits for blocking streams)."""
    return _clock.prepare(state) if state.legacy else state.clock


class Event:
    """CUDA event: ``Event(block=False, disable_timing=False, interprocess=False)``."""

    _pointers = itertools.count(0xE100)

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        if interprocess and not disable_timing:
            raise ValueError("Timing must be disabled for interprocess events")
        self.ptr = next(Event._pointers)
        self._timing = not disable_timing
        self._clock: dict | None = None
        self._time: float | None = None
        self._capture = None

    @property
    def done(self) -> bool:
        """True once recorded work is complete (always, on the simulator); the host learns it."""
        if self._capture is not None and not self._capture.closed:
            self._capture.refuse("query of an event recorded in a capture", CAPTURE_UNSUPPORTED)
        if self._clock is not None:
            _clock.host_merge(self._clock)
        return True

    def record(self, stream=None) -> None:
        """Records the event on ``stream`` (the current stream by default)."""
        state = state_of(stream)
        clock = _clock.prepare(state)
        self._clock = dict(clock)
        self._capture = state.capture
        self._time = time.perf_counter()

    def synchronize(self) -> None:
        """The host waits for the recorded work."""
        if self._capture is not None and not self._capture.closed:
            self._capture.invalidate("Event.synchronize of an event recorded in the capture")
            raise runtime_error(CAPTURE_UNSUPPORTED, "Event.synchronize of an event recorded in a capture")
        if self._clock is not None:
            _clock.host_merge(self._clock)


def _check_event(what: str, event) -> None:
    # CuPy would fail deep inside with an AttributeError ('int' object has no attribute 'ptr').
    if not isinstance(event, Event):
        raise TypeError(f"For '{what}', 'event' must be a cupy.cuda.Event, but got {type(event).__name__}")


def get_elapsed_time(start_event: Event, end_event: Event) -> float:
    """Milliseconds between two recorded events: on the simulator, host time between the two records
    (the simulator runs the work when it is queued), a figure about the simulation, not a GPU."""
    for name, event in (("start_event", start_event), ("end_event", end_event)):
        if not isinstance(event, Event):  # CuPy types the arguments
            raise TypeError(f"Argument '{name}' has incorrect type (expected cupy.cuda.Event, got "
                            f"{type(event).__name__})")
    for event in (start_event, end_event):
        if event._time is None or not event._timing:
            raise runtime_error(INVALID_HANDLE, "an event never recorded, or made with disable_timing=True")
    return (end_event._time - start_event._time) * 1e3
