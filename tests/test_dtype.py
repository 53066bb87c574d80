"""dtype objects, their names, inference from Python data and MindSpore's promotion rules."""

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor
from gpucell import dtype as dt


@pytest.mark.parametrize("d, title", [
    (ms.bool_, "Bool"), (ms.int8, "Int8"), (ms.int16, "Int16"), (ms.int32, "Int32"),
    (ms.int64, "Int64"), (ms.uint8, "UInt8"), (ms.float16, "Float16"), (ms.float32, "Float32"),
    (ms.float64, "Float64"), (ms.uint16, "UInt16"), (ms.uint32, "UInt32"), (ms.uint64, "UInt64"),
    (ms.complex64, "Complex64"), (ms.complex128, "Complex128"),
])
def test_str_is_mindspores_name(d, title):
    assert str(d) == title
    assert repr(d) == f"gpucell.{d.name}"
    assert f"{d}" == title


@pytest.mark.parametrize("d, np_dtype", [
    (ms.bool_, np.bool_), (ms.int8, np.int8), (ms.int16, np.int16), (ms.int32, np.int32),
    (ms.int64, np.int64), (ms.uint8, np.uint8), (ms.float16, np.float16),
    (ms.float32, np.float32), (ms.float64, np.float64), (ms.uint16, np.uint16), (ms.uint32, np.uint32),
    (ms.uint64, np.uint64), (ms.complex64, np.complex64), (ms.complex128, np.complex128),
])
def test_numpy_round_trip(d, np_dtype):
    assert d.numpy == np.dtype(np_dtype)
    assert dt.from_numpy(np.dtype(np_dtype)) is d
    assert dt.to_dtype(np_dtype) is d
    assert dt.to_dtype(d.name) is d
    assert ms.dtype_to_nptype(d) is np_dtype


@pytest.mark.parametrize("d, pytype", [
    (ms.bool_, bool), (ms.int8, int), (ms.uint8, int), (ms.uint16, int), (ms.uint32, int), (ms.uint64, int),
    (ms.int64, int), (ms.float16, float), (ms.float32, float), (ms.float64, float), (ms.complex64, complex),
    (ms.complex128, complex),
])
def test_dtype_to_pytype(d, pytype):
    import gpucell.common.dtype as mstype

    assert ms.dtype_to_pytype(d) is pytype
    assert mstype.dtype_to_pytype(d) is pytype and mstype.dtype_to_nptype(d) is ms.dtype_to_nptype(d)


def test_mstype_groups_list_every_number_type():
    import gpucell.common.dtype as mstype

    assert mstype.uint_type == (ms.uint8, ms.uint16, ms.uint32, ms.uint64)
    assert mstype.complex_type == (ms.complex64, ms.complex128)
    assert set(mstype.number_type) == {d for d in dt.all_dtypes if d not in (ms.bool_, ms.bfloat16)}


@pytest.mark.parametrize("bad", ["uint128", 3, None])
def test_dtype_to_nptype_rejects_non_dtypes(bad):
    with pytest.raises(TypeError, match=r"For 'dtype_to_nptype'"):
        ms.dtype_to_nptype(bad)
    with pytest.raises(TypeError, match=r"For 'dtype_to_pytype'"):
        ms.dtype_to_pytype(bad)


def test_aliases():
    assert ms.float_ is ms.float32 and ms.single is ms.float32
    assert ms.half is ms.float16 and ms.double is ms.float64
    assert ms.int_ is ms.int32


def test_pickle_keeps_identity():
    import pickle
    assert pickle.loads(pickle.dumps(ms.float16)) is ms.float16


@pytest.mark.parametrize("data, expected", [
    ([3, 4, 5], ms.int64), (2, ms.int64), (2.0, ms.float32), ([0.1, 0.2], ms.float32),
    ([1, 2.5], ms.float32), ([True, False], ms.bool_), (True, ms.bool_), ([[1], [2]], ms.int64),
    ((1.0, 2.0), ms.float32), ([], ms.float32), (1 + 2j, ms.complex128), ([1, 2.5j], ms.complex128),
])
def test_inference_from_python_data(device, data, expected):
    assert Tensor(data, device=device).dtype is expected


@pytest.mark.parametrize("array, expected", [
    (np.ones(2), ms.float64), (np.ones(2, np.float32), ms.float32), (np.ones(2, np.int32), ms.int32),
    (np.ones(2, np.uint8), ms.uint8), (np.ones(2, np.float16), ms.float16),
    (np.ones(2, np.bool_), ms.bool_), (np.ones(2, np.int8), ms.int8), (np.ones(2, np.uint16), ms.uint16),
    (np.ones(2, np.uint32), ms.uint32), (np.ones(2, np.uint64), ms.uint64),
    (np.ones(2, np.complex64), ms.complex64), (np.ones(2, np.complex128), ms.complex128),
])
def test_arrays_keep_their_dtype(device, array, expected):
    assert Tensor(array, device=device).dtype is expected


def test_explicit_dtype_casts(device):
    t = Tensor([1.7, 2.2], ms.int32, device=device)
    assert t.dtype is ms.int32
    np.testing.assert_array_equal(t.asnumpy(), np.array([1.7, 2.2]).astype(np.int32))


@pytest.mark.parametrize("a, b, expected", [
    (ms.int32, ms.float32, ms.float32), (ms.float32, ms.int32, ms.float32),
    (ms.int64, ms.float16, ms.float16), (ms.float16, ms.float32, ms.float32),
    (ms.float32, ms.float64, ms.float64), (ms.int32, ms.int64, ms.int64),
    (ms.uint8, ms.int8, ms.int16), (ms.bool_, ms.int32, ms.int32), (ms.bool_, ms.float16, ms.float16),
    (ms.bool_, ms.bool_, ms.bool_), (ms.uint32, ms.uint32, ms.uint32), (ms.bool_, ms.uint64, ms.uint64),
    (ms.uint16, ms.float16, ms.float16), (ms.uint64, ms.float32, ms.float32),
    (ms.complex64, ms.float32, ms.complex64), (ms.complex64, ms.float64, ms.complex128),
    (ms.complex64, ms.complex128, ms.complex128), (ms.int64, ms.complex64, ms.complex64),
    (ms.bool_, ms.complex128, ms.complex128), (ms.float16, ms.complex64, ms.complex64),
])
def test_promotion_table(a, b, expected):
    assert dt.promote_types(a, b) is expected
    assert dt.promote_types(b, a) is expected


@pytest.mark.parametrize("a, b", [
    (ms.uint16, ms.int16), (ms.uint32, ms.int32), (ms.uint64, ms.int64), (ms.uint32, ms.uint8),
    (ms.uint16, ms.uint64), (ms.int8, ms.uint32),
])
def test_wide_unsigned_with_other_integers_is_refused(device, a, b):
    # NumPy would answer int32 / int64 / float64: widths or values that change silently.
    with pytest.raises(TypeError, match=rf"a {a} tensor and a {b} tensor have no common dtype"):
        dt.promote_types(a, b)
    with pytest.raises(TypeError, match=r"Cast one of them first"):
        Tensor([1, 2], a, device=device) + Tensor([3, 4], b, device=device)


@pytest.mark.parametrize("a, b, expected", [
    (ms.int32, ms.float32, ms.float32), (ms.int64, ms.float16, ms.float16),
    (ms.uint8, ms.int8, ms.int16), (ms.bool_, ms.int32, ms.int32), (ms.uint32, ms.float32, ms.float32),
    (ms.uint64, ms.bool_, ms.uint64), (ms.complex64, ms.float64, ms.complex128),
    (ms.int32, ms.complex64, ms.complex64),
])
def test_tensor_ops_promote(device, a, b, expected):
    x = Tensor([1, 2], a, device=device)
    y = Tensor([3, 1], b, device=device)
    out = x + y
    assert out.dtype is expected
    reference = (np.array([1, 2]).astype(a.numpy).astype(expected.numpy)
                 + np.array([3, 1]).astype(b.numpy).astype(expected.numpy))
    np.testing.assert_array_equal(out.asnumpy(), reference)
    assert (x * y).dtype is expected
    assert (y - x).dtype is expected


@pytest.mark.parametrize("tensor_dtype, scalar, expected", [
    (ms.int32, 2, ms.int32),        # an int scalar does not widen an int tensor
    (ms.int8, 3, ms.int8),
    (ms.int32, 2.5, ms.float32),    # a float scalar lifts an int tensor to Float32, not Float64
    (ms.float16, 2.5, ms.float16),  # and leaves a float tensor's width alone
    (ms.float64, 2, ms.float64),
    (ms.bool_, 2, ms.int64),
    (ms.bool_, 1.5, ms.float32),
    (ms.uint8, 1, ms.uint8),
    (ms.uint32, 7, ms.uint32),      # an int scalar keeps a wide unsigned tensor's dtype
    (ms.uint64, 0.5, ms.float32),
    (ms.complex64, 2.5, ms.complex64),
    (ms.complex128, 3, ms.complex128),
])
def test_tensor_and_python_scalar(device, tensor_dtype, scalar, expected):
    t = Tensor([1, 0], tensor_dtype, device=device)
    assert (t + scalar).dtype is expected
    assert (scalar + t).dtype is expected
    reference = np.array([1, 0]).astype(tensor_dtype.numpy).astype(np.complex128) + scalar
    np.testing.assert_allclose((t + scalar).asnumpy().astype(np.complex128), reference, rtol=1e-3)


def test_int_tensor_divided_is_float32(device):
    out = Tensor([1, 2], ms.int32, device=device) / Tensor([2, 4], ms.int32, device=device)
    assert out.dtype is ms.float32
    np.testing.assert_array_equal(out.asnumpy(), [0.5, 0.5])
    assert (Tensor([3], device=device) / 2).dtype is ms.float32


def test_comparisons_give_bool(device):
    t = Tensor([1, 2], ms.int32, device=device)
    assert (t > 1.5).dtype is ms.bool_
    np.testing.assert_array_equal((t > 1.5).asnumpy(), [False, True])


def test_predicates():
    assert dt.is_floating(ms.float16) and not dt.is_floating(ms.int32)
    assert dt.is_integer(ms.uint8) and not dt.is_integer(ms.bool_)
    assert ms.float64.is_floating_point and not ms.int64.is_floating_point


@pytest.mark.parametrize("bad", ["float128", "Tensor", 3.5, object()])
def test_to_dtype_rejects_unknown(bad):
    with pytest.raises(TypeError, match=repr(bad).replace("(", r"\(").replace(")", r"\)")[:20]):
        dt.to_dtype(bad)


@pytest.mark.parametrize("np_dtype", [np.object_, np.str_, np.datetime64, np.clongdouble])
def test_unsupported_numpy_dtypes_are_refused(np_dtype):
    with pytest.raises(TypeError, match=r"For 'Tensor', the dtype .* is not supported"):
        dt.from_numpy(np.dtype(np_dtype))
