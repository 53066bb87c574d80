"""Tensor construction, properties, conversion, copying and moving between devices."""

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, backend


@pytest.mark.parametrize("data", [3, 2.5, True, [1, 2, 3], [[1.0, 2.0], [3.0, 4.0]], (1, 2), [[True]]])
def test_from_python_data(device, data):
    t = Tensor(data, device=device)
    expected = np.array(data)
    assert t.shape == expected.shape
    assert t.ndim == expected.ndim
    assert t.size == expected.size
    np.testing.assert_array_equal(t.asnumpy(), expected)
    assert t.device == device


def test_from_numpy_copies(device):
    source = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = Tensor(source, device=device)
    source[0, 0] = 100
    assert t.asnumpy()[0, 0] == 0
    assert t.shape == (2, 3) and isinstance(t.shape, tuple)
    assert t.dtype is ms.float32


def test_from_tensor_copies_and_casts(device):
    a = Tensor([1.5, 2.5], device=device)
    b = Tensor(a)
    c = Tensor(a, ms.int32)
    a[0] = 9.0
    assert b.asnumpy()[0] == 1.5
    assert c.dtype is ms.int32
    np.testing.assert_array_equal(c.asnumpy(), [1, 2])
    assert b.device == device and c.device == device


@pytest.mark.parametrize("dtype", [ms.float16, ms.float64, ms.int8, ms.uint8, ms.bool_, "float32",
                                   np.int16])
def test_dtype_argument(device, dtype):
    t = Tensor([0, 1, 2], dtype, device=device)
    expected = ms.dtype.to_dtype(dtype)
    assert t.dtype is expected
    assert t.asnumpy().dtype == expected.numpy


def test_shape_and_init(device):
    t = Tensor(shape=(2, 3), dtype=ms.float32, init="ones", device=device)
    assert t.shape == (2, 3) and t.dtype is ms.float32
    np.testing.assert_array_equal(t.asnumpy(), np.ones((2, 3)))


def test_asnumpy_returns_an_ndarray(device):
    t = Tensor([[1, 2]], ms.int32, device=device)
    host = t.asnumpy()
    assert type(host) is np.ndarray
    assert host.dtype == np.int32
    np.testing.assert_array_equal(host, [[1, 2]])


def test_asnumpy_on_gpu_is_a_host_copy():
    pytest.importorskip("cupy")
    if not backend.gpu_available():
        pytest.skip("no usable GPU")
    t = Tensor([1.0, 2.0], device="GPU")
    host = t.asnumpy()
    host[0] = 5
    assert t.asnumpy()[0] == 1.0


def test_astype(device):
    t = Tensor([1.7, -2.2], device=device)
    out = t.astype(ms.int32)
    assert out.dtype is ms.int32 and t.dtype is ms.float32
    np.testing.assert_array_equal(out.asnumpy(), [1, -2])
    assert t.astype("float16").dtype is ms.float16
    assert out.device == device


def test_item(device):
    assert Tensor([[5]], device=device).item() == 5
    assert isinstance(Tensor([[5]], device=device).item(), int)
    assert Tensor(2.5, device=device).item() == 2.5
    assert Tensor([4, 7, 9], device=device).item(1) == 7
    assert float(Tensor(1.5, device=device)) == 1.5 and int(Tensor(3, device=device)) == 3


def test_item_of_many_elements_is_refused(device):
    with pytest.raises(ValueError, match=r"For 'Tensor.item'.*shape \(2,\)"):
        Tensor([1, 2], device=device).item()


def test_copy_is_independent(device):
    t = Tensor([1.0, 2.0], device=device)
    c = t.copy()
    c[0] = 7.0
    assert t.asnumpy()[0] == 1.0 and c.asnumpy()[0] == 7.0
    assert c.dtype is t.dtype and c.device == device


def test_len_iter_bool(device):
    t = Tensor([[1, 2], [3, 4], [5, 6]], device=device)
    assert len(t) == 3
    rows = [row.asnumpy().tolist() for row in t]
    assert rows == [[1, 2], [3, 4], [5, 6]]
    assert bool(Tensor([1], device=device)) is True and bool(Tensor(0.0, device=device)) is False
    with pytest.raises(ValueError, match="2 elements"):
        bool(Tensor([1, 2], device=device))
    with pytest.raises(TypeError, match="0-d Tensor"):
        len(Tensor(1, device=device))


def test_tolist_and_T(device):
    t = Tensor([[1, 2, 3]], device=device)
    assert t.tolist() == [[1, 2, 3]]
    assert t.T.shape == (3, 1)
    np.testing.assert_array_equal(t.T.asnumpy(), [[1], [2], [3]])


def test_move_to_same_device_is_the_tensor(device):
    t = Tensor([1.0], device=device)
    assert t.move_to(device) is t


def test_move_to_round_trip_on_gpu():
    if not backend.gpu_available():
        pytest.skip(f"no usable GPU: {backend.gpu_status()[1]}")
    t = Tensor([1.0, 2.0], device="CPU")
    g = t.move_to("GPU")
    assert g.device == "GPU" and t.device == "CPU"
    back = g.move_to("CPU")
    np.testing.assert_array_equal(back.asnumpy(), [1.0, 2.0])


def test_move_to_gpu_without_one_says_why():
    if backend.gpu_available():
        pytest.skip("a GPU is usable here")
    t = Tensor([1.0], device="CPU")
    with pytest.raises(RuntimeError, match=r"For 'Tensor.move_to', the GPU .*cannot be used: .+"):
        t.move_to("GPU")
    assert t.device == "CPU"


@pytest.mark.parametrize("bad, exc", [("TPU", ValueError), (3, TypeError)])
def test_move_to_bad_device(device, bad, exc):
    with pytest.raises(exc, match=rf"For 'Tensor.move_to'.*{bad!r}"):
        Tensor([1.0], device=device).move_to(bad)


def test_device_argument_bad():
    with pytest.raises(ValueError, match=r"For 'Tensor'.*'NPU'"):
        Tensor([1.0], device="NPU")


@pytest.mark.parametrize("bad, exc, fragment", [
    ("abc", TypeError, r"For 'Tensor', 'input_data' must be .* but got 'abc' of type 'str'"),
    ({1: 2}, TypeError, r"For 'Tensor', 'input_data' must be .* but got \{1: 2\} of type 'dict'"),
    (b"12", TypeError, r"For 'Tensor', 'input_data' must be .* of type 'bytes'"),
    ([1, "a"], TypeError, r"For 'Tensor'.*type 'str'"),
    ([[1, 2], [3]], ValueError, r"For 'Tensor', the nested list must be rectangular"),
    (np.array(["a"]), TypeError, r"For 'Tensor', the dtype <U1 is not supported"),
    (np.ones(2, np.clongdouble), TypeError, r"For 'Tensor', the dtype complex256 is not supported"),
    (np.ones(2, "datetime64[s]"), TypeError, r"For 'Tensor', the dtype datetime64\[s\] is not supported"),
])
def test_bad_input_data(device, bad, exc, fragment):
    with pytest.raises(exc, match=fragment):
        Tensor(bad, device=device)


def test_bad_dtype_names_tensor_and_value(device):
    with pytest.raises(TypeError, match=r"For 'Tensor', unknown dtype name 'floot32'"):
        Tensor([1.0], "floot32", device=device)
    with pytest.raises(TypeError, match=r"For 'Tensor', expected a gpucell dtype, but got 3.5"):
        Tensor([1.0], 3.5, device=device)


def test_none_without_shape_and_init():
    with pytest.raises(ValueError, match=r"For 'Tensor'.*input_data=None, shape=\(2,\), init=None"):
        Tensor(None, shape=(2,))


def test_shape_with_data_is_refused():
    with pytest.raises(ValueError, match=r"For 'Tensor'.*shape=\(2,\)"):
        Tensor([1.0, 2.0], shape=(2,))


def test_current_device_is_used_by_default():
    assert Tensor([1.0]).device == ms.get_context("device_target")
