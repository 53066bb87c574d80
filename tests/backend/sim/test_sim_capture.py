"""CUDA-graph capture on the simulated device (CuPy's stream.pyx / graph.pyx and CUDA's rules):
what is recorded and replayed, what CuPy refuses (the capture stays valid), what CUDA refuses (the
capture is invalidated), fork/join, and the pool handing a graph's buffers to another array."""

from __future__ import annotations

import numpy as np
import pytest
from sim_testing import assert_names, here, label_of, module, site_of, streams

import gpucell.backend.sim as cp

pytestmark = pytest.mark.usefixtures("collected")

RaceError = cp.RaceError
CUDARuntimeError = cp.cuda.runtime.CUDARuntimeError


def _prepared(stream, n=4):
    """Inputs and outputs made (and complete) before a capture on ``stream``."""
    with stream:
        x = cp.arange(n, dtype=cp.float32)
        y = cp.zeros(n, cp.float32)
    stream.synchronize()
    return x, y


def _end_invalidated(stream, why: str):
    with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureInvalidated") as err:
        stream.end_capture()
    assert why in str(err.value)
    assert not stream.is_capturing()


# -- what is recorded, what is replayed ------------------------------------------------------------

def test_capture_on_the_legacy_stream_is_refused_as_by_cupy():
    with pytest.raises(RuntimeError, match=r"^cannot capture on the default \(legacy\) stream$"):
        cp.cuda.Stream.null.begin_capture()
    with pytest.raises(RuntimeError, match="legacy"):
        cp.cuda.Stream(null=True).begin_capture()
    assert not cp.cuda.Stream.null.is_capturing()


def test_captured_work_is_recorded_not_run_and_launch_replays_it(pool):
    (s,) = streams(1)
    x, y = _prepared(s)
    with s:
        s.begin_capture()
        assert s.is_capturing()
        z = x * 2  # a fresh array, allocated now, written at replay
        cp.add(z, 1, out=y)
        y += x
        graph = s.end_capture()
    assert not s.is_capturing()
    np.testing.assert_array_equal(y.get(stream=s), np.zeros(4))  # nothing ran yet
    graph.launch(stream=s)
    np.testing.assert_array_equal(y.get(stream=s), np.arange(4) * 3 + 1)
    np.testing.assert_array_equal(z.get(stream=s), np.arange(4) * 2)


def test_each_launch_reads_the_inputs_current_values(pool):
    (s,) = streams(1)
    x, y = _prepared(s)
    with s:
        s.begin_capture()
        cp.multiply(x, x, out=y)
        graph = s.end_capture()
        for value in (1.0, 2.0, 3.0):
            x.fill(value)
            graph.launch()
            np.testing.assert_array_equal(y.get(), np.full(4, value * value))


def test_a_graph_launches_on_another_stream_as_one_operation_of_it(pool):
    s, t = streams()
    x, y = _prepared(s)
    with s:
        s.begin_capture()
        cp.add(x, 10, out=y)
        graph = s.end_capture()
    t.wait_event(s.record())
    graph.launch(stream=t)
    with s, pytest.raises(RaceError) as err:
        y.fill(0)  # s does not wait for t's replay
    assert_names(str(err.value), "Graph.launch", label_of(t), label_of(s))
    np.testing.assert_array_equal(y.get(stream=t), np.arange(4) + 10)


def test_a_graph_launch_is_checked_against_unordered_work_on_its_inputs(pool):
    s, t = streams()
    x, y = _prepared(s)
    with s:
        s.begin_capture()
        cp.add(x, 1, out=y)
        graph = s.end_capture()
    with t:
        wrote = here()
        x.fill(5)
    with pytest.raises(RaceError) as err:
        launched = here()
        graph.launch(stream=s)
    assert_names(str(err.value), "Graph.launch reads it", site_of(launched), "ndarray.fill (wrote it",
                 site_of(wrote))


def test_inside_a_capture_work_does_not_race_with_work_before_it(pool):
    """Captured work has not run: it cannot race with anything outside until it is launched."""
    s, t = streams()
    x, y = _prepared(s)
    with t:
        x.fill(2)  # unordered with s, but s only records
    with s:
        s.begin_capture()
        cp.add(x, 1, out=y)
        graph = s.end_capture()
    s.wait_event(t.record())
    graph.launch(stream=s)
    np.testing.assert_array_equal(y.get(stream=s), np.full(4, 3))


def test_raw_kernels_are_recorded_too(pool):
    (s,) = streams(1)
    x, y = _prepared(s)
    scale = module().get_function("scale")
    with s:
        s.begin_capture()
        scale((1,), (32,), (x, y, np.float32(3), np.int32(4)))
        graph = s.end_capture()
        np.testing.assert_array_equal(y.get(), np.zeros(4))
        graph.launch()
        np.testing.assert_array_equal(y.get(), np.arange(4) * 3)


def test_graph_cannot_be_made_by_hand():
    with pytest.raises(NotImplementedError, match="must be created via stream capture"):
        cp.cuda.Graph()


def test_begin_twice_and_end_without_begin_are_errors(pool):
    (s,) = streams(1)
    with pytest.raises(CUDARuntimeError):
        s.end_capture()
    s.begin_capture()
    with pytest.raises(CUDARuntimeError, match="already capturing"):
        s.begin_capture()
    s.end_capture()


# -- CuPy's own refusals: the capture stays valid --------------------------------------------------

def test_cublas_is_refused_with_cupys_message_and_the_capture_stays_valid(pool):
    (s,) = streams(1)
    with s:
        a = cp.ones((2, 2), cp.float32)
    s.synchronize()
    with s:
        s.begin_capture()
        with pytest.raises(NotImplementedError,
                           match="^calling cuBLAS API during stream capture is currently unsupported$"):
            cp.matmul(a, a)
        with pytest.raises(NotImplementedError, match="cuBLAS"):
            a @ a
        with pytest.raises(NotImplementedError, match="cuBLAS"):
            cp.dot(a, a)
        b = a + 1
        graph = s.end_capture()  # still valid
        graph.launch()
        np.testing.assert_array_equal(b.get(), np.full((2, 2), 2))


def test_integer_matmul_is_not_cublas_and_is_captured(pool):
    (s,) = streams(1)
    with s:
        a = cp.arange(4, dtype=cp.int32).reshape(2, 2)
    s.synchronize()
    with s:
        s.begin_capture()
        c = cp.matmul(a, a)
        graph = s.end_capture()
        graph.launch()
        np.testing.assert_array_equal(c.get(), np.arange(4).reshape(2, 2) @ np.arange(4).reshape(2, 2))


@pytest.mark.parametrize(("what", "run", "message"), [
    ("asarray", lambda x: cp.asarray(np.ones(3)), "so H2D transfers are disallowed"),
    ("set", lambda x: x.set(np.ones(4, np.float32)), "so H2D transfers are disallowed"),
    ("asnumpy", lambda x: cp.asnumpy(x), "so D2H transfers are disallowed"),
    ("get", lambda x: x.get(), "so D2H transfers are disallowed"),
    ("item", lambda x: x[0].item(), "so D2H transfers are disallowed"),
    ("bool", lambda x: bool(x[0]), "so D2H transfers are disallowed"),
    ("mask", lambda x: x[x > 1], "so D2H transfers are disallowed"),
    ("nonzero", lambda x: cp.nonzero(x), "so D2H transfers are disallowed"),
])
def test_host_transfers_are_refused_with_cupys_message_and_the_capture_stays_valid(pool, what, run, message):
    (s,) = streams(1)
    x, y = _prepared(s)
    with s:
        s.begin_capture()
        with pytest.raises(RuntimeError, match=f"^the current stream is capturing, {message}$"):
            run(x)
        cp.add(x, 1, out=y)
        graph = s.end_capture()
        graph.launch()
        np.testing.assert_array_equal(y.get(), np.arange(4) + 1)


# -- CUDA's refusals: the capture is invalidated ---------------------------------------------------

def test_stream_synchronize_in_capture_invalidates_it(pool):
    (s,) = streams(1)
    s.begin_capture()
    with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureUnsupported"):
        s.synchronize()
    _end_invalidated(s, "Stream.synchronize")


def test_is_capturing_of_an_invalidated_capture_raises(pool):
    (s,) = streams(1)
    s.begin_capture()
    with pytest.raises(CUDARuntimeError):
        s.synchronize()
    with pytest.raises(RuntimeError, match="invalidated"):
        s.is_capturing()
    _end_invalidated(s, "Stream.synchronize")


def test_device_synchronize_in_capture_invalidates_it(pool):
    (s,) = streams(1)
    s.begin_capture()
    with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureUnsupported"):
        cp.cuda.Device().synchronize()
    _end_invalidated(s, "Device.synchronize")


def test_free_all_blocks_in_capture_invalidates_it(pool):
    (s,) = streams(1)
    spare = cp.empty(1000, cp.float32)
    del spare  # a free block: free_all_blocks gives it back to the driver (cudaFree)
    s.begin_capture()
    pool.free_all_blocks()
    _end_invalidated(s, "free_all_blocks")


def test_free_all_blocks_with_nothing_to_free_leaves_the_capture_valid(pool):
    (s,) = streams(1)
    s.begin_capture()
    pool.free_all_blocks()  # no free chunk: CuPy calls no cudaFree
    graph = s.end_capture()
    graph.launch(stream=s)


def test_event_synchronize_of_a_captured_event_invalidates_it(pool):
    (s,) = streams(1)
    s.begin_capture()
    event = s.record()
    with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureUnsupported"):
        event.synchronize()
    _end_invalidated(s, "Event.synchronize")


def test_querying_a_capturing_stream_invalidates_it(pool):
    (s,) = streams(1)
    s.begin_capture()
    with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureUnsupported"):
        s.done
    _end_invalidated(s, "query")


def test_add_callback_in_capture_invalidates_it(pool):
    (s,) = streams(1)
    s.begin_capture()
    with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureUnsupported"):
        s.add_callback(lambda stream, status, arg: None, None)
    _end_invalidated(s, "add_callback")


def test_work_after_an_invalidation_is_not_recorded(pool):
    (s,) = streams(1)
    x, y = _prepared(s)
    with s:
        s.begin_capture()
        with pytest.raises(CUDARuntimeError):
            s.synchronize()
        cp.add(x, 1, out=y)  # CUDA records nothing into an invalidated capture
        _end_invalidated(s, "Stream.synchronize")
        np.testing.assert_array_equal(y.get(), np.zeros(4))


def test_legacy_stream_work_while_a_blocking_stream_captures_is_refused(pool):
    (s,) = streams(1, non_blocking=False)
    with s:
        s.begin_capture()
    with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureImplicit"):
        cp.zeros(4, cp.float32)  # the legacy stream would wait for the capturing blocking stream
    _end_invalidated(s, "legacy")


def test_legacy_stream_work_while_a_non_blocking_stream_captures_runs(pool):
    (s,) = streams(1)
    s.begin_capture()
    z = cp.zeros(4, cp.float32) + 1  # non-blocking: no implicit dependency
    graph = s.end_capture()
    graph.launch(stream=s)
    np.testing.assert_array_equal(z.get(), np.ones(4))


# -- host functions --------------------------------------------------------------------------------

def test_launch_host_func_is_captured_and_runs_at_each_replay(pool):
    (s,) = streams(1)
    calls = []
    s.begin_capture()
    s.launch_host_func(calls.append, "replayed")
    graph = s.end_capture()
    assert calls == []
    graph.launch(stream=s)
    graph.launch(stream=s)
    assert calls == ["replayed", "replayed"]


def test_launch_host_func_does_not_synchronise_the_host(pool):
    a, b = streams()
    calls = []
    with a:
        x = cp.arange(4, dtype=cp.float32)
    a.launch_host_func(calls.append, 1)
    assert calls == [1]  # it ran once a's earlier work was done
    with b, pytest.raises(RaceError):
        x.fill(0)  # but the host never waited for a


# -- fork and join ---------------------------------------------------------------------------------

def test_fork_join_through_events_is_captured_and_replayed(pool):
    s, side = streams()
    x, a = _prepared(s)
    with s:
        b = cp.zeros(4, cp.float32)
    s.synchronize()
    with s:
        s.begin_capture()
        cp.multiply(x, 2, out=a)
        side.wait_event(s.record())  # fork: side joins the capture
        assert side.is_capturing()
        with side:
            cp.add(x, 1, out=b)
        s.wait_event(side.record())  # join
        c = a + b
        graph = s.end_capture()
    assert not side.is_capturing()
    np.testing.assert_array_equal(b.get(stream=s), np.zeros(4))
    graph.launch(stream=s)
    np.testing.assert_array_equal(c.get(stream=s), np.arange(4) * 3 + 1)
    with s:
        x.fill(1)
    graph.launch(stream=s)
    np.testing.assert_array_equal(c.get(stream=s), np.full(4, 4))


def test_an_unjoined_fork_is_refused_at_end_capture(pool):
    s, side = streams()
    x, y = _prepared(s)
    s.begin_capture()
    side.wait_event(s.record())
    with side:
        cp.add(x, 1, out=y)
    with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureUnjoined") as err:
        s.end_capture()
    assert label_of(side) in str(err.value)
    assert not side.is_capturing() and not s.is_capturing()


def test_a_fork_joined_before_its_last_work_is_unjoined(pool):
    s, side = streams()
    x, y = _prepared(s)
    s.begin_capture()
    side.wait_event(s.record())
    joined = side.record()
    with side:
        cp.add(x, 1, out=y)  # after the event s waits for
    s.wait_event(joined)
    with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureUnjoined"):
        s.end_capture()


def test_a_fork_with_no_work_must_still_be_joined(pool):
    s, side = streams()
    s.begin_capture()
    side.wait_event(s.record())
    with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureUnjoined"):
        s.end_capture()


def test_waiting_for_an_event_of_another_capture_is_refused(pool):
    s, t = streams()
    s.begin_capture()
    t.begin_capture()
    with pytest.raises(CUDARuntimeError, match="cudaErrorStreamCaptureMerge"):
        t.wait_event(s.record())
    _end_invalidated(s, "two captures")
    t.end_capture()


def test_unordered_work_of_two_forked_streams_races_inside_the_capture(pool):
    s, side = streams()
    x, y = _prepared(s)
    s.begin_capture()
    side.wait_event(s.record())
    with side:
        wrote = here()
        cp.add(x, 1, out=y)
    with s:
        with pytest.raises(RaceError) as err:
            read = here()
            y * 2
    s.wait_event(side.record())
    s.end_capture()
    assert_names(str(err.value), "cupy.multiply reads it", label_of(s), site_of(read), "cupy.add (wrote it",
                 label_of(side), site_of(wrote))


def test_forked_streams_reading_the_same_input_do_not_race(pool):
    s, side = streams()
    x, y = _prepared(s)
    with s:
        z = cp.zeros(4, cp.float32)
    s.synchronize()
    with s:
        s.begin_capture()
        side.wait_event(s.record())
        with side:
            cp.add(x, 1, out=y)
        cp.multiply(x, 2, out=z)
        s.wait_event(side.record())
        graph = s.end_capture()
        graph.launch()
        np.testing.assert_array_equal(y.get() + z.get(), np.arange(4) * 3 + 1)


# -- the pool and a graph's buffers ----------------------------------------------------------------

def test_a_graph_whose_buffer_the_pool_gave_to_a_new_array_is_refused_at_launch(pool):
    (s,) = streams(1)
    with s:
        t = cp.zeros(1000, cp.float32)
    s.synchronize()
    with s:
        s.begin_capture()
        t += 1
        graph = s.end_capture()
        pointer = t.data.ptr
        del t  # CuPy's Graph keeps no array alive: the block goes back to s's free list
        u = cp.zeros(1000, cp.float32)
        assert u.data.ptr == pointer
        with pytest.raises(RaceError, match="handed to a new, still live array since the capture"):
            graph.launch()
        np.testing.assert_array_equal(u.get(), np.zeros(1000))


def test_a_temporary_freed_inside_the_capture_is_reused_legally_inside_it(pool):
    (s,) = streams(1)
    x, y = _prepared(s)
    with s:
        s.begin_capture()
        t = x * 2
        cp.add(t, 1, out=y)
        del t
        u = x * 3  # may take t's block: the same stream, in order
        cp.add(u, y, out=y)
        graph = s.end_capture()
        graph.launch()
        np.testing.assert_array_equal(y.get(), np.arange(4) * 5 + 1)


def test_a_graph_over_memory_freed_to_the_driver_is_refused_at_launch(pool):
    (s,) = streams(1)
    with s:
        t = cp.zeros(1000, cp.float32)
    s.synchronize()
    with s:
        s.begin_capture()
        t += 1
        graph = s.end_capture()
    del t
    pool.free_all_blocks()
    with pytest.raises(CUDARuntimeError, match="cudaErrorIllegalAddress"):
        graph.launch(stream=s)


def test_a_graph_with_a_private_pool_keeps_its_buffers(pool):
    """The legal pattern (gpucell.backend.graphs): the capture allocates from a pool only the
    graph uses, so nothing else can be handed its blocks."""
    (s,) = streams(1)
    x, y = _prepared(s)
    private = cp.cuda.MemoryPool()
    with cp.cuda.using_allocator(private.malloc), s:
        s.begin_capture()
        t = x * 2
        cp.add(t, 1, out=y)
        del t
        graph = s.end_capture()
    with s:
        others = [cp.zeros(4, cp.float32) for _ in range(4)]  # from the test's pool, not the graph's
        graph.launch()
        np.testing.assert_array_equal(y.get(), np.arange(4) * 2 + 1)
    del others
