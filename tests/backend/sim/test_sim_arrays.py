"""``cupy.ndarray`` on the simulated device: views cost nothing and share memory, copies are device
work on the current stream, results and dtypes are NumPy's (CuPy follows NumPy), and what CuPy
refuses (implicit conversion to NumPy, NumPy arrays in ufuncs, another device's arrays) is refused."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sim_testing import streams

import gpucell.backend.sim as cp

RaceError = cp.RaceError


@pytest.fixture
def busy(pool):
    """An array written on a non-blocking stream ``a`` and nothing else ordered after it: any
    device work on it from another stream ``b`` races, so an operation that runs there without a
    RaceError queued no work."""
    a, b = streams()
    with a:
        x = cp.arange(12, dtype=cp.float32).reshape(3, 4)
        x += 0  # written on a
    return x, a, b


# -- views ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("view", [
    lambda x: x[1], lambda x: x[1:, ::2], lambda x: x[..., None], lambda x: x[np.int64(2)], lambda x: x.T,
    lambda x: x.reshape(12), lambda x: x.reshape(2, 6), lambda x: x.ravel(), lambda x: x.view(cp.int32),
    lambda x: x.transpose(1, 0), lambda x: x.squeeze(), lambda x: cp.expand_dims(x, 0), lambda x: x[::-1],
    lambda x: cp.asarray(x), lambda x: x.astype(cp.float32, copy=False), lambda x: cp.broadcast_to(x, (2, 3, 4)),
], ids=["int", "slices", "newaxis", "np-int", "T", "reshape-flat", "reshape", "ravel", "view-dtype", "transpose",
        "squeeze", "expand_dims", "reversed", "asarray", "astype-nocopy", "broadcast_to"])
def test_views_queue_no_work(busy, view):
    x, _, b = busy
    with b:
        v = view(x)  # on b, unordered with a's write: a kernel here would race
    assert v is x or v.base is x.base  # x is itself a view (of arange's array): views share its base
    assert v.data.mem is x.data.mem


def test_writes_through_a_view_are_visible_in_the_base(pool):
    x = cp.zeros((3, 4), cp.float32)
    row = x[1]
    row[...] = 7
    col = x[:, 2]
    col += 1
    x.T[0, 0] = 5
    expected = np.zeros((3, 4), np.float32)
    expected[1] = 7
    expected[:, 2] += 1
    expected[0, 0] = 5
    np.testing.assert_array_equal(x.get(), expected)
    assert row.base is x and col.base is x


def test_a_view_keeps_its_memory_alive(pool):
    x = cp.arange(8, dtype=cp.float32)
    v = x[2:5]
    pointer = x.data.ptr
    del x
    y = cp.zeros(8, cp.float32)
    assert y.data.ptr != pointer  # the block is not free: v still holds it
    np.testing.assert_array_equal(v.get(), [2, 3, 4])


def test_basic_indexing_of_a_scalar_position_is_a_zero_d_view(pool):
    x = cp.arange(6, dtype=cp.int64).reshape(2, 3)
    v = x[1, 2]
    assert type(v) is cp.ndarray and v.shape == () and v.base is x.base
    assert v.item() == 5


def test_copies_are_work_on_the_current_stream(busy):
    x, _, b = busy
    for copy in (lambda: x.copy(), lambda: x.astype(cp.float64), lambda: x[:, ::3].reshape(6),
                 lambda: cp.ascontiguousarray(x.T), lambda: x.flatten()):
        with b, pytest.raises(RaceError):
            copy()


# -- advanced and boolean indexing ---------------------------------------------------------------

def test_advanced_indexing_matches_numpy_and_copies(pool):
    host = np.arange(20, dtype=np.float32).reshape(4, 5)
    x = cp.asarray(host)
    for key in ([0, 2], (slice(None), [4, 0]), ([1, 3], [2, 2]), cp.asarray([3, 0, 3])):
        expected = host[key.get() if type(key) is cp.ndarray else key]
        got = x[key]
        assert got.base is None
        np.testing.assert_array_equal(got.get(), expected)
    picked = x[[0, 1]]
    picked[...] = -1  # a copy: x is unchanged
    np.testing.assert_array_equal(x.get(), host)


def test_advanced_indexing_is_device_work(busy):
    x, _, b = busy
    index = None
    with b:
        index = cp.asarray([0, 2])
        with pytest.raises(RaceError):
            x[index]


def test_boolean_indexing_matches_numpy(pool):
    host = np.arange(10, dtype=np.int32)
    x = cp.asarray(host)
    np.testing.assert_array_equal(x[x % 3 == 0].get(), host[host % 3 == 0])
    np.testing.assert_array_equal(x[np.array([True, False] * 5)].get(), host[::2])


def test_boolean_indexing_reads_the_count_back_on_the_host(pool):
    """The result's size is the mask's count: CuPy copies it to the host and synchronises the
    current stream, so a mask another stream is still writing races with that read."""
    (a,) = streams(1)
    x = cp.arange(10, dtype=cp.int32)
    with a:
        mask = cp.zeros(10, cp.bool_)
        mask[::2] = True
    with pytest.raises(RaceError, match="ndarray.__getitem__ reads it on the legacy default stream"):
        x[mask]
    cp.cuda.Stream.null.wait_event(a.record())
    np.testing.assert_array_equal(x[mask].get(), np.arange(0, 10, 2))


# -- setitem and in-place operators --------------------------------------------------------------

def test_setitem_matches_numpy(pool):
    host = np.zeros((4, 5), np.float32)
    x = cp.zeros((4, 5), cp.float32)
    for key, value in [((0,), 1.0), ((slice(1, 3), 2), np.float32(2)), ((3,), np.arange(5, dtype=np.float32)),
                       (([0, 2], [1, 4]), 3.0), ((slice(None), 0), [9, 8, 7, 6])]:
        host[key] = value
        x[key] = value
    mask = host > 5
    host[mask] = -1
    x[cp.asarray(mask)] = -1
    x[2:, 3] = x[:2, 3]  # device values into a view of the same array
    host[2:, 3] = host[:2, 3]
    np.testing.assert_array_equal(x.get(), host)


def test_setitem_is_a_write_and_not_a_read(busy):
    """An assignment only writes its target: the race it meets is reported as a write."""
    x, _, b = busy
    with b, pytest.raises(RaceError, match="ndarray.__setitem__ writes it"):
        x[0] = 1
    with b, pytest.raises(RaceError, match="ndarray.fill writes it"):
        x.fill(0)


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "//=", "%=", "**="])
def test_inplace_operators_keep_the_array_and_match_numpy(pool, op):
    host = np.arange(1, 7, dtype=np.float32)
    x = cp.asarray(host)
    before = x
    scope = {"x": x, "h": host.copy()}
    exec(f"x {op} 3\nh {op} 3", {}, scope)
    assert scope["x"] is before
    np.testing.assert_allclose(before.get(), scope["h"], rtol=1e-6)


def test_inplace_casting_follows_numpy(pool):
    x = cp.arange(4, dtype=cp.int32)
    with pytest.raises(TypeError, match="same_kind"):
        x += 1.5
    x += 2
    y = cp.arange(4, dtype=cp.float32)
    y *= cp.arange(4, dtype=cp.int64)  # int64 into float32: same_kind allows it
    np.testing.assert_array_equal(x.get(), [2, 3, 4, 5])
    np.testing.assert_array_equal(y.get(), [0, 1, 4, 9])


def test_a_refused_inplace_operation_leaves_the_array_unchanged(pool):
    a, b = streams()
    with a:
        x = cp.zeros(16, cp.float32)
    a.synchronize()
    with a:
        x[:8] = 1
    with b:
        x[8:] = 2  # other bytes: no race
        with pytest.raises(RaceError):
            x[4:12] = 3  # overlaps a's write: refused before it writes anything
        with pytest.raises(RaceError):
            x += 5
    a.synchronize()
    b.synchronize()
    np.testing.assert_array_equal(x.get(), [1] * 8 + [2] * 8)


# -- dtypes and values against NumPy -------------------------------------------------------------

_OPERANDS = {
    "i8": np.arange(1, 5, dtype=np.int8), "i32": np.arange(1, 5, dtype=np.int32),
    "i64": np.arange(1, 5, dtype=np.int64), "u8": np.arange(1, 5, dtype=np.uint8),
    "f16": np.linspace(0.5, 2, 4).astype(np.float16), "f32": np.linspace(0.5, 2, 4).astype(np.float32),
    "f64": np.linspace(0.5, 2, 4), "b": np.array([True, False, True, True]),
    "c64": (np.arange(4) + 1j).astype(np.complex64),
}


@pytest.mark.parametrize("left", list(_OPERANDS))
@pytest.mark.parametrize("right", ["i8", "i32", "f32", "f64", "b", 3, 2.5, np.float32(2), True])
@pytest.mark.parametrize("name", ["add", "multiply", "true_divide", "maximum", "power"])
def test_binary_ufunc_dtypes_and_values_match_numpy(pool, left, right, name):
    host_left = _OPERANDS[left]
    host_right = _OPERANDS[right] if isinstance(right, str) else right
    device_right = cp.asarray(host_right) if isinstance(right, str) else right
    try:
        with np.errstate(all="ignore"):
            expected = getattr(np, name)(host_left, host_right)
    except (TypeError, OverflowError) as exc:
        with pytest.raises(type(exc)):
            getattr(cp, name)(cp.asarray(host_left), device_right)
        return
    got = getattr(cp, name)(cp.asarray(host_left), device_right)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.get(), expected)


@pytest.mark.parametrize("name", ["sqrt", "exp", "negative", "absolute", "sign", "isnan", "floor", "logical_not",
                                  "invert", "square", "reciprocal", "sin"])
@pytest.mark.parametrize("operand", list(_OPERANDS))
def test_unary_ufunc_dtypes_match_numpy(pool, name, operand):
    host = _OPERANDS[operand]
    try:
        with np.errstate(all="ignore"):
            expected = getattr(np, name)(host)
    except TypeError:
        with pytest.raises(TypeError):
            getattr(cp, name)(cp.asarray(host))
        return
    got = getattr(cp, name)(cp.asarray(host))
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.get(), expected)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "max", "min", "argmax", "any", "all", "var"])
def test_reductions_return_zero_d_device_arrays(pool, reduce):
    host = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    x = cp.asarray(host)
    whole = getattr(x, reduce)()
    assert type(whole) is cp.ndarray and whole.shape == ()
    expected = getattr(host, reduce)()
    assert whole.dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(whole.get(), expected, rtol=1e-6)
    along = getattr(cp, reduce)(x, axis=1)
    np.testing.assert_allclose(along.get(), getattr(np, reduce)(host, axis=1), rtol=1e-6)


def test_matmul_and_friends_match_numpy(pool):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose((cp.asarray(a) @ cp.asarray(b)).get(), a @ b)
    np.testing.assert_allclose(cp.dot(cp.asarray(a), cp.asarray(b)).get(), a @ b)
    np.testing.assert_allclose(cp.einsum("ij,jk->ik", cp.asarray(a), cp.asarray(b)).get(), a @ b)


def test_empty_memory_is_poisoned(pool):
    assert np.isnan(cp.empty(4, cp.float32).get()).all()
    assert (cp.empty(4, cp.int32).get() == -1).all()


# -- refusals ------------------------------------------------------------------------------------

def test_implicit_conversion_to_numpy_is_refused_with_cupys_message(pool):
    x = cp.arange(3)
    message = "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array"
    for convert in (np.asarray, np.array, np.ascontiguousarray, lambda v: np.array([v, v])):
        with pytest.raises(TypeError, match=re.escape(message)):
            convert(x)


@pytest.mark.parametrize("mix", [
    lambda x, h: cp.add(x, h), lambda x, h: x + h, lambda x, h: h + x, lambda x, h: np.add(h, x),
    lambda x, h: cp.maximum(h, x), lambda x, h: x.__iadd__(h), lambda x, h: x * h.tolist(),
], ids=["cp.add", "x+h", "h+x", "np.add", "cp.maximum", "x+=h", "x*list"])
def test_mixing_host_data_into_a_ufunc_is_refused_as_by_cupy(pool, mix):
    x = cp.arange(3, dtype=cp.float32)
    with pytest.raises(TypeError, match="Unsupported type <class '(numpy.ndarray|list)'>"):
        mix(x, np.ones(3, np.float32))


def test_out_must_be_a_device_array(pool):
    x = cp.arange(3, dtype=cp.float32)
    with pytest.raises(TypeError):
        cp.add(x, 1, out=np.empty(3, np.float32))


def test_arrays_of_another_device_are_refused(pool, monkeypatch):
    from gpucell import _config

    monkeypatch.setattr(_config, "SIM_DEVICES", 2)
    x0 = cp.arange(3, dtype=cp.float32)
    with cp.cuda.Device(1):
        x1 = cp.arange(3, dtype=cp.float32)
        assert x1.device == cp.cuda.Device(1)
        np.testing.assert_array_equal((x1 * 2).get(), [0, 2, 4])
    message = "Array device must be same as the current device: array device = 1 while current = 0"
    with pytest.raises(ValueError, match=message):
        x0 + x1
    with pytest.raises(ValueError, match=message):
        x1.sum()
    with pytest.raises(ValueError, match="array device = 0 while current = 1"), cp.cuda.Device(1):
        x0.copy()


def test_a_stream_of_another_device_is_refused(pool, monkeypatch):
    from gpucell import _config

    monkeypatch.setattr(_config, "SIM_DEVICES", 2)
    with cp.cuda.Device(1):
        s1 = cp.cuda.Stream(non_blocking=True)
    with pytest.raises(RuntimeError, match="does not match with the current device"), s1:
        pass


def test_a_device_beyond_the_count_is_refused():
    with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="cudaErrorInvalidDevice"):
        cp.cuda.Device(cp.cuda.runtime.getDeviceCount())


def test_len_and_iteration(pool):
    x = cp.arange(6, dtype=cp.float32).reshape(3, 2)
    assert len(x) == 3
    np.testing.assert_array_equal(np.stack([row.get() for row in x]), np.arange(6).reshape(3, 2))
    with pytest.raises(TypeError, match="len\\(\\) of unsized object"):
        len(x.sum())
    with pytest.raises(TypeError, match="iteration over a 0-d array"):
        iter(x.sum())
