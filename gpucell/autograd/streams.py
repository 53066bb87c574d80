"""The stream operations the engine uses, behind one small object so tests can swap in a fake.

On the CPU every stream is the same no-op stream, so no event is ever recorded or waited on.
"""

from __future__ import annotations

import itertools

from gpucell import backend
from gpucell.backend import streams as _streams

__all__ = ["DeviceStreams", "active", "install"]


class DeviceStreams:
    """CuPy streams and events through gpucell.backend.streams (no-ops on the CPU)."""

    def __init__(self):
        self._bind()
        backend.on_module_change(self._bind)

    def _bind(self) -> None:
        if backend.gpu_available():
            self.current = _streams.current_stream
        else:
            # Every op records its stream: on the CPU it is one constant, returned by a C-level call.
            self.current = itertools.repeat(_streams.current_stream()).__next__

    def current(self):
        return _streams.current_stream()

    def use(self, stream):
        """A context manager making ``stream`` current."""
        return stream

    def same(self, a, b) -> bool:
        return a is b or a == b

    def record(self, stream):
        """An event recorded on ``stream`` now."""
        return stream.record()

    def wait(self, stream, event) -> None:
        """Work issued on ``stream`` from now on waits for ``event``."""
        stream.wait_event(event)

    def done(self, event) -> bool:
        """Whether ``event``'s work has completed (a query: never waits)."""
        return event.done


_active = DeviceStreams()


def active():
    return _active


def install(streams) -> object:
    """Makes ``streams`` (an object with DeviceStreams' methods) the engine's; returns the previous."""
    global _active
    previous, _active = _active, streams
    return previous
