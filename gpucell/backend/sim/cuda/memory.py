"""``cupy.cuda.memory`` of the simulated device: the pool, its pointers, and the error it raises."""

from gpucell.backend.sim._memory import (
    Memory,
    MemoryPointer,
    MemoryPool,
    OutOfMemoryError,
    alloc,
    get_allocator,
    set_allocator,
)

__all__ = ["Memory", "MemoryPointer", "MemoryPool", "OutOfMemoryError", "alloc", "get_allocator", "set_allocator"]
