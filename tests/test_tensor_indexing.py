"""Tensor indexing (NumPy semantics, results are copies) and in-place index assignment."""

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, Tensor

BASE = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

READS = [
    1, -1, (0, 2), (1, -1, 3), slice(None, None, 2), (slice(None), slice(1, 3)),
    (Ellipsis, 2), (0, Ellipsis), (None, 1), (slice(None), None, 0), Ellipsis, (1, None, Ellipsis, None),
    np.array([1, 0]), [1, 0, 1], (slice(None), [2, 0]), (0, [0, 2], [1, 3]), np.array([-1]),
    BASE > 10, (BASE[:, :, 0] > 5), np.array([True, False]), True, (0, slice(None, None, -1)),
]


@pytest.mark.parametrize("index", READS, ids=lambda i: repr(i)[:30])
def test_getitem_matches_numpy(device, index):
    t = Tensor(BASE, device=device)
    out = t[index]
    expected = BASE[index]
    assert isinstance(out, Tensor)
    assert out.shape == expected.shape
    assert out.dtype is ms.float32
    np.testing.assert_array_equal(out.asnumpy(), expected)


@pytest.mark.parametrize("index", [np.array([1, 0]), np.array([True, False]), 1])
def test_tensor_indices(device, index):
    t = Tensor(BASE, device=device)
    np.testing.assert_array_equal(t[Tensor(index, device=device)].asnumpy(), BASE[index])


def test_bool_tensor_mask(device):
    t = Tensor([1.0, -2.0, 3.0], device=device)
    np.testing.assert_array_equal(t[t > 0].asnumpy(), [1.0, 3.0])


def test_getitem_result_is_a_copy(device):
    t = Tensor([1.0, 2.0, 3.0], device=device)
    part = t[0:2]
    part[0] = 50.0
    assert t.asnumpy()[0] == 1.0


def test_scalar_result_is_0d_tensor(device):
    t = Tensor([[1, 2], [3, 4]], device=device)
    out = t[1, 0]
    assert isinstance(out, Tensor) and out.shape == () and out.item() == 3


WRITES = [
    (1, 5.0), ((0, 2), -1.0), (slice(None, None, 2), 7.0), ((Ellipsis, 1), 3.0), (np.array([1, 0]), 2.0),
    (BASE > 12, 0.0), ((0, [0, 2], [1, 3]), 9.0), ((None, 0), 4.0),
]


@pytest.mark.parametrize("index, value", WRITES, ids=lambda i: repr(i)[:30])
def test_setitem_matches_numpy_in_place(device, index, value):
    t = Tensor(BASE, device=device)
    before = t._data
    t[index] = value
    expected = BASE.copy()
    expected[index] = value
    np.testing.assert_array_equal(t.asnumpy(), expected)
    assert t._data is before  # written in place, not replaced


def test_setitem_with_tensor_value_broadcasts(device):
    t = Tensor(np.zeros((2, 3)), ms.float32, device=device)
    t[:, 1:] = Tensor([1.0, 2.0], device=device)
    np.testing.assert_array_equal(t.asnumpy(), [[0, 1, 2], [0, 1, 2]])


def test_setitem_with_bool_tensor_mask(device):
    t = Tensor([1.0, -2.0, 3.0, -4.0], device=device)
    t[t < 0] = 0.0
    np.testing.assert_array_equal(t.asnumpy(), [1.0, 0.0, 3.0, 0.0])


def test_setitem_int_value_into_float_tensor(device):
    t = Tensor([1.5, 2.5], device=device)
    t[0] = 3
    assert t.dtype is ms.float32
    np.testing.assert_array_equal(t.asnumpy(), [3.0, 2.5])


def test_setitem_keeps_the_tensors_dtype(device):
    t = Tensor([1.5, 2.5], ms.float16, device=device)
    t[1] = Tensor(4.0, ms.float64, device=device)
    assert t.dtype is ms.float16
    np.testing.assert_array_equal(t.asnumpy(), np.array([1.5, 4.0], np.float16))


def test_setitem_on_parameter_keeps_object_name_dtype(device):
    p = Parameter(Tensor([1.0, 2.0, 3.0], device=device), name="b")
    data = p._data
    p[0] = 1
    assert isinstance(p, Parameter) and p.name == "b" and p.dtype is ms.float32
    assert p._data is data
    np.testing.assert_array_equal(p.asnumpy(), [1.0, 2.0, 3.0])
    p[1:] = Tensor([7.0, 8.0], device=device)
    np.testing.assert_array_equal(p.asnumpy(), [1.0, 7.0, 8.0])


@pytest.mark.parametrize("index, fragment", [
    (5, "index 5 is out of bounds for axis 0 with size 3"),
    (-4, "index -4 is out of bounds for axis 0 with size 3"),
    ((0, 9), "index 9 is out of bounds"),
])
def test_getitem_out_of_range(device, index, fragment):
    t = Tensor(np.zeros((3, 2)), device=device)
    with pytest.raises(IndexError, match=rf"For 'Tensor.__getitem__', .*{fragment}"):
        t[index]


def test_getitem_int_array_out_of_range(device):
    t = Tensor([1.0, 2.0, 3.0], device=device)
    with pytest.raises(IndexError, match=r"For 'Tensor.__getitem__', index 3 is out of bounds"):
        t[Tensor([0, 3], device=device)]


def test_getitem_too_many_indices(device):
    with pytest.raises(IndexError, match=r"For 'Tensor.__getitem__', too many indices"):
        Tensor([1.0, 2.0], device=device)[0, 0]


@pytest.mark.parametrize("index", [7, [0, 7], (0, -9)])
def test_setitem_out_of_range_leaves_data(device, index):
    t = Tensor(np.zeros((3, 2)), device=device)
    with pytest.raises(IndexError, match=r"For 'Tensor.__setitem__', index -?[79] is out of bounds"):
        t[index] = 1.0
    np.testing.assert_array_equal(t.asnumpy(), np.zeros((3, 2)))


def test_setitem_float_into_int_is_refused(device):
    t = Tensor([1, 2, 3], ms.int32, device=device)
    with pytest.raises(TypeError, match=r"For 'Tensor.__setitem__', a float value .* dtype int32"):
        t[0] = 1.5
    with pytest.raises(TypeError, match=r"For 'Tensor.__setitem__', a float value .* dtype int32"):
        t[1:] = Tensor([1.0, 2.0], device=device)
    np.testing.assert_array_equal(t.asnumpy(), [1, 2, 3])


def test_setitem_wrong_region_shape(device):
    t = Tensor([1.0, 2.0, 3.0], device=device)
    with pytest.raises(ValueError, match=r"For 'Tensor.__setitem__', the value does not fit .*shape \(3,\)"):
        t[0:2] = Tensor([1.0, 2.0, 3.0], device=device)
    np.testing.assert_array_equal(t.asnumpy(), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("index, fragment", [
    ("a", "but got str"), (1.5, "but got float"), ({0}, "but got set"),
    ([0.5, 1.0], "must hold ints or bools, but got dtype float64"),
])
def test_bad_index_types(device, index, fragment):
    t = Tensor([1.0, 2.0], device=device)
    with pytest.raises(TypeError, match=rf"For 'Tensor.__getitem__', .*{fragment}"):
        t[index]
    with pytest.raises(TypeError, match=rf"For 'Tensor.__setitem__', .*{fragment}"):
        t[index] = 1.0


def test_float_tensor_as_index_is_refused(device):
    t = Tensor([1.0, 2.0], device=device)
    with pytest.raises(TypeError, match=r"For 'Tensor.__getitem__', an index array must hold ints or bools"):
        t[Tensor([0.0], device=device)]


def test_index_tensor_used_by_operator_index(device):
    t = Tensor([10, 20, 30], device=device)
    assert [10, 20, 30][Tensor(2)] == 30
    with pytest.raises(TypeError, match="Only integer tensors"):
        [1, 2][Tensor(1.0)]
    np.testing.assert_array_equal(t[Tensor(1, device=device)].asnumpy(), 20)


@pytest.mark.parametrize("value", [[5.0, 6.0], (5, 6), np.array([5.0, 6.0])])
def test_setitem_with_list_tuple_or_array(device, value):
    t = Tensor([1.0, 2.0, 3.0], device=device)
    t[0:2] = value
    np.testing.assert_array_equal(t.asnumpy(), [5.0, 6.0, 3.0])
    assert t.dtype is ms.float32


@pytest.mark.parametrize("value, fragment", [("x", "'x' of type 'str'"), (object, "of type 'type'")])
def test_setitem_bad_value_type(device, value, fragment):
    t = Tensor([1.0, 2.0], device=device)
    with pytest.raises(TypeError, match=rf"For 'Tensor.__setitem__', the value must be .*{fragment}"):
        t[0] = value
    np.testing.assert_array_equal(t.asnumpy(), [1.0, 2.0])
