"""Device memory of the simulated GPU: host bytes per cudaMalloc, who touched them, CuPy's pool.

``Memory`` is one cudaMalloc: an aligned block of host bytes whose address is the "device pointer",
so kernels run through the host emulator read and write it directly. Each Memory keeps the
accesses not yet known to be complete (``history``): the ranges, the stream and epoch that made
them, and where they were queued; a new access is checked against it (see ``access``).

``MemoryPool`` is CuPy's pool (cupy/cuda/memory.pyx), rule for rule: sizes round up to 512 bytes;
each stream has its own arena of free chunks; ``malloc`` takes the smallest free chunk of the
current stream's arena that fits, splits off the rest, and only then allocates anew; a freed chunk
goes back to the arena of the stream that allocated it, merging with free neighbours. So a block
freed while another stream still reads it is handed straight back to its stream; the simulator
checks, at that moment, that every earlier access to it is ordered before the new owner's work.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import os
import sys
import threading
import weakref

import numpy as np

from gpucell.backend.sim import _capture, _clock, _context, _hooks
from gpucell.backend.sim._errors import RaceError

__all__ = ["Memory", "MemoryPointer", "MemoryPool", "PinnedMemoryPool", "PooledMemory", "alloc", "set_allocator",
           "get_allocator", "using_allocator", "alloc_pinned_memory", "memory_at", "site", "OutOfMemoryError",
           "describe_site", "Access"]

ALLOCATION_UNIT_SIZE = 512
_ALIGNMENT = 256  # cudaMalloc's alignment
_serials = itertools.count(1)


class OutOfMemoryError(MemoryError):
    def __init__(self, size, total, limit=0):
        super().__init__(f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes"
                         + (f", limit set to: {limit:,} bytes" if limit else "") + ").")


# ---------------------------------------------------------------------------------------------
# Where an operation was queued.

_BACKEND_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_PACKAGE_DIR = os.path.dirname(_BACKEND_DIR.rstrip(os.sep)) + os.sep


_DISPATCH = os.path.join(_PACKAGE_DIR, "ops", "_dispatch.py")  # the op choke point: name the op's own line


def site() -> tuple:
    """(innermost frame outside gpucell/backend, innermost frame outside gpucell) as (file, line)."""
    frame = sys._getframe(2)
    inner = None
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(_BACKEND_DIR) and name != _DISPATCH:
            if inner is None:
                inner = (name, frame.f_lineno)
            if not name.startswith(_PACKAGE_DIR):
                return inner, (name, frame.f_lineno)
        frame = frame.f_back
    return inner, None


def describe_site(where: tuple) -> str:
    inner, outer = where
    if inner is None:
        return "an unknown line"
    text = f"{_short(inner[0])}:{inner[1]}"
    if outer is not None and outer != inner:
        text += f" (called from {_short(outer[0])}:{outer[1]})"
    return text


def _short(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return relative if not relative.startswith("..") else path


class Access:
    """One operation's access to a byte range: kept until a later access makes it redundant.
    ``view``: None when the operation touches every byte of [lo, hi), else the NumPy view of the
    elements it touches (a strided view), so that interleaved views are not taken for overlapping."""

    __slots__ = ("lo", "hi", "write", "stream", "epoch", "what", "where", "label", "view")

    def __init__(self, lo, hi, write, stream: _clock.StreamState, epoch, what, where, view=None):
        self.lo, self.hi, self.write = lo, hi, write
        self.stream, self.epoch = stream.id, epoch
        self.label = stream.label
        self.what, self.where = what, where
        self.view = view

    def describe(self) -> str:
        kind = "wrote" if self.write else "read"
        return f"{self.what} ({kind} it on {self.label}, queued at {describe_site(self.where)})"


# ---------------------------------------------------------------------------------------------
# Memory: one cudaMalloc.

# Live Memory by start address, for raw pointers (kernel arguments, __cuda_array_interface__).
# Weak references, never removed by a finalizer: the garbage collector may run Memory.__del__ and
# then see the Memory resurrected (a PooledMemory's finalizer returns its chunk to the pool, as
# CuPy's does), so a dead reference only means "look again", and the pool re-registers a Memory
# whenever it hands out one of its chunks.
_starts: list[int] = []
_by_start: dict[int, weakref.ref] = {}
_registry_lock = threading.Lock()


def _register(memory: Memory) -> None:
    with _registry_lock:
        ref = _by_start.get(memory.ptr)
        if ref is not None and ref() is memory:
            return
        if ref is None:
            bisect.insort(_starts, memory.ptr)
        _by_start[memory.ptr] = weakref.ref(memory)
        if len(_starts) > 1024 and len(_starts) % 1024 == 0:  # drop entries of memory long gone
            live = [start for start in _starts if _by_start[start]() is not None]
            for start in set(_starts) - set(live):
                del _by_start[start]
            _starts[:] = live


class Memory:
    """One device allocation: host bytes, the accesses not known complete, its allocations."""

    __slots__ = ("size", "device_id", "_buffer", "ptr", "history", "allocations", "released", "__weakref__")

    def __init__(self, size: int):
        self.size = size
        self.device_id = _context.get_device_id()
        raw = np.empty(size + _ALIGNMENT, np.uint8)
        shift = (-raw.ctypes.data) % _ALIGNMENT
        self._buffer = raw[shift:shift + size]
        self.ptr = raw.ctypes.data + shift
        self.history: list[Access] = []
        self.allocations: dict[tuple[int, int], tuple] = {}  # (lo, hi) -> (serial, made in a capture)
        self.released = False  # given back to the driver (cudaFree) while something still holds it
        if size:
            _register(self)

    def __del__(self):
        if self.size and _capture is not None:  # None: interpreter shutdown
            _capture.note_device_free(self)

    @property
    def device(self):
        from gpucell.backend.sim._device import Device
        return Device(self.device_id)

    def __int__(self):
        return self.ptr

    def view(self, offset: int, size: int) -> np.ndarray:
        return self._buffer[offset:offset + size]

    # -- happens-before ------------------------------------------------------------------------

    def _overlaps(self, lo: int, hi: int, view, old: Access) -> bool:
        """Whether bytes [lo, hi) (only ``view``'s elements, if given) meet ``old``'s bytes."""
        if old.hi <= lo or old.lo >= hi:
            return False
        if view is None and old.view is None:
            return True
        # Strided views (x[:, :k] and x[:, k:], x[::2] and x[1::2]) interleave without sharing a
        # byte: on a GPU two streams may write them at once. NumPy tells exactly (too hard: assume so).
        mine = view if view is not None else self._buffer[lo:hi]
        theirs = old.view if old.view is not None else self._buffer[old.lo:old.hi]
        try:
            return np.shares_memory(mine, theirs, max_work=10_000)
        except np.exceptions.TooHardError:
            return True

    def check(self, lo: int, hi: int, write: bool, state: _clock.StreamState, clock: dict, what: str,
              where: tuple, history: list | None = None, view=None) -> None:
        """Raises RaceError if an earlier access of bytes [lo, hi) that conflicts with this one (at
        least one of the two writes) is not ordered before an operation of ``clock``; records nothing."""
        for old in self.history if history is None else history:
            if (write or old.write) and clock.get(old.stream, 0) < old.epoch and self._overlaps(lo, hi, view, old):
                raise RaceError(_race_message(self, lo, hi, write, state, what, where, old))

    def access(self, lo: int, hi: int, write: bool, state: _clock.StreamState, epoch: int, clock: dict,
               what: str, where: tuple, history: list | None = None, view=None) -> None:
        """Checks an access of bytes [lo, hi) by the operation (state, epoch) against earlier ones
        and records it. Raises RaceError if an earlier conflicting access is not ordered before it."""
        self.check(lo, hi, write, state, clock, what, where, history, view)
        self.record(lo, hi, write, state, epoch, clock, what, where, history, view)

    def record(self, lo: int, hi: int, write: bool, state: _clock.StreamState, epoch: int, clock: dict,
               what: str, where: tuple, history: list | None = None, view=None) -> None:
        """Records an access that ``check`` has passed."""
        records = self.history if history is None else history
        keep = []
        for old in records:
            if old.hi <= lo or old.lo >= hi:
                keep.append(old)
                continue
            before = clock.get(old.stream, 0) >= old.epoch
            # An access ordered before a new one that covers it, and conflicts with no more than the
            # new one does, can no longer be the first to race with anything: drop it. (A strided
            # new access covers nothing for sure: it may skip the old one's bytes.)
            if not (before and view is None and lo <= old.lo and old.hi <= hi and (write or not old.write)):
                keep.append(old)
        keep.append(Access(lo, hi, write, state, epoch, what, where, view))
        if history is None:
            self.history = keep
        else:
            history[:] = keep

    def claim(self, lo: int, hi: int, state: _clock.StreamState, clock: dict, what: str, where: tuple) -> None:
        """The pool hands bytes [lo, hi) to a new owner on ``state``: every earlier access must be
        ordered before the owner's next work, else RaceError (the record_stream bug class)."""
        for old in self.history:
            if old.hi <= lo or old.lo >= hi:
                continue
            if clock.get(old.stream, 0) < old.epoch:
                raise RaceError(
                    f"The memory pool handed a block (device pointer {self.ptr + lo:#x}, {hi - lo} bytes) back to "
                    f"{state.label} for {what} at {describe_site(where)}, while an earlier operation on another "
                    f"stream may still use it: {old.describe()}. CuPy's pool returns a freed block to the stream "
                    f"that allocated it at once; keep the array alive until that stream has waited for an event "
                    f"recorded after the other stream's use (PyTorch's record_stream rule).")
        _register(self)  # again, if the collector resurrected it (see _register)
        reused = any(old.lo < hi and lo < old.hi for old in self.history)
        self.history = [old for old in self.history if old.hi <= lo or old.lo >= hi]
        if reused:
            # The block is safe on its new owner's stream; another stream may use it only once it
            # is ordered after the owner's current point, whose clock covers every earlier use:
            # recorded as a write by the owner at a new epoch of its own. (Its last kernel's epoch
            # would not do: the owner may have waited for the other users since, and an event
            # recorded before that wait would wrongly order a third stream after them.)
            epoch = _clock.tick(state)
            self.history.append(Access(lo, hi, True, state, epoch, f"the pool's reuse of the block for {what}",
                                       where))
        serial = _clock.next_serial()
        # Allocations made inside a capture belong to that graph, whose replays rewrite them.
        self.allocations[(lo, hi)] = (serial, state.capture is not None)
        for key in [k for k in self.allocations if lo <= k[0] and k[1] <= hi and k != (lo, hi)]:
            del self.allocations[key]


def _race_message(memory: Memory, lo, hi, write, state, what, where, old: Access) -> str:
    kind = "writes" if write else "reads"
    return (f"Race on device memory {memory.ptr + max(lo, old.lo):#x} (bytes {max(lo, old.lo) - 0}.."
            f"{min(hi, old.hi)} of a {memory.size}-byte allocation): {what} {kind} it on {state.label}, queued at "
            f"{describe_site(where)}, but nothing orders it after {old.describe()}. On a GPU the two may run "
            f"at the same time. Order them with an event (stream.wait_event(other_stream.record())) or run "
            f"both on one stream.")


def memory_at(address: int) -> tuple[Memory, int] | None:
    """(Memory, offset) of the live allocation holding ``address``, or None."""
    with _registry_lock:
        # The nearest live start at or below ``address``: host buffers are reused by malloc, so a
        # dead entry not yet pruned may start inside a newer live allocation; step over those.
        # Live allocations never overlap, so the first live entry decides.
        index = bisect.bisect_right(_starts, address) - 1
        memory = None
        while index >= 0 and memory is None:
            ref = _by_start.get(_starts[index])
            memory = ref() if ref is not None else None
            index -= 1
    if memory is None or address >= memory.ptr + max(memory.size, 1):
        return None
    return memory, address - memory.ptr


# ---------------------------------------------------------------------------------------------
# Pointers and pooled memory.

class MemoryPointer:
    """A pointer into device memory: ``mem`` (Memory or PooledMemory) and a byte ``offset``."""

    __slots__ = ("mem", "ptr", "device_id", "_memory", "_base")

    def __init__(self, mem, offset: int):
        self.mem = mem
        memory, base = (mem.memory, mem.offset) if isinstance(mem, PooledMemory) else (mem, 0)
        self._memory = memory
        self._base = base + offset
        self.ptr = memory.ptr + base + offset if memory.size else 0
        self.device_id = memory.device_id

    @property
    def device(self):
        return self._memory.device

    def __int__(self):
        return self.ptr

    def __add__(self, offset: int):
        return MemoryPointer(self.mem, self._base - (self.mem.offset if isinstance(self.mem, PooledMemory) else 0)
                             + offset)

    def __sub__(self, offset: int):
        return self + (-offset)

    def __repr__(self):
        return f"<MemoryPointer 0x{self.ptr:x} device={self.device_id} mem={self.mem!r}>"

    # The simulator's own accessors (CuPy's MemoryPointer has none of them, so they are private).
    def _host_view(self, size: int) -> np.ndarray:
        """The ``size`` bytes at this pointer, as the simulator's host memory (uint8)."""
        return self._memory.view(self._base, size)


class _Chunk:
    __slots__ = ("memory", "offset", "size", "prev", "next", "arena", "serial")

    def __init__(self, memory: Memory, offset: int, size: int, arena):
        self.memory, self.offset, self.size, self.arena = memory, offset, size, arena
        self.prev = self.next = None
        self.serial = next(_serials)  # a stable tie-break, as CuPy's chunk address is

    def split(self, size: int):
        if self.size <= size:
            return None
        rest = _Chunk(self.memory, self.offset + size, self.size - size, self.arena)
        self.size = size
        if self.next is not None:
            rest.next = self.next
            rest.next.prev = rest
        self.next = rest
        rest.prev = self
        return rest

    def merge_next(self) -> None:
        following = self.next
        self.size += following.size
        self.next = following.next
        if following.next is not None:
            following.next.prev = self


class _Arena:
    """The free chunks of one stream, ordered by (size, serial): CuPy's std::set index."""

    def __init__(self):
        self.index: list[tuple[int, int, _Chunk]] = []

    def insert(self, chunk: _Chunk, merge: bool = True) -> None:
        if merge:
            while chunk.next is not None and self.remove(chunk.next):
                chunk.merge_next()
            while chunk.prev is not None and self.remove(chunk.prev):
                chunk = chunk.prev
                chunk.merge_next()
        bisect.insort(self.index, (chunk.size, chunk.serial, chunk))

    def remove(self, chunk: _Chunk) -> bool:
        key = (chunk.size, chunk.serial)
        i = bisect.bisect_left(self.index, key, key=lambda item: item[:2])
        if i < len(self.index) and self.index[i][2] is chunk:
            del self.index[i]
            return True
        return False

    def take(self, size: int) -> _Chunk | None:
        i = bisect.bisect_left(self.index, (size, 0), key=lambda item: item[:2])
        if i == len(self.index):
            return None
        chunk = self.index.pop(i)[2]
        rest = chunk.split(size)
        if rest is not None:
            self.insert(rest, merge=False)
        return chunk


class PooledMemory:
    """A chunk handed out by a MemoryPool; freeing it (its last reference) returns the chunk."""

    __slots__ = ("memory", "offset", "size", "ptr", "device_id", "pool", "chunk", "__weakref__")

    def __init__(self, chunk: _Chunk, pool: MemoryPool):
        self.chunk = chunk
        self.memory, self.offset, self.size = chunk.memory, chunk.offset, chunk.size
        self.ptr = chunk.memory.ptr + chunk.offset
        self.device_id = chunk.memory.device_id
        self.pool = weakref.ref(pool)

    def __del__(self):
        self.free()

    def free(self) -> None:
        pool = self.pool() if self.pool is not None else None
        if pool is not None and self.chunk is not None:
            _hooks.free_pre(self.size, self.ptr, id(self))
            # No longer a live allocation: a graph may write this memory again (see Graph.launch).
            self.memory.allocations.pop((self.offset, self.offset + self.size), None)
            pool._free(self.chunk)
            _hooks.free_post(self.size, self.ptr, id(self))
        self.chunk = None

    def __int__(self):
        return self.ptr


def _round_size(size: int) -> int:
    return -(-size // ALLOCATION_UNIT_SIZE) * ALLOCATION_UNIT_SIZE


class MemoryPool:
    """CuPy's memory pool (``cupy.cuda.MemoryPool``) over simulated device memory."""

    def __init__(self, allocator=None):
        self._arenas: dict[tuple[int, int], _Arena] = {}  # (device, stream id) -> free chunks
        self._total: dict[int, int] = {}
        self._in_use: dict[int, int] = {}
        self._limit = 0
        self._lock = threading.RLock()

    def malloc(self, size: int) -> MemoryPointer:
        """Allocates ``size`` bytes on the current device for the current stream."""
        from gpucell.backend.sim import _streams

        size = int(size)
        if size < 0:
            raise ValueError(f"For 'MemoryPool.malloc', the size must be >= 0, but got {size}.")
        rounded = _round_size(size)
        _hooks.malloc_pre(size, rounded)
        device = _context.get_device_id()
        if rounded == 0:
            return MemoryPointer(Memory(0), 0)
        state = _streams.current_state()
        with self._lock:
            arena = self._arenas.setdefault((device, state.id), _Arena())
            chunk = arena.take(rounded)
            if chunk is None:
                limit = self._limit
                total = self._total.get(device, 0)
                if limit and total + rounded > limit:
                    raise OutOfMemoryError(rounded, total, limit)
                chunk = _Chunk(Memory(rounded), 0, rounded, arena)
                self._total[device] = total + rounded
            self._in_use[device] = self._in_use.get(device, 0) + chunk.size
        clock = _clock.prepare(state)
        where = site()
        chunk.memory.claim(chunk.offset, chunk.offset + chunk.size, state, clock, "a new array", where)
        _capture.note_allocation(state, chunk.memory, chunk.offset, chunk.offset + chunk.size, clock, where)
        pointer = MemoryPointer(PooledMemory(chunk, self), 0)
        _hooks.malloc_post(size, rounded, pointer)
        return pointer

    def _free(self, chunk: _Chunk) -> None:
        with self._lock:
            device = chunk.memory.device_id
            self._in_use[device] = self._in_use.get(device, 0) - chunk.size
            chunk.arena.insert(chunk)

    def free_all_blocks(self, stream=None) -> None:
        """Returns every free chunk that is not part of a split allocation to the device."""
        from gpucell.backend.sim import _streams

        released = 0
        with self._lock:
            if stream is None:
                arenas = list(self._arenas.values())
            else:
                key = (_context.get_device_id(), _streams.state_of(stream).id)
                arenas = [self._arenas[key]] if key in self._arenas else []
            for arena in arenas:
                kept = []
                for size, serial, chunk in arena.index:
                    if chunk.next is None and chunk.prev is None:
                        chunk.memory.released = True
                        device = chunk.memory.device_id
                        self._total[device] = self._total.get(device, 0) - chunk.size
                        released += 1
                    else:
                        kept.append((size, serial, chunk))
                arena.index = kept
        if released and _capture.any_capturing():
            # cudaFree synchronises the device, which CUDA refuses while any stream captures (with
            # nothing to free CuPy calls no cudaFree, and the capture stays valid).
            _capture.invalidate_all("MemoryPool.free_all_blocks (cudaFree) during a capture")

    def n_free_blocks(self) -> int:
        return sum(len(arena.index) for arena in self._arenas.values())

    def used_bytes(self) -> int:
        return self._in_use.get(_context.get_device_id(), 0)

    def total_bytes(self) -> int:
        return self._total.get(_context.get_device_id(), 0)

    def free_bytes(self) -> int:
        return self.total_bytes() - self.used_bytes()

    def set_limit(self, size=None, fraction=None) -> None:
        if fraction is not None:
            if not 0 <= fraction <= 1:
                raise ValueError(f"memory limit fraction out of range: {fraction}")
            from gpucell.backend.sim._device import TOTAL_MEMORY
            size = int(TOTAL_MEMORY * fraction)
        self._limit = int(size or 0)

    def get_limit(self) -> int:
        return self._limit


def _malloc(size: int) -> MemoryPointer:
    """The raw allocator (cudaMalloc, no pool): CuPy's ``cupy.cuda.memory._malloc``."""
    return MemoryPointer(Memory(int(size)), 0)


_default_pool = MemoryPool()
_allocator = _default_pool.malloc  # cupy/__init__.py installs the default pool's malloc
_tls = threading.local()


def get_default_memory_pool() -> MemoryPool:
    return _default_pool


def get_allocator():
    allocator = getattr(_tls, "allocator", None)
    return allocator if allocator is not None else _allocator


def set_allocator(allocator=None) -> None:
    """Sets the current allocator for GPU memory (``None``: the raw allocator, no pool, as in CuPy)."""
    global _allocator
    if getattr(_tls, "allocator", None) is not None:
        raise ValueError("Can't change the global allocator inside ``using_allocator`` context manager")
    # CuPy's None means cudaMalloc without a pool (memory.pyx), not "the default pool again".
    _allocator = allocator if allocator is not None else _malloc


@contextlib.contextmanager
def using_allocator(allocator=None):
    """Sets a thread-local allocator for GPU memory inside the context manager (``None``: no pool)."""
    previous = getattr(_tls, "allocator", None)
    _tls.allocator = allocator if allocator is not None else _malloc
    try:
        yield
    finally:
        _tls.allocator = previous


def alloc(size: int) -> MemoryPointer:
    """Calls the current allocator."""
    return get_allocator()(size)


# ---------------------------------------------------------------------------------------------
# Pinned host memory.

class PinnedMemoryPointer(bytearray):
    """Page-locked host memory (plain host bytes here) that NumPy can view: ``np.frombuffer(p, ...)``."""

    @property
    def ptr(self) -> int:
        return np.frombuffer(self, np.uint8).ctypes.data if len(self) else 0

    @property
    def size(self) -> int:
        return len(self)


class PinnedMemoryPool:
    """``cupy.cuda.PinnedMemoryPool``: hands out page-locked host buffers."""

    def __init__(self, allocator=None):
        self._allocator = allocator  # accepted as CuPy does; host bytes need no allocator here

    def malloc(self, size: int) -> PinnedMemoryPointer:
        return PinnedMemoryPointer(int(size))

    def free_all_blocks(self) -> None:
        return None

    def n_free_blocks(self) -> int:
        return 0


_default_pinned_pool = PinnedMemoryPool()


def get_default_pinned_memory_pool() -> PinnedMemoryPool:
    return _default_pinned_pool


def alloc_pinned_memory(size: int) -> PinnedMemoryPointer:
    """Page-locked host memory of ``size`` bytes."""
    return _default_pinned_pool.malloc(size)
