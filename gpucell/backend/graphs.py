"""CUDA-graph capture for jit plans: a private memory pool, a capture stream, launch ordering.

CuPy's default pool is not graph-aware: a temporary freed during capture goes back to the pool's
free list while the graph still reads and writes it on every replay. So each captured plan
allocates from a pool of its own, and nothing that must outlive a replay (a call's outputs) is
ever taken from that pool after the capture: see :meth:`GraphRunner.on_private_stream`.

CuPy pools keep free blocks per stream (a block returns to the free list of the stream it was
allocated on, and only allocations on that stream reuse it), so the warm-up and the capture both
run on the plan's one stream: the capture then reuses the warm-up's blocks. The capture runs in
CuPy's default relaxed mode, in which a cudaMalloc (the pool growing) is permitted; what is not
permitted is anything that synchronizes (a host read, ``cupy.asnumpy``, ``cudaFree``): it
invalidates the capture, ``end_capture`` raises, and the executor falls back to eager replay.

A plan's memory goes back to the device when the plan leaves the cache (:meth:`GraphRunner.release`):
first the host waits for the plan's streams (a graph launch, or a caller's copy out of a static
buffer, may still be running: the caller's stream is ordered before the plan's stream by
``after_caller``), then the executor drops its graphs and static buffers, then the pool frees its
blocks (cudaFree). Freeing never overlaps a capture on another thread (one lock for both), since a
cudaFree during any capture invalidates it. The pool is never shared between plans: see
``jit/executors.py``.
"""

from __future__ import annotations

import contextlib
import gc
import threading

from gpucell import backend

__all__ = ["GraphRunner", "device_memory"]

# Held during a capture and while a pool frees its blocks: a cudaFree on one thread breaks a
# capture in progress on another.
_capture_or_free = threading.RLock()
# Released pools that still had a block in use (an array that outlived its plan): CuPy frees a dead
# pool's blocks under the arrays that use them, so these stay until their blocks come back.
_kept: list = []


def device_memory() -> int:
    """Total memory of the current GPU in bytes (0 without a usable GPU)."""
    if not backend.gpu_available():
        return 0
    runtime = backend.cupy.cuda.runtime
    try:  # the properties, not mem_info: asking them makes no CUDA context
        return int(runtime.getDeviceProperties(runtime.getDevice()).get("totalGlobalMem", 0))
    except Exception:  # noqa: BLE001 - no usable GPU: the caller picks its own default
        return 0


class GraphRunner:
    """Owns one plan's private pool and capture stream; captures and launches its graphs."""

    def __init__(self):
        cupy = backend.cupy
        self.pool = cupy.cuda.MemoryPool()
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self._side: list = []

    def streams(self, count: int) -> list:
        """The capture stream and ``count - 1`` side streams of this plan (for fork/join)."""
        while len(self._side) < count - 1:
            self._side.append(backend.cupy.cuda.Stream(non_blocking=True))
        return [self.stream, *self._side[:count - 1]]

    @contextlib.contextmanager
    def on_private_stream(self):
        """Runs the block on the plan's stream and pool, ordered after the caller's stream; the
        caller's stream waits for the block's work when it ends (also when it raises).

        Arrays that must survive the next replay (outputs handed to the user) must not be taken
        from the private pool: allocate them after the block, on the caller's stream, and then
        call :meth:`after_caller`.
        """
        cupy = backend.cupy
        caller = cupy.cuda.get_current_stream()
        self.stream.wait_event(caller.record())
        try:
            with cupy.cuda.using_allocator(self.pool.malloc), self.stream:
                yield
        finally:
            caller.wait_event(self.stream.record())

    def after_caller(self) -> None:
        """Orders every later use of the plan's stream after the work queued so far on the
        current (caller's) stream, e.g. the copies of a call's outputs out of the static buffers
        (a next call may come from another stream, whose own event would not cover them)."""
        self.stream.wait_event(backend.cupy.cuda.get_current_stream().record())

    def capture(self, run) -> object:
        """A ``cupy.cuda.Graph`` of every kernel ``run()`` launches (call inside on_private_stream).

        The cyclic garbage collector is paused meanwhile: an object it frees could call cudaFree
        (a raw allocation, another plan's pool), which synchronizes and breaks the capture; and no
        pool frees its blocks (:meth:`release`, on any thread) until the capture has ended.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            with _capture_or_free:
                self.stream.begin_capture()
                try:
                    run()
                except BaseException:
                    with contextlib.suppress(Exception):  # end the capture; keep run()'s error
                        self.stream.end_capture()
                    raise
                return self.stream.end_capture()
        finally:
            if collecting:
                gc.enable()

    def launch(self, graph) -> None:
        graph.launch(self.stream)

    def synchronize(self) -> None:
        """The host waits for every stream of the plan (and, through ``after_caller``, for the
        callers' copies out of its static buffers)."""
        for stream in (self.stream, *self._side):
            stream.synchronize()

    def release(self) -> None:
        """Returns the private pool's cached blocks to the device, once the plan's streams are done
        with them. Call it after dropping the graphs and static buffers (a block still referenced
        stays with the pool); on eviction, and after a failed capture."""
        with _capture_or_free:
            self.synchronize()
            self.pool.free_all_blocks()
            if self.pool.used_bytes():
                _kept.append(self.pool)
            for pool in _kept:
                pool.free_all_blocks()
            _kept[:] = [pool for pool in _kept if pool.used_bytes()]

    def held_bytes(self) -> int:
        return int(self.pool.total_bytes())
