"""Host-to-device copies that overlap compute: pinned host buffers and copies on a side stream."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gpucell import backend
from gpucell.backend.streams import Event, Stream, current_stream

__all__ = ["BatchPrefetcher", "pinned_empty"]


def pinned_empty(shape: tuple, dtype) -> np.ndarray:
    """A NumPy array in page-locked host memory when the GPU is used (``np.empty`` otherwise).

    Only page-locked memory lets a host-to-device copy run asynchronously on a stream.
    """
    dtype = np.dtype(dtype)
    if not backend.gpu_available():
        return np.empty(shape, dtype)
    count = int(np.prod(shape, dtype=np.int64))
    memory = backend.cupy.cuda.alloc_pinned_memory(max(count * dtype.itemsize, 1))
    return np.frombuffer(memory, dtype, count).reshape(shape)  # the array keeps `memory` alive


class _Slot:
    __slots__ = ("copied", "device", "host", "released", "rows")

    def __init__(self, host: list, device: list):
        self.host, self.device = host, device
        self.rows = 0
        self.copied: Event | None = None    # the side stream finished reading `host`
        self.released: Event | None = None  # the consumer finished reading `device`


class BatchPrefetcher:
    """Gathers rows of host arrays and copies them to the GPU on a side stream, double-buffered.

    ``stage(columns, index)`` gathers ``column[index]`` into a pinned slot and enqueues the copies
    on the side stream, returning at once. ``take(slot, wrap)`` makes the caller's current stream
    wait for those copies and returns ``wrap(device_view)`` per column; ``wrap`` must copy (a
    Tensor constructor does) because the slot is refilled two batches later. The refill waits on
    an event recorded on the caller's stream right after that copy, so it never races the step that
    uses the batch, and never waits for that step's compute either.
    """

    def __init__(self, columns: list[np.ndarray], max_rows: int, slots: int = 2):
        if not backend.gpu_available():
            raise RuntimeError("BatchPrefetcher needs a usable GPU.")
        self._side = Stream(non_blocking=True)
        self._slots = []
        for _ in range(slots):
            host = [pinned_empty((max_rows, *c.shape[1:]), c.dtype) for c in columns]
            device = [backend.cupy.empty((max_rows, *c.shape[1:]), c.dtype) for c in columns]
            self._slots.append(_Slot(host, device))
        # The slots come from the pool on the caller's stream, possibly blocks that the caller's
        # queued work still uses: the side stream writes them only after that work.
        self._side.wait_event(current_stream().record())
        self._turn = 0

    def stage(self, columns: list[np.ndarray], index: np.ndarray) -> _Slot:
        slot = self._slots[self._turn]
        self._turn = (self._turn + 1) % len(self._slots)
        if slot.copied is not None:
            slot.copied.synchronize()  # the previous copy out of this pinned buffer is done
        rows = len(index)
        for source, host in zip(columns, slot.host):
            np.take(source, index, axis=0, out=host[:rows], mode="clip")  # indices are in range
        if slot.released is not None:
            self._side.wait_event(slot.released)
        with self._side:
            for host, device in zip(slot.host, slot.device):
                device[:rows].set(host[:rows], stream=self._side.raw)
        slot.rows = rows
        slot.copied = self._side.record()
        return slot

    def take(self, slot: _Slot, wrap: Callable) -> list:
        consumer = current_stream()
        consumer.wait_event(slot.copied)
        out = [wrap(device[:slot.rows]) for device in slot.device]
        slot.released = consumer.record()
        return out

    def close(self) -> None:
        """Waits for every copy in and out, so the buffers can be freed safely."""
        for slot in self._slots:
            for event in (slot.copied, slot.released):
                if event is not None:
                    event.synchronize()
        self._side.synchronize()
