"""Host reads on the simulated device: ``asnumpy``, ``get``, ``item``, ``bool``, ``float``, ``repr``
copy on one stream and synchronise that stream only (as CuPy does), so data another unordered
stream writes is a RaceError; host writes (``set``, ``asarray``) are copies on the current stream."""

from __future__ import annotations

import numpy as np
import pytest
from sim_testing import assert_names, here, label_of, site_of, streams

import gpucell.backend.sim as cp

RaceError = cp.RaceError

READS = {
    "asnumpy": lambda x: cp.asnumpy(x),
    "get": lambda x: x.get(),
    "item": lambda x: x[0].item(),
    "bool": lambda x: bool(x[0]),
    "float": lambda x: float(x[0]),
    "int": lambda x: int(x[0]),
    "tolist": lambda x: x.tolist(),
    "repr": lambda x: repr(x),
    "format": lambda x: f"{x[0]:.2f}",
}


def _written_on(stream):
    with stream:
        x = cp.arange(1, 5, dtype=cp.float32)
        line = here()
        y = x * 2
    return y, line


@pytest.mark.parametrize("read", READS, ids=list(READS))
def test_a_host_read_of_data_an_unordered_stream_writes_races(pool, read):
    (a,) = streams(1)
    y, wrote = _written_on(a)
    with pytest.raises(RaceError) as err:
        READS[read](y)  # on the current (legacy) stream, which does not wait for a
    assert_names(str(err.value), "device-to-host copy", "the legacy default stream",
                 "cupy.multiply (wrote it", label_of(a), site_of(wrote))


@pytest.mark.parametrize("read", READS, ids=list(READS))
def test_a_host_read_after_wait_event_works(pool, read):
    (a,) = streams(1)
    y, _ = _written_on(a)
    cp.cuda.Stream.null.wait_event(a.record())
    READS[read](y)
    np.testing.assert_array_equal(cp.asnumpy(y), [2, 4, 6, 8])


@pytest.mark.parametrize("read", READS, ids=list(READS))
def test_a_host_read_on_the_writing_stream_works(pool, read):
    (a,) = streams(1)
    y, _ = _written_on(a)
    with a:
        READS[read](y)
        assert float(y[3]) == 8.0 and y[0].item() == 2.0 and bool(y[1]) and int(y[2]) == 6


def test_a_host_read_after_synchronize_works(pool):
    (a,) = streams(1)
    y, _ = _written_on(a)
    a.synchronize()
    np.testing.assert_array_equal(cp.asnumpy(y), [2, 4, 6, 8])


def test_a_host_read_synchronises_only_its_own_stream(pool):
    a, b = streams()
    y, _ = _written_on(a)
    with b:
        z = cp.ones(4, cp.float32)
        z.get()  # syncs b only: a's write is still unordered
    with pytest.raises(RaceError):
        y.get(stream=b)


def test_get_with_a_stream_copies_on_that_stream(pool):
    a, b = streams()
    y, _ = _written_on(a)
    with pytest.raises(RaceError) as err:
        y.get(stream=b)
    assert label_of(b) in str(err.value)
    np.testing.assert_array_equal(y.get(stream=a), [2, 4, 6, 8])  # on a, though the current stream is legacy
    np.testing.assert_array_equal(cp.asnumpy(y, stream=a), [2, 4, 6, 8])
    np.testing.assert_array_equal(y.get(stream=b), [2, 4, 6, 8])  # the host has waited for a since


def test_a_blocking_get_orders_later_work_of_every_stream_after_the_copy(pool):
    a, b = streams()
    with a:
        x = cp.arange(4, dtype=cp.float32)
    host = x.get(stream=a)  # the host waited for a's copy
    with b:
        x.fill(0)  # after the host's wait: ordered after the copy
    b.synchronize()
    np.testing.assert_array_equal(host, np.arange(4))


def test_a_non_blocking_get_does_not_wait(pool):
    a, b = streams()
    with a:
        x = cp.arange(4, dtype=cp.float32)
    a.synchronize()
    out = np.empty(4, np.float32)
    copied = here()
    x.get(stream=a, out=out, blocking=False)  # the copy is queued on a, the host goes on
    with b, pytest.raises(RaceError) as err:
        x.fill(0)  # may overwrite x while a's copy still reads it
    assert_names(str(err.value), "device-to-host copy", site_of(copied), label_of(a))
    a.synchronize()
    np.testing.assert_array_equal(out, np.arange(4))


def test_get_into_out_checks_dtype_and_shape(pool):
    x = cp.arange(4, dtype=cp.float32)
    with pytest.raises(TypeError, match="float64 array cannot be obtained from float32 array"):
        x.get(out=np.empty(4))
    with pytest.raises(ValueError, match="Shape mismatch"):
        x.get(out=np.empty(3, np.float32))
    with pytest.raises(TypeError, match="Only numpy.ndarray"):
        x.get(out=[0, 0, 0, 0])


def test_asnumpy_of_a_numpy_array_passes_through():
    host = np.arange(3)
    np.testing.assert_array_equal(cp.asnumpy(host), host)


def test_item_of_a_larger_array_is_refused(pool):
    with pytest.raises(ValueError, match="size 1"):
        cp.zeros(3).item()


def test_bool_of_an_array_with_several_elements_is_refused_as_in_numpy(pool):
    with pytest.raises(ValueError, match="truth value"):
        bool(cp.zeros(3))


# -- host writes -----------------------------------------------------------------------------------

def test_set_writes_on_the_given_stream(pool):
    a, b = streams()
    with a:
        x = cp.zeros(4, cp.float32)
    x.set(np.full(4, 3, np.float32), stream=a)
    with pytest.raises(RaceError):
        x.set(np.full(4, 5, np.float32), stream=b)  # b does not wait for a's copy
    np.testing.assert_array_equal(x.get(stream=a), [3, 3, 3, 3])


def test_set_checks_type_dtype_and_shape(pool):
    x = cp.zeros(4, cp.float32)
    with pytest.raises(TypeError, match="Only numpy.ndarray"):
        x.set([1, 2, 3, 4])
    with pytest.raises(TypeError, match="cannot be set"):
        x.set(np.zeros(4))
    with pytest.raises(ValueError, match="Shape mismatch"):
        x.set(np.zeros(5, np.float32))


def test_asarray_copies_host_data_on_the_current_stream(pool):
    (a,) = streams(1)
    host = np.arange(6, dtype=np.int32).reshape(2, 3)
    with a:
        x = cp.asarray(host)
    host[0, 0] = 100  # the copy was staged: later host changes do not reach the device
    with pytest.raises(RaceError):
        x.get()  # legacy stream, a's copy unordered
    np.testing.assert_array_equal(x.get(stream=a), np.arange(6).reshape(2, 3))
    assert x.dtype == np.int32 and x.shape == (2, 3)


@pytest.mark.parametrize("make", [lambda: cp.asarray([object(), object()]),
                                  lambda: cp.asarray(np.array([{}, 1], dtype=object)),
                                  lambda: cp.zeros(3, dtype=object),
                                  lambda: cp.empty(3, dtype="U3"),
                                  lambda: cp.asarray(np.array(["2020-01-01"], "M8[D]"))],
                         ids=["objects", "object-array", "zeros-object", "empty-str", "datetime"])
def test_arrays_of_objects_and_strings_are_refused_as_by_cupy(pool, make):
    # An object array over device bytes would hold garbage pointers: reading it crashed Python.
    with pytest.raises(ValueError, match="Unsupported dtype"):
        make()


def test_big_endian_host_data_is_byte_swapped_as_by_cupy(pool):
    x = cp.asarray(np.arange(3, dtype=">f4"))
    assert x.dtype == np.float32 and x.dtype.byteorder in "=<"
    np.testing.assert_array_equal(x.get(), [0, 1, 2])


def test_structured_dtypes_are_plain_bytes(pool):
    host = np.zeros(3, "i4,f8")
    host["f0"] = [1, 2, 3]
    x = cp.asarray(host)
    assert x.dtype == host.dtype
    np.testing.assert_array_equal(x.get()["f0"], [1, 2, 3])


def test_asarray_of_a_ragged_list_is_a_clear_value_error(pool):
    with pytest.raises(ValueError, match="inhomogeneous"):
        cp.asarray([[1, 2], [3]])
