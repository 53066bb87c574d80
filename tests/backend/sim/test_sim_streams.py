"""Streams and events on the simulated device: what CUDA orders, and the RaceError where it does not.

Each rule both ways: the unordered program raises RaceError naming both operations, their streams
and the lines of this file that queued them; the ordered one runs and computes NumPy's values.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sim_testing import assert_names, here, label_of, site_of, streams

import gpucell.backend.sim as cp

RaceError = cp.RaceError


def _written_on(stream, n=8):
    """A fresh array written (by a kernel) on ``stream``, with the line that wrote it."""
    with stream:
        x = cp.arange(n, dtype=cp.float32)
        line = here()
        y = x * 2
    return y, line


# -- two non-blocking streams, nothing ordering them ------------------------------------------------

def test_read_after_write_on_another_stream_races(pool):
    a, b = streams()
    y, wrote = _written_on(a)
    with b:
        with pytest.raises(RaceError) as err:
            read = here()
            y + 1
    assert_names(str(err.value), "cupy.add reads it", label_of(b), site_of(read),
                 "cupy.multiply (wrote it", label_of(a), site_of(wrote))


def test_write_after_read_on_another_stream_races(pool):
    a, b = streams()
    with a:
        x = cp.ones(8, cp.float32)
    a.synchronize()
    with a:
        read = here()
        total = x.sum()
    with b:
        with pytest.raises(RaceError) as err:
            wrote = here()
            x *= 3
    assert_names(str(err.value), "cupy.multiply writes it", label_of(b), site_of(wrote),
                 "cupy.sum (read it", label_of(a), site_of(read))
    del total


def test_write_after_write_on_another_stream_races(pool):
    a, b = streams()
    with a:
        x = cp.zeros(8, cp.float32)
    a.synchronize()
    with a:
        first = here()
        x.fill(1)
    with b:
        with pytest.raises(RaceError) as err:
            second = here()
            x.fill(2)
    assert_names(str(err.value), "ndarray.fill writes it", site_of(second), "ndarray.fill (wrote it",
                 site_of(first), label_of(a), label_of(b))


def test_a_race_on_part_of_an_array_is_found_and_disjoint_parts_do_not_race(pool):
    a, b = streams()
    with a:
        x = cp.zeros(16, cp.float32)
    a.synchronize()
    with a:
        x[:8] = 1
    with b:
        x[8:] = 2  # other bytes: no race
        with pytest.raises(RaceError):
            x[4:12] = 3
    a.synchronize()
    b.synchronize()
    np.testing.assert_array_equal(x.get(), [1] * 8 + [2] * 8)


@pytest.mark.parametrize(("left", "right"), [
    ((slice(None), slice(0, 3)), (slice(None), slice(3, None))),  # column halves: the rows interleave
    ((slice(0, None, 2),), (slice(1, None, 2),)),                    # even and odd rows
    ((Ellipsis, 0), (Ellipsis, 5)),                                  # two columns
], ids=["column-halves", "even-odd-rows", "two-columns"])
def test_interleaved_views_share_no_byte_and_do_not_race(pool, left, right):
    a, b = streams()
    x = cp.zeros((4, 6), cp.float32)
    cp.cuda.Device().synchronize()
    with a:
        x[left] = 1
        x[left] += 1
    with b:
        x[right] = 5
        x[right] *= 2
    cp.cuda.Device().synchronize()
    expected = np.zeros((4, 6), np.float32)
    expected[left] = 2
    expected[right] = 10
    np.testing.assert_array_equal(x.get(), expected)


def test_interleaved_views_that_share_elements_race(pool):
    a, b = streams()
    x = cp.zeros((4, 6), cp.float32)
    cp.cuda.Device().synchronize()
    with a:
        x[:, :4] = 1
    with b, pytest.raises(RaceError):
        x[:, 3:] = 2  # column 3 is in both
    with b, pytest.raises(RaceError):
        x[1].sum()  # a whole row meets the columns a wrote
    with b:
        x[:, 5].sum()  # only column 5: a never touched it


def test_a_strided_write_does_not_hide_an_earlier_access_it_skips(pool):
    a, b = streams()
    x = cp.zeros(8, cp.float32)
    cp.cuda.Device().synchronize()
    with a:
        x[1] = 3  # a writes element 1
    b.wait_event(a.record())
    with b:
        x[::2] = 1  # ordered after a; spans x's bytes but skips element 1
    with cp.cuda.Stream(non_blocking=True), pytest.raises(RaceError) as err:
        x[1] += 1  # a third stream still races with a's write of element 1
    assert "ndarray.__setitem__ (wrote it" in str(err.value) and label_of(a) in str(err.value)


def test_reads_on_two_streams_never_race(pool):
    a, b = streams()
    with a:
        x = cp.arange(8, dtype=cp.float32)
    a.synchronize()
    with a:
        s1 = x.sum()
    with b:
        s2 = x * 1
        s3 = x.max()
    a.synchronize()
    b.synchronize()
    assert s1.item() == 28 and s3.item() == 7
    np.testing.assert_array_equal(s2.get(), np.arange(8))


def test_same_stream_is_ordered(pool):
    (a,) = streams(1)
    with a:
        x = cp.arange(8, dtype=cp.float32)
        x *= 2
        x += 1
        y = x.sum()
    a.synchronize()
    assert y.item() == (np.arange(8) * 2 + 1).sum()


# -- events ----------------------------------------------------------------------------------------

def test_record_and_wait_event_order_the_other_stream(pool):
    a, b = streams()
    y, _ = _written_on(a)
    event = a.record()
    b.wait_event(event)
    with b:
        z = y + 1
    b.synchronize()
    np.testing.assert_array_equal(z.get(stream=b), np.arange(8) * 2 + 1)


def test_event_record_method_and_wait_both_directions(pool):
    a, b = streams()
    y, _ = _written_on(a)
    event = cp.cuda.Event()
    event.record(a)
    b.wait_event(event)
    with b:
        y += 1  # b writes after a's write: ordered
    back = b.record()
    a.wait_event(back)
    with a:
        z = y * 10  # a reads b's write: ordered
    a.synchronize()
    np.testing.assert_array_equal(z.get(stream=a), (np.arange(8) * 2 + 1) * 10)


def test_an_event_recorded_before_the_write_does_not_order_it(pool):
    a, b = streams()
    with a:
        x = cp.zeros(8, cp.float32)
    a.synchronize()
    early = a.record()
    with a:
        x.fill(5)
    b.wait_event(early)
    with b, pytest.raises(RaceError):
        x + 1


def test_waiting_for_a_never_recorded_event_orders_nothing(pool):
    a, b = streams()
    y, _ = _written_on(a)
    b.wait_event(cp.cuda.Event())  # a no-op in CUDA
    with b, pytest.raises(RaceError):
        y + 1


def test_ordering_is_transitive_through_a_third_stream(pool):
    a, b, c = streams(3)
    y, _ = _written_on(a)
    b.wait_event(a.record())
    c.wait_event(b.record())
    with c:
        z = y - 1
    c.synchronize()
    np.testing.assert_array_equal(z.get(stream=c), np.arange(8) * 2 - 1)


# -- host synchronisation --------------------------------------------------------------------------

def test_stream_synchronize_orders_later_work_on_every_stream(pool):
    a, b = streams()
    y, _ = _written_on(a)
    a.synchronize()
    with b:
        z = y + 1
    b.synchronize()
    np.testing.assert_array_equal(z.get(stream=b), np.arange(8) * 2 + 1)


def test_synchronizing_another_stream_does_not_order(pool):
    a, b, c = streams(3)
    y, _ = _written_on(a)
    c.synchronize()
    with b, pytest.raises(RaceError):
        y + 1


def test_event_synchronize_orders_later_work(pool):
    a, b = streams()
    y, _ = _written_on(a)
    event = a.record()
    event.synchronize()
    assert event.done
    with b:
        z = y + 1
    b.synchronize()
    np.testing.assert_array_equal(z.get(stream=b), np.arange(8) * 2 + 1)


def test_event_synchronize_covers_only_the_work_before_the_record(pool):
    a, b = streams()
    with a:
        x = cp.zeros(8, cp.float32)
    event = a.record()
    with a:
        x.fill(1)  # after the record
    event.synchronize()
    with b, pytest.raises(RaceError):
        x + 1


def test_device_synchronize_orders_every_stream(pool):
    a, b, c = streams(3)
    y, _ = _written_on(a)
    z, _ = _written_on(b)
    cp.cuda.Device().synchronize()
    with c:
        w = y + z
    c.synchronize()
    np.testing.assert_array_equal(w.get(stream=c), np.arange(8) * 4)


def test_runtime_device_synchronize_is_device_synchronize(pool):
    a, b = streams()
    y, _ = _written_on(a)
    cp.cuda.runtime.deviceSynchronize()
    with b:
        z = y + 1
    b.synchronize()
    assert z.get(stream=b)[3] == 7


def test_stream_done_tells_the_host(pool):
    a, b = streams()
    y, _ = _written_on(a)
    assert a.done  # a query that returns True: the host has seen the work complete
    with b:
        z = y + 1
    b.synchronize()
    assert z.get(stream=b)[0] == 1


# -- the legacy default stream ---------------------------------------------------------------------

def test_non_blocking_stream_does_not_wait_for_the_legacy_stream(pool):
    (nb,) = streams(1)
    x = cp.arange(8, dtype=cp.float32)  # written on the legacy default stream
    with nb:
        with pytest.raises(RaceError) as err:
            x + 1
    assert_names(str(err.value), label_of(nb), "the legacy default stream")


def test_legacy_stream_does_not_wait_for_a_non_blocking_stream(pool):
    (nb,) = streams(1)
    y, _ = _written_on(nb)
    with pytest.raises(RaceError) as err:
        y + 1  # on the legacy default stream
    assert_names(str(err.value), "the legacy default stream", label_of(nb))


def test_blocking_stream_waits_for_the_legacy_stream(pool):
    (blocking,) = streams(1, non_blocking=False)
    assert not blocking.is_non_blocking
    x = cp.arange(8, dtype=cp.float32)  # legacy
    with blocking:
        y = x * 3
    blocking.synchronize()
    np.testing.assert_array_equal(y.get(stream=blocking), np.arange(8) * 3)


def test_legacy_stream_waits_for_a_blocking_stream(pool):
    (blocking,) = streams(1, non_blocking=False)
    y, _ = _written_on(blocking)
    z = y + 1  # legacy: waits for the blocking stream's earlier work
    np.testing.assert_array_equal(z.get(), np.arange(8) * 2 + 1)


def test_two_blocking_streams_are_ordered_through_legacy_work_between_them(pool):
    a, b = streams(2, non_blocking=False)
    y, _ = _written_on(a)
    cp.zeros(1, cp.float32)  # any work on the legacy stream waits for a, and b's later work for it
    with b:
        z = y + 1
    b.synchronize()
    assert z.get(stream=b)[1] == 3


def test_two_blocking_streams_race_without_legacy_work(pool):
    a, b = streams(2, non_blocking=False)
    y, _ = _written_on(a)
    with b, pytest.raises(RaceError):
        y + 1


def test_synchronizing_an_idle_blocking_stream_does_not_wait_for_the_legacy_stream(pool):
    (nb,) = streams(1)
    (idle,) = streams(1, non_blocking=False)
    x = cp.arange(8, dtype=cp.float32)  # legacy, still running
    idle.synchronize()  # waits for idle's own (empty) queue, not for the legacy stream's kernel
    with nb, pytest.raises(RaceError):
        x + 1


def test_the_legacy_stream_is_the_default_current_stream(pool):
    assert cp.cuda.get_current_stream() == cp.cuda.Stream.null
    assert cp.cuda.get_current_stream().ptr == 0
    (a,) = streams(1)
    with a:
        assert cp.cuda.get_current_stream() == a
    assert cp.cuda.get_current_stream() == cp.cuda.Stream.null


# -- determinism -----------------------------------------------------------------------------------

def test_detection_does_not_depend_on_timing(pool):
    """A race is a fact of the program's order, so it raises every time, whatever the delays."""
    import time

    for delay in (0.0, 0.01, 0.0, 0.02):
        a, b = streams()
        y, _ = _written_on(a)
        time.sleep(delay)  # on a GPU, enough time would hide this race; here it never does
        with b, pytest.raises(RaceError):
            y + 1


def test_current_stream_is_per_thread(pool):
    a, b = streams()
    seen = []

    def worker():
        seen.append(cp.cuda.get_current_stream())
        with b:
            seen.append(cp.cuda.get_current_stream())

    with a:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert cp.cuda.get_current_stream() == a
    assert seen == [cp.cuda.Stream.null, b]


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [None, 3, "event", np.float32(1)])
def test_wait_event_of_a_non_event_is_a_clear_type_error(bad):
    (a,) = streams(1)
    with pytest.raises(TypeError, match="Event"):
        a.wait_event(bad)


def test_record_into_a_non_event_is_a_clear_type_error():
    (a,) = streams(1)
    with pytest.raises(TypeError, match="Event"):
        a.record(event="not an event")


def test_event_record_on_a_non_stream_is_a_clear_type_error():
    with pytest.raises(TypeError, match="Stream"):
        cp.cuda.Event().record(stream=7)


def test_elapsed_time_needs_recorded_timing_events():
    start, end = cp.cuda.Event(), cp.cuda.Event()
    with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="cudaErrorInvalidResourceHandle"):
        cp.cuda.get_elapsed_time(start, end)
    start.record()
    end.record()
    end.synchronize()
    assert cp.cuda.get_elapsed_time(start, end) >= 0
    with pytest.raises(ValueError, match="Timing must be disabled"):
        cp.cuda.Event(interprocess=True)
