"""What ``gpucell.profiler`` needs from the device: CUDA event timing, NVTX ranges, exact pool peaks.

Everything here is a no-op (or returns None) where CuPy or a GPU is missing, so the profiler has
no device branches of its own.
"""

from __future__ import annotations

from gpucell import backend

__all__ = [
    "PoolPeak",
    "device_timer",
    "elapsed_seconds",
    "nvtx_available",
    "nvtx_pop",
    "nvtx_push",
    "synchronize",
]


def device_timer():
    """A started CUDA event on the current stream (None on the CPU); pair it with a second one."""
    event = backend.cupy.cuda.Event()
    event.record()
    return event


def elapsed_seconds(start, end) -> float:
    """Seconds between two recorded events (waits for ``end``)."""
    end.synchronize()
    return backend.cupy.cuda.get_elapsed_time(start, end) / 1e3


def synchronize() -> None:
    """Waits for all work on the current device (nothing to wait for on the CPU)."""
    if backend.gpu_available():
        backend.cupy.cuda.Device().synchronize()


def nvtx_available() -> bool:
    """Whether NVTX ranges reach a profiler such as Nsight Systems."""
    if backend.cupy is None or not backend.gpu_available():
        return False
    try:
        return bool(getattr(backend.cupy.cuda.nvtx, "available", True))
    except Exception:  # noqa: BLE001 - a CuPy build without NVTX
        return False


def nvtx_push(name: str) -> None:
    backend.cupy.cuda.nvtx.RangePush(name)


def nvtx_pop() -> None:
    backend.cupy.cuda.nvtx.RangePop()


class PoolPeak:
    """Tracks bytes handed out by CuPy's pool while active (a ``with`` block, this thread only).

    ``current`` starts at the pool's used bytes and follows every block taken and returned;
    ``peak`` is its maximum. CuPy's pool keeps no high-water mark of its own, and a memory hook is
    the exact way to get one; it costs a Python call per allocation, so only the profiler installs
    it.
    On the CPU the block does nothing and both stay 0.
    """

    name = "gpucell.PoolPeak"

    def __init__(self):
        self.current = 0
        self.peak = 0
        self._active = None

    def __enter__(self):
        if backend.cupy is not None and backend.gpu_available():
            self.current = self.peak = backend.cupy.get_default_memory_pool().used_bytes()
            self._active = _hook_for(self, backend.cupy.cuda.MemoryHook)
            self._active.__enter__()
        return self

    def __exit__(self, *exc):
        if self._active:
            active, self._active = self._active, None
            return active.__exit__(*exc)
        return None

    def malloc_postprocess(self, **kwargs):
        if kwargs.get("mem_ptr"):
            self.current += kwargs["mem_size"]
            self.peak = max(self.peak, self.current)

    def free_postprocess(self, **kwargs):
        self.current -= kwargs["mem_size"]


def _hook_for(watch: PoolPeak, base):
    """A memory hook of the GPU module now in use (CuPy's or the simulator's) reporting to ``watch``."""
    class _Forward(base):
        name = watch.name

        def malloc_postprocess(self, **kwargs):
            watch.malloc_postprocess(**kwargs)

        def free_postprocess(self, **kwargs):
            watch.free_postprocess(**kwargs)

    return _Forward()
