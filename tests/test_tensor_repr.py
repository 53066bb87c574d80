"""Tensor repr and str, character for character as MindSpore prints them (MINDSPORE_API.md)."""

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor


def test_1d_float32_scientific_fields(device):
    t = Tensor([20.0, 0.2, 0.3], ms.float32, device=device)
    assert repr(t) == ("Tensor(shape=[3], dtype=Float32, value= "
                       "[ 2.00000000e+01,  2.00000003e-01,  3.00000012e-01])")


def test_negative_floats_use_the_sign_column(device):
    t = Tensor([-1.5, 2.0], device=device)
    assert repr(t) == "Tensor(shape=[2], dtype=Float32, value= [-1.50000000e+00,  2.00000000e+00])"


def test_2d_float(device):
    t = Tensor(np.arange(6).reshape(2, 3), ms.float32, device=device)
    assert repr(t) == ("Tensor(shape=[2, 3], dtype=Float32, value=\n"
                       "[[ 0.00000000e+00,  1.00000000e+00,  2.00000000e+00],\n"
                       " [ 3.00000000e+00,  4.00000000e+00,  5.00000000e+00]])")


def test_3d_indents_each_level(device):
    t = Tensor(np.arange(8).reshape(2, 2, 2), ms.int32, device=device)
    assert repr(t) == ("Tensor(shape=[2, 2, 2], dtype=Int32, value=\n"
                       "[[[0, 1],\n"
                       "  [2, 3]],\n"
                       " [[4, 5],\n"
                       "  [6, 7]]])")


def test_ints(device):
    assert repr(Tensor([3, 4, 5], device=device)) == "Tensor(shape=[3], dtype=Int64, value= [3, 4, 5])"


def test_ints_right_aligned_to_the_widest(device):
    t = Tensor([1, -20, 300], device=device)
    assert repr(t) == "Tensor(shape=[3], dtype=Int64, value= [  1, -20, 300])"


def test_uint8_prints_numbers_not_characters(device):
    t = Tensor(np.array([65, 255], dtype=np.uint8), device=device)
    assert repr(t) == "Tensor(shape=[2], dtype=UInt8, value= [ 65, 255])"


def test_bools(device):
    assert repr(Tensor([True, False], device=device)) == \
        "Tensor(shape=[2], dtype=Bool, value= [ True, False])"


@pytest.mark.parametrize("value, dtype, text", [
    (2, None, "Tensor(shape=[], dtype=Int64, value= 2)"),
    (2.0, None, "Tensor(shape=[], dtype=Float32, value= 2)"),
    (0.5, None, "Tensor(shape=[], dtype=Float32, value= 0.5)"),
    (True, None, "Tensor(shape=[], dtype=Bool, value= True)"),
    (-7, ms.int32, "Tensor(shape=[], dtype=Int32, value= -7)"),
])
def test_0d(device, value, dtype, text):
    assert repr(Tensor(value, dtype, device=device)) == text


def test_float16_uses_4_digits(device):
    t = Tensor([1.0, -0.5], ms.float16, device=device)
    assert repr(t) == "Tensor(shape=[2], dtype=Float16, value= [ 1.0000e+00, -5.0000e-01])"


def test_float64_uses_8_digits(device):
    t = Tensor(np.array([0.1]), device=device)
    assert repr(t) == "Tensor(shape=[1], dtype=Float64, value= [ 1.00000000e-01])"


def _float_fields(values):
    return [f"{v:15.8e}" for v in values]


def test_1d_floats_wrap_every_12(device):
    t = Tensor(np.arange(13), ms.float32, device=device)
    f = _float_fields(range(13))
    expected = ("Tensor(shape=[13], dtype=Float32, value= [" + ", ".join(f[:12]) + ", \n "
                + f[12] + "])")
    assert repr(t) == expected


def test_1d_ints_wrap_every_24(device):
    t = Tensor(np.arange(30), device=device)
    fields = [f"{v:2d}" for v in range(30)]
    expected = ("Tensor(shape=[30], dtype=Int64, value= [" + ", ".join(fields[:24]) + ", \n "
                + ", ".join(fields[24:]) + "])")
    assert repr(t) == expected


def test_1d_up_to_1000_elements_is_not_elided(device):
    text = repr(Tensor(np.zeros(1000), ms.float32, device=device))
    assert "..." not in text
    assert text.count("0.00000000e+00") == 1000


def test_1d_over_1000_elements_is_elided(device):
    t = Tensor(np.arange(1001), ms.float32, device=device)
    f = _float_fields([0, 1, 2, 998, 999, 1000])
    assert repr(t) == ("Tensor(shape=[1001], dtype=Float32, value= [" + ", ".join(f[:3]) + " ... "
                       + ", ".join(f[3:]) + "])")


def test_2d_dims_over_6_elide_the_middle(device):
    t = Tensor(np.arange(70).reshape(7, 10), ms.int32, device=device)
    assert repr(t) == ("Tensor(shape=[7, 10], dtype=Int32, value=\n"
                       "[[ 0,  1,  2 ...  7,  8,  9],\n"
                       " [10, 11, 12 ... 17, 18, 19],\n"
                       " [20, 21, 22 ... 27, 28, 29],\n"
                       " ...\n"
                       " [40, 41, 42 ... 47, 48, 49],\n"
                       " [50, 51, 52 ... 57, 58, 59],\n"
                       " [60, 61, 62 ... 67, 68, 69]])")


def test_2d_with_exactly_6_rows_is_whole(device):
    t = Tensor(np.arange(12).reshape(6, 2), ms.int32, device=device)
    assert repr(t) == ("Tensor(shape=[6, 2], dtype=Int32, value=\n"
                       "[[ 0,  1],\n [ 2,  3],\n [ 4,  5],\n [ 6,  7],\n [ 8,  9],\n [10, 11]])")


def test_2d_rows_never_wrap(device):
    t = Tensor(np.ones((1, 6)), ms.float32, device=device)
    assert "\n" not in repr(t).split("value=\n", 1)[1]


def test_repr_does_not_change_the_data(device):
    t = Tensor([1.0, 2.0], device=device)
    repr(t)
    np.testing.assert_array_equal(t.asnumpy(), [1.0, 2.0])


@pytest.mark.parametrize("data", [[1.0, 2.0], [[1, 2], [3, 4]], [True, False], 3.5, np.arange(2000)])
def test_str_is_numpys_str(device, data):
    t = Tensor(data, device=device)
    assert str(t) == str(t.asnumpy())


def test_print_shows_numpy_str(device, capsys):
    print(Tensor([1.0, 2.0], device=device))
    assert capsys.readouterr().out == "[1. 2.]\n"


def test_dtype_str_and_repr():
    assert str(ms.float32) == "Float32"
    assert repr(ms.float32) == "gpucell.float32"
    assert str(ms.uint8) == "UInt8"
