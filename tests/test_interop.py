"""Zero-copy exchange: __array__, DLPack (NumPy, PyTorch, CuPy) and __cuda_array_interface__."""

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, backend


def test_array_protocol(device):
    t = Tensor([[1.0, 2.0]], device=device)
    host = np.asarray(t)
    assert type(host) is np.ndarray and host.dtype == np.float32
    np.testing.assert_array_equal(host, [[1.0, 2.0]])
    np.testing.assert_array_equal(np.array(t, dtype=np.float64), [[1.0, 2.0]])
    assert np.array(t, dtype=np.float64).dtype == np.float64


def test_numpy_functions_accept_tensors(device):
    t = Tensor([1.0, 2.0, 3.0], device=device)
    assert np.sum(np.asarray(t)) == 6.0
    np.testing.assert_allclose(np.sqrt(np.asarray(t)), np.sqrt([1.0, 2.0, 3.0]))


def test_dlpack_device_on_cpu():
    t = Tensor([1.0], device="CPU")
    assert tuple(int(v) for v in t.__dlpack_device__()) == (1, 0)


def test_numpy_from_dlpack_shares_memory():
    t = Tensor([1.0, 2.0, 3.0], device="CPU")
    view = np.from_dlpack(t)
    np.testing.assert_array_equal(view, [1.0, 2.0, 3.0])
    t[0] = 9.0
    assert view[0] == 9.0


def test_gpucell_from_dlpack_of_numpy_shares_memory():
    source = np.arange(4, dtype=np.int32)
    t = ms.from_dlpack(source)
    assert t.dtype is ms.int32 and t.device == "CPU" and t.shape == (4,)
    source[1] = 42
    assert t.asnumpy()[1] == 42


def test_from_dlpack_round_trip(device):
    t = Tensor([[1.5, 2.5]], device=device)
    back = ms.from_dlpack(t)
    assert back.device == device and back.dtype is ms.float32
    np.testing.assert_array_equal(back.asnumpy(), [[1.5, 2.5]])


def test_from_numpy_shares_memory():
    source = np.zeros(3, np.float32)
    t = ms.from_numpy(source)
    source[2] = 5
    assert t.asnumpy()[2] == 5


def test_from_numpy_bad_input():
    with pytest.raises(TypeError, match=r"For 'from_numpy', expected a numpy.ndarray, but got list"):
        ms.from_numpy([1, 2])


def test_from_dlpack_bad_input():
    with pytest.raises(TypeError, match=r"For 'from_dlpack', expected an object with __dlpack__ .* but got "
                                        r"list"):
        ms.from_dlpack([1, 2])


def test_torch_cpu_exchange():
    torch = pytest.importorskip("torch")
    t = Tensor([1.0, 2.0], device="CPU")
    pt = torch.from_dlpack(t)
    assert pt.dtype == torch.float32
    t[1] = 5.0
    assert pt[1].item() == 5.0  # shared memory
    back = ms.from_dlpack(torch.arange(3, dtype=torch.int64))
    assert back.dtype is ms.int64
    np.testing.assert_array_equal(back.asnumpy(), [0, 1, 2])


@pytest.mark.gpu
def test_torch_cuda_exchange():
    torch = pytest.importorskip("torch")
    if not (backend.gpu_available() and torch.cuda.is_available()):
        pytest.skip("no CUDA for torch and gpucell")
    t = Tensor([1.0, 2.0], device="GPU")
    pt = torch.from_dlpack(t)
    assert pt.is_cuda
    t[0] = 3.0
    torch.cuda.synchronize()
    assert pt[0].item() == 3.0
    back = ms.from_dlpack(torch.ones(2, device="cuda"))
    assert back.device == "GPU"
    np.testing.assert_array_equal(back.asnumpy(), [1.0, 1.0])


def test_no_cuda_array_interface_on_cpu():
    t = Tensor([1.0], device="CPU")
    assert not hasattr(t, "__cuda_array_interface__")
    with pytest.raises(AttributeError, match="CPU Tensor has no __cuda_array_interface__"):
        _ = t.__cuda_array_interface__


@pytest.mark.gpu
def test_cuda_array_interface_on_gpu():
    if not backend.gpu_available():
        pytest.skip("no usable GPU")
    t = Tensor([1.0, 2.0], device="GPU")
    cai = t.__cuda_array_interface__
    assert cai["shape"] == (2,) and cai["typestr"] == "<f4"
    assert cai["data"][0] == t._data.data.ptr
    assert int(t.__dlpack_device__()[0]) == 2
    cp = backend.cupy
    view = cp.asarray(t)
    t[1] = 7.0
    assert float(view[1]) == 7.0


@pytest.mark.gpu
def test_tensor_from_cupy_array():
    if not backend.gpu_available():
        pytest.skip("no usable GPU")
    cp = backend.cupy
    t = Tensor(cp.arange(3, dtype=cp.float32))
    assert t.device == "GPU" and t.dtype is ms.float32
    t16 = Tensor(cp.arange(3), ms.float16)
    assert t16.dtype is ms.float16 and t16.device == "GPU"
    np.testing.assert_array_equal(t.asnumpy(), [0.0, 1.0, 2.0])


def test_np_array_copies_but_asarray_shares_on_cpu():
    t = Tensor([1.0, 2.0], device="CPU")
    copied = np.array(t)
    copied[0] = 5.0
    assert t.asnumpy()[0] == 1.0
    shared = np.asarray(t)
    shared[1] = 7.0
    assert t.asnumpy()[1] == 7.0
    same_dtype = np.array(t, dtype=np.float32)
    same_dtype[0] = 9.0
    assert t.asnumpy()[0] == 1.0


class _Producer:
    """A DLPack producer that only says where its data is; the import function is faked."""

    def __init__(self, device_type):
        self.device_type = device_type

    def __dlpack__(self, *args, **kwargs):
        raise AssertionError("the fake importer is called instead")

    def __dlpack_device__(self):
        return (self.device_type, 0)


@pytest.mark.parametrize("device_type, importer", [(1, "numpy"), (3, "numpy"), (2, "gpu"), (13, "gpu")])
def test_from_dlpack_sends_each_device_type_to_its_importer(monkeypatch, device_type, importer):
    calls = []
    monkeypatch.setattr(np, "from_dlpack", lambda obj: calls.append("numpy") or np.zeros(2, np.float32))
    if importer == "gpu":
        if not backend.gpu_available():
            pytest.skip("no GPU module to import CUDA memory into")
        monkeypatch.setattr(backend.cupy, "from_dlpack",
                            lambda obj: calls.append("gpu") or backend.cupy.zeros(2, np.float32))
    t = ms.from_dlpack(_Producer(device_type))
    assert calls == [importer] and t.device == ("CPU" if importer == "numpy" else "GPU")


def test_from_dlpack_refuses_other_device_types():
    with pytest.raises(ValueError, match=r"For 'from_dlpack', DLPack device type 4 is not supported"):
        ms.from_dlpack(_Producer(4))
