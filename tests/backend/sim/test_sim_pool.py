"""CuPy's memory pool on the simulated device (cupy/cuda/memory.pyx, rule for rule), and the
record_stream rule: a block freed while another stream may still use it, handed straight back to
its stream by the pool, is a RaceError at the allocation that reuses it."""

from __future__ import annotations

import numpy as np
import pytest
from sim_testing import assert_names, here, label_of, site_of, streams

import gpucell.backend.sim as cp

RaceError = cp.RaceError


def _alloc(nbytes: int):
    return cp.empty(nbytes, cp.uint8)


# -- rounding, counters ----------------------------------------------------------------------------

@pytest.mark.parametrize(("nbytes", "rounded"), [(1, 512), (511, 512), (512, 512), (513, 1024), (5000, 5120)])
def test_sizes_round_up_to_512_bytes(pool, nbytes, rounded):
    x = _alloc(nbytes)
    assert x.data.mem.size == rounded
    assert pool.used_bytes() == rounded and pool.total_bytes() == rounded and pool.free_bytes() == 0
    del x
    assert pool.used_bytes() == 0 and pool.total_bytes() == rounded and pool.free_bytes() == rounded
    assert pool.n_free_blocks() == 1


def test_an_empty_array_takes_no_pool_memory(pool):
    x = cp.empty(0, cp.float32)
    assert x.data.ptr == 0 and pool.total_bytes() == 0


def test_the_pointer_is_aligned_and_arrays_do_not_overlap(pool):
    xs = [_alloc(n) for n in (1, 700, 3000, 512)]
    spans = sorted((x.data.ptr, x.data.ptr + x.data.mem.size) for x in xs)
    assert all(start % 256 == 0 for start, _ in spans)
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))


# -- per-stream reuse ------------------------------------------------------------------------------

def test_a_freed_block_is_reused_at_once_by_its_stream(pool):
    (a,) = streams(1)
    with a:
        x = _alloc(2048)
        pointer = x.data.ptr
        del x
        y = _alloc(2048)
    assert y.data.ptr == pointer
    assert pool.total_bytes() == 2048


def test_a_freed_block_is_not_reused_by_another_stream(pool):
    a, b = streams()
    with a:
        x = _alloc(2048)
    pointer = x.data.ptr
    with b:
        del x  # freed while b is current: it still goes back to a's free list
        y = _alloc(2048)
    assert y.data.ptr != pointer
    assert pool.total_bytes() == 4096
    with a:
        z = _alloc(2048)
    assert z.data.ptr == pointer


def test_the_legacy_stream_has_its_own_free_list(pool):
    (a,) = streams(1)
    x = _alloc(1024)
    pointer = x.data.ptr
    del x
    with a:
        y = _alloc(1024)
    assert y.data.ptr != pointer
    z = _alloc(1024)
    assert z.data.ptr == pointer


def test_best_fit_takes_the_smallest_free_chunk_that_fits(pool):
    blocks = [_alloc(n) for n in (4096, 1024, 2048)]
    pointers = [b.data.ptr for b in blocks]
    del blocks
    assert pool.n_free_blocks() == 3
    x = _alloc(1000)  # 1024 fits exactly
    y = _alloc(1500)  # 2048 is the smallest that fits
    assert (x.data.ptr, y.data.ptr) == (pointers[1], pointers[2])


# -- split and merge -------------------------------------------------------------------------------

def test_split_and_merge(pool):
    big = _alloc(4096)
    base = big.data.ptr
    del big
    x = _alloc(1024)  # splits the 4096 chunk: 1024 used, 3072 free
    y = _alloc(1024)  # the next 1024 of it
    assert (x.data.ptr, y.data.ptr) == (base, base + 1024)
    assert pool.total_bytes() == 4096 and pool.used_bytes() == 2048 and pool.n_free_blocks() == 1
    del x
    assert pool.n_free_blocks() == 2  # x's chunk cannot merge: its neighbour y is in use
    del y
    assert pool.n_free_blocks() == 1  # all merged back into one 4096 chunk
    whole = _alloc(4096)
    assert whole.data.ptr == base and pool.total_bytes() == 4096


def test_free_all_blocks_frees_only_unsplit_free_chunks(pool):
    kept = _alloc(4096)
    split_base = kept.data.ptr
    del kept
    part = _alloc(1024)  # the 4096 chunk is split while part lives
    lone = _alloc(8192)  # too big for the split chunk's free 3072 bytes: its own chunk
    del lone
    assert pool.total_bytes() == 4096 + 8192
    pool.free_all_blocks()
    assert pool.total_bytes() == 4096  # the split chunk's free rest stays
    assert pool.n_free_blocks() == 1
    del part  # merges back: now unsplit
    pool.free_all_blocks()
    assert pool.total_bytes() == 0 and pool.n_free_blocks() == 0
    again = _alloc(4096)
    assert pool.total_bytes() == 4096
    del again, split_base


def test_free_all_blocks_of_one_stream(pool):
    a, b = streams()
    with a:
        x = _alloc(512)
    with b:
        y = _alloc(1024)
    del x, y
    pool.free_all_blocks(stream=a)
    assert pool.total_bytes() == 1024
    pool.free_all_blocks(stream=cp.cuda.Stream(non_blocking=True))  # a stream with no free list: nothing
    assert pool.total_bytes() == 1024
    pool.free_all_blocks()
    assert pool.total_bytes() == 0


def test_set_limit_raises_out_of_memory(pool):
    pool.set_limit(size=4096)
    assert pool.get_limit() == 4096
    x = _alloc(4096)
    with pytest.raises(cp.cuda.memory.OutOfMemoryError, match="Out of memory allocating 512 bytes"):
        _alloc(1)
    del x
    y = _alloc(4096)  # the freed block is reused: no new memory
    assert y.data.mem.size == 4096


# -- allocators ------------------------------------------------------------------------------------

def test_using_allocator_with_a_private_pool():
    private = cp.cuda.MemoryPool()
    default_before = cp.get_default_memory_pool().used_bytes()
    with cp.cuda.using_allocator(private.malloc):
        x = cp.arange(256, dtype=cp.float32)  # 1024 bytes
        assert private.used_bytes() == 1024
        assert cp.cuda.get_allocator() == private.malloc
    y = cp.ones(256, cp.float32)
    assert private.used_bytes() == 1024
    assert cp.get_default_memory_pool().used_bytes() == default_before + 1024
    np.testing.assert_array_equal(x.get(), np.arange(256))
    del x, y
    assert private.used_bytes() == 0


def test_using_allocator_none_disables_the_pool():
    default = cp.get_default_memory_pool()
    before = default.total_bytes()
    with cp.cuda.using_allocator(None):
        x = cp.zeros(1000, cp.float32)
        assert not isinstance(x.data.mem, type(default.malloc(1).mem))
    assert default.total_bytes() == before
    np.testing.assert_array_equal(x.get(), np.zeros(1000))


def test_set_allocator_none_disables_the_pool_as_in_cupy():
    default = cp.get_default_memory_pool()
    try:
        cp.cuda.set_allocator(None)
        before = default.total_bytes()
        x = cp.zeros(3000, cp.float32)
        assert default.total_bytes() == before  # cudaMalloc directly, as CuPy's set_allocator(None)
        np.testing.assert_array_equal(x.get(), np.zeros(3000))
    finally:
        cp.cuda.set_allocator(default.malloc)
    y = cp.zeros(3000, cp.float32)
    assert y.data.mem.pool() is default


def test_set_allocator_inside_using_allocator_is_refused(pool):
    with pytest.raises(ValueError, match="using_allocator"):
        cp.cuda.set_allocator(pool.malloc)


def test_memory_hooks_see_malloc_and_free(pool):
    seen = []

    class Hook(cp.cuda.MemoryHook):
        name = "test_hook"

        def malloc_postprocess(self, **kwargs):
            seen.append(("malloc", kwargs["size"], kwargs["mem_size"]))

        def free_postprocess(self, **kwargs):
            seen.append(("free", kwargs["mem_size"]))

    with Hook():
        x = _alloc(100)
        del x
    assert seen == [("malloc", 100, 512), ("free", 512)]


# -- the record_stream rule ------------------------------------------------------------------------

def test_reallocating_a_block_another_stream_still_reads_races(pool):
    a, b = streams()
    with a:
        x = cp.arange(256, dtype=cp.float32)
    b.wait_event(a.record())
    with b:
        read = here()
        total = x.sum()  # b reads x
    with a:
        del x  # back to a's free list at once, though b may still be reading it
        with pytest.raises(RaceError) as err:
            allocated = here()
            cp.empty(256, cp.float32)
    assert_names(str(err.value), "memory pool handed a block", label_of(a), site_of(allocated),
                 "cupy.sum (read it", label_of(b), site_of(read), "record_stream")
    del total


def test_waiting_for_the_reader_before_dropping_the_array_makes_reuse_legal(pool):
    a, b = streams()
    with a:
        x = cp.arange(256, dtype=cp.float32)
        pointer = x.data.ptr
    b.wait_event(a.record())
    with b:
        total = x.sum()
    a.wait_event(b.record())  # a is now ordered after b's read
    with a:
        del x
        y = cp.full(256, 7, cp.float32)
    assert y.data.ptr == pointer
    a.synchronize()
    b.synchronize()
    assert total.item() == np.arange(256).sum()
    np.testing.assert_array_equal(y.get(stream=a), np.full(256, 7))


def test_waiting_for_the_reader_after_the_drop_but_before_the_reallocation_is_legal(pool):
    a, b = streams()
    with a:
        x = cp.arange(256, dtype=cp.float32)
    b.wait_event(a.record())
    with b:
        total = x.sum()
    with a:
        del x
    a.wait_event(b.record())
    with a:
        y = cp.zeros(256, cp.float32)
    a.synchronize()
    np.testing.assert_array_equal(y.get(stream=a), np.zeros(256))
    del total


def test_host_sync_of_the_reader_makes_reuse_legal(pool):
    a, b = streams()
    with a:
        x = cp.arange(256, dtype=cp.float32)
    b.wait_event(a.record())
    with b:
        total = x.sum()
    b.synchronize()
    with a:
        del x
        y = cp.zeros(256, cp.float32)
    del total, y


def test_a_reused_block_written_by_another_stream_without_waiting_races(pool):
    a, b = streams()
    with a:
        x = cp.arange(256, dtype=cp.float32)
        x *= 2  # a's last use of the block
        del x
        allocated = here()
        y = cp.empty(256, cp.float32)  # reuses the block: fine for a
    with b:
        with pytest.raises(RaceError) as err:
            y.fill(1)  # b writes it while a's earlier work on the block may still run
    assert_names(str(err.value), label_of(b), "the pool's reuse of the block", site_of(allocated), label_of(a))


def test_a_reused_block_written_by_another_stream_after_waiting_is_legal(pool):
    a, b = streams()
    with a:
        x = cp.arange(256, dtype=cp.float32)
        x *= 2
        del x
        y = cp.empty(256, cp.float32)
    b.wait_event(a.record())
    with b:
        y.fill(1)
    b.synchronize()
    np.testing.assert_array_equal(y.get(stream=b), np.ones(256))


def test_a_fresh_block_is_free_for_any_stream(pool):
    a, b = streams()
    with a:
        y = cp.empty(256, cp.float32)  # new memory from cudaMalloc: nothing else touched it
    with b:
        y.fill(1)
    b.synchronize()
    np.testing.assert_array_equal(y.get(stream=b), np.ones(256))


def test_a_block_reused_in_part_checks_only_its_bytes(pool):
    a, b = streams()
    with a:
        big = _alloc(2048)
        base = big.data.ptr
        del big
        head = _alloc(1024)
    b.wait_event(a.record())
    with b:
        head.fill(3)  # b uses the first 1024 bytes
    with a:
        tail = _alloc(1024)  # the other half: b never touched it
    assert tail.data.ptr == base + 1024
    with a:
        del head
        with pytest.raises(RaceError):
            _alloc(1024)  # the first half again, b unordered


def test_an_event_from_before_the_owners_wait_does_not_cover_the_reuse(pool):
    """The owner's wait for the reader comes after its last kernel: a third stream ordered only up
    to that kernel is not ordered after the reader, so its write to the reused block races."""
    a, b, c = streams(3)
    with a:
        x = cp.arange(256, dtype=cp.float32)
    b.wait_event(a.record())
    with b:
        total = x.sum()  # b reads the block
    early = a.record()  # after a's last kernel, before a waits for b
    a.wait_event(b.record())
    with a:
        del x
        y = cp.empty(256, cp.float32)  # legal for a: it waited for b
    c.wait_event(early)
    with c, pytest.raises(RaceError):
        y.fill(1)  # c never waited for b's read
    del total


def test_a_raw_pointer_finds_its_allocation_past_a_dead_entry_inside_it():
    """malloc reuses host buffers, so the registry of raw pointers may still hold a dead
    allocation that started inside a newer, live one (pruned only now and then): a pointer into
    the live one must find it (this was a flaky 'not in one live device allocation' under load)."""
    import bisect
    import weakref

    from gpucell.backend.sim import _memory

    x = _alloc(4096)
    live = x.data.mem.memory if hasattr(x.data.mem, "memory") else x.data.mem

    class Gone:
        pass

    ghost = Gone()
    dead = weakref.ref(ghost)
    del ghost
    inside = live.ptr + 1024
    with _memory._registry_lock:
        if inside not in _memory._by_start:
            bisect.insort(_memory._starts, inside)
        _memory._by_start[inside] = dead
    try:
        found = _memory.memory_at(live.ptr + 2048)
        assert found is not None and found[0] is live and found[1] == 2048
    finally:
        with _memory._registry_lock:
            if _memory._by_start.get(inside) is dead:
                del _memory._by_start[inside]
                _memory._starts.remove(inside)
