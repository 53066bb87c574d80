"""CUDA-graph capture for jit plans: a private memory pool, a capture stream, launch ordering.

CuPy's default pool is not graph-aware: a temporary freed during capture could be handed to another
array and then overwritten by every replay. So each captured plan allocates from a pool of its own,
warmed up by an eager run first (cudaMalloc is illegal during capture; the warm-up leaves cached
blocks of the right sizes in the private pool for the capture to reuse).
"""

from __future__ import annotations

import contextlib

from gpucell.backend import cupy

__all__ = ["GraphRunner"]


class GraphRunner:
    """Owns one plan's private pool and capture stream; captures and launches its graphs."""

    def __init__(self):
        self.pool = cupy.cuda.MemoryPool()
        self.stream = cupy.cuda.Stream(non_blocking=True)

    @contextlib.contextmanager
    def on_private_stream(self):
        """Runs the block on the plan's stream and pool, ordered after the caller's stream."""
        caller = cupy.cuda.get_current_stream()
        self.stream.wait_event(caller.record())
        with cupy.cuda.using_allocator(self.pool.malloc), self.stream:
            yield
        caller.wait_event(self.stream.record())

    def capture(self, run) -> object:
        """A ``cupy.cuda.Graph`` of every kernel ``run()`` launches (call inside on_private_stream)."""
        self.stream.begin_capture()
        try:
            run()
        finally:
            graph = self.stream.end_capture()
        return graph

    def launch(self, graph) -> None:
        graph.launch(self.stream)

    def held_bytes(self) -> int:
        return int(self.pool.total_bytes())
