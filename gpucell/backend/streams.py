"""Stream and Event wrappers. On the CPU every call is a no-op, so callers need no branches.

``observer`` (None by default, one check per call) is told of every stream switch, event record
and event wait made through these wrappers, on either backend: the jit tracer sets it to write a
function's fork/join structure into its plan.
"""

from __future__ import annotations

from gpucell import backend

# An object with enter(stream), exit(stream), recorded(event, stream) and waited(stream, event).
observer = None


class Stream:
    """A CUDA stream on the GPU; a placeholder that orders nothing on the CPU."""

    __slots__ = ("_stream",)

    def __init__(self, non_blocking: bool = True, _wrap=None):
        if _wrap is not None:
            self._stream = _wrap
        else:
            self._stream = backend.cupy.cuda.Stream(non_blocking=non_blocking) if backend.gpu_available() else None

    @property
    def raw(self):
        """The underlying ``cupy.cuda.Stream`` (None on the CPU)."""
        return self._stream

    def synchronize(self) -> None:
        if self._stream is not None:
            self._stream.synchronize()

    def wait_event(self, event: Event) -> None:
        if observer is not None:
            observer.waited(self, event)
        if self._stream is not None and event.raw is not None:
            self._stream.wait_event(event.raw)

    def record(self) -> Event:
        event = Event()
        event.record(self)
        return event

    def __enter__(self) -> Stream:
        if observer is not None:
            observer.enter(self)
        if self._stream is not None:
            self._stream.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if observer is not None:
            observer.exit(self)
        if self._stream is not None:
            self._stream.__exit__(*exc)

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and self._stream == other._stream

    def __hash__(self) -> int:
        return hash(self._stream)


class Event:
    """A CUDA event; on the CPU it is always complete."""

    __slots__ = ("_event",)

    def __init__(self):
        self._event = backend.cupy.cuda.Event() if backend.gpu_available() else None

    @property
    def raw(self):
        return self._event

    def record(self, stream: Stream | None = None) -> None:
        if observer is not None:
            observer.recorded(self, stream if stream is not None else current_stream())
        if self._event is not None:
            self._event.record(stream.raw if stream is not None else None)

    def synchronize(self) -> None:
        if self._event is not None:
            self._event.synchronize()

    @property
    def done(self) -> bool:
        """Whether the recorded work has completed (always, on the CPU); asks without waiting."""
        return self._event is None or self._event.done


def current_stream() -> Stream:
    """The stream ops are issued on now."""
    if backend.gpu_available():
        return Stream(_wrap=backend.cupy.cuda.get_current_stream())
    return _CPU_STREAM


_CPU_STREAM = Stream.__new__(Stream)
_CPU_STREAM._stream = None
