"""``cupy.cuda`` of the simulated device: streams, events, devices, memory, graphs, runtime."""

from __future__ import annotations

from gpucell.backend.sim._capture import Graph
from gpucell.backend.sim._device import Device
from gpucell.backend.sim._hooks import MemoryHook
from gpucell.backend.sim._memory import (
    Memory,
    MemoryPointer,
    MemoryPool,
    PinnedMemoryPool,
    alloc,
    alloc_pinned_memory,
    get_allocator,
    set_allocator,
    using_allocator,
)
from gpucell.backend.sim._streams import Event, ExternalStream, Stream, get_current_stream, get_elapsed_time
from gpucell.backend.sim.cuda import compiler, driver, memory, nvtx, runtime

__all__ = ["Device", "Event", "ExternalStream", "Graph", "Memory", "MemoryHook", "MemoryPointer", "MemoryPool",
           "PinnedMemoryPool", "Stream", "alloc", "alloc_pinned_memory", "compiler", "driver", "get_allocator",
           "get_current_stream", "get_device_id", "get_elapsed_time", "is_available", "memory", "nvtx", "runtime",
           "set_allocator", "using_allocator"]


def is_available() -> bool:
    return True


def get_device_id() -> int:
    return runtime.getDevice()
