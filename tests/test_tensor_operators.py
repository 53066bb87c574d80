"""Arithmetic, comparison and matmul operators against NumPy float64 references."""

import operator

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, backend, ops

RNG = np.random.default_rng(7)
A = RNG.uniform(0.5, 3.0, (3, 4)).astype(np.float32)
B_ROW = RNG.uniform(0.5, 3.0, (4,)).astype(np.float32)
B_COL = RNG.uniform(0.5, 3.0, (3, 1)).astype(np.float32)

BINARY = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
          operator.floordiv, operator.mod]
COMPARE = [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]


def _ref(op, x, y):
    return op(np.asarray(x, np.float64), np.asarray(y, np.float64))


@pytest.mark.parametrize("op", BINARY, ids=lambda o: o.__name__)
@pytest.mark.parametrize("other", [A[::-1].copy(), B_ROW, B_COL], ids=["same", "row", "col"])
def test_binary_against_float64(device, op, other):
    out = op(Tensor(A, device=device), Tensor(other, device=device))
    expected = _ref(op, A, other)
    assert out.shape == expected.shape and out.dtype is ms.float32 and out.device == device
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("op", BINARY, ids=lambda o: o.__name__)
@pytest.mark.parametrize("scalar", [2, 1.5])
def test_scalar_both_sides(device, op, scalar):
    t = Tensor(A, device=device)
    right = op(t, scalar)
    left = op(scalar, t)   # the reflected dunder
    np.testing.assert_allclose(right.asnumpy(), _ref(op, A, scalar), rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(left.asnumpy(), _ref(op, scalar, A), rtol=2e-6, atol=2e-6)
    assert right.dtype is ms.float32 and left.dtype is ms.float32


@pytest.mark.parametrize("op", COMPARE, ids=lambda o: o.__name__)
def test_comparisons(device, op):
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    y = np.array([[2.0], [1.0]], np.float32)
    out = op(Tensor(x, device=device), Tensor(y, device=device))
    assert out.dtype is ms.bool_
    np.testing.assert_array_equal(out.asnumpy(), op(x.astype(np.float64), y.astype(np.float64)))
    np.testing.assert_array_equal(op(Tensor(x, device=device), 2).asnumpy(), op(x, 2))


def test_reflected_comparison_with_scalar(device):
    t = Tensor([1.0, 2.0, 3.0], device=device)
    np.testing.assert_array_equal((2 < t).asnumpy(), [False, False, True])
    np.testing.assert_array_equal((2 == t).asnumpy(), [False, True, False])


def test_int_float_promotion_matches_float64_values(device):
    x = Tensor([1, 2, 3], ms.int32, device=device)
    y = Tensor([0.5, 0.25, 2.0], ms.float32, device=device)
    for op in (operator.add, operator.mul, operator.truediv, operator.sub):
        out = op(x, y)
        assert out.dtype is ms.float32
        np.testing.assert_allclose(out.asnumpy(), _ref(op, [1, 2, 3], [0.5, 0.25, 2.0]), rtol=1e-6)


def test_integer_ops_stay_integer(device):
    x = Tensor([7, -7, 9], ms.int32, device=device)
    y = Tensor([2, 2, 4], ms.int32, device=device)
    assert (x + y).dtype is ms.int32
    np.testing.assert_array_equal((x // y).asnumpy(), [3, -4, 2])
    np.testing.assert_array_equal((x % y).asnumpy(), [1, 1, 1])
    np.testing.assert_array_equal((x * 3).asnumpy(), [21, -21, 27])


def test_unary(device):
    x = np.array([-1.5, 0.0, 2.0], np.float32)
    t = Tensor(x, device=device)
    np.testing.assert_array_equal((-t).asnumpy(), -x)
    np.testing.assert_array_equal(abs(t).asnumpy(), np.abs(x))
    assert (+t) is t


def test_bitwise_and_invert_on_bools(device):
    a = Tensor([True, True, False], device=device)
    b = Tensor([True, False, False], device=device)
    np.testing.assert_array_equal((a & b).asnumpy(), [True, False, False])
    np.testing.assert_array_equal((a | b).asnumpy(), [True, True, False])
    np.testing.assert_array_equal((a ^ b).asnumpy(), [False, True, False])
    np.testing.assert_array_equal((~a).asnumpy(), [False, False, True])


@pytest.mark.parametrize("xs, ws", [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((5, 2, 3), (3, 4)),
                                    ((5, 2, 3), (5, 3, 4)), ((1, 2, 3), (4, 3, 2))])
def test_matmul_against_float64(device, xs, ws):
    x = RNG.normal(size=xs).astype(np.float32)
    w = RNG.normal(size=ws).astype(np.float32)
    expected = np.matmul(x.astype(np.float64), w.astype(np.float64))
    out = Tensor(x, device=device) @ Tensor(w, device=device)
    assert out.shape == expected.shape and out.dtype is ms.float32
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ops.matmul(Tensor(x, device=device), Tensor(w, device=device)).asnumpy(),
                               expected, rtol=1e-5, atol=1e-5)


def test_matmul_promotes(device):
    out = Tensor([[1, 2]], ms.int32, device=device) @ Tensor([[0.5], [0.25]], device=device)
    assert out.dtype is ms.float32
    np.testing.assert_allclose(out.asnumpy(), [[1.0]])


def test_matmul_shape_error_names_both_dims(device):
    with pytest.raises(ValueError, match=r"For 'MatMul', .*\b5\b.*\b4\b.*\(2, 5\) and \(4, 3\)"):
        Tensor(np.ones((2, 5)), device=device) @ Tensor(np.ones((4, 3)), device=device)


def test_matmul_with_non_tensor(device):
    with pytest.raises(TypeError, match=r"For 'MatMul', 'other' must be a Tensor, but got list"):
        ops.matmul(Tensor([[1.0]], device=device), [[1.0]])


def test_operands_are_not_modified(device):
    x = Tensor([1.0, 2.0], device=device)
    y = Tensor([3.0, 4.0], device=device)
    _ = x + y, x * y, x - y, x / y
    np.testing.assert_array_equal(x.asnumpy(), [1.0, 2.0])
    np.testing.assert_array_equal(y.asnumpy(), [3.0, 4.0])


def test_broadcast_mismatch_raises(device):
    with pytest.raises(ValueError):
        Tensor(np.ones((2, 3)), device=device) + Tensor(np.ones((2,)), device=device)


@pytest.mark.parametrize("bad", ["a", [1, 2], None.__class__])
def test_bad_operand_names_the_op(device, bad):
    with pytest.raises(TypeError, match=r"For 'Add', input 1 must be a Tensor or a Python number, but got"):
        Tensor([1.0], device=device) + bad


def test_tensor_hashable_by_identity(device):
    a = Tensor([1.0], device=device)
    b = Tensor([1.0], device=device)
    assert len({a, b}) == 2


@pytest.mark.gpu
def test_mixed_devices_raise_a_clear_error():
    if not backend.gpu_available():
        pytest.skip("no usable GPU")
    cpu = Tensor([1.0, 2.0], device="CPU")
    gpu = Tensor([1.0, 2.0], device="GPU")
    for left, right in ((cpu, gpu), (gpu, cpu)):
        with pytest.raises(ValueError, match=r"For 'Add', all tensors must be on one device, but got "
                                             r"input 0 on (CPU|GPU), input 1 on (GPU|CPU)\. Move them "
                                             r"with Tensor.move_to"):
            left + right
    with pytest.raises(ValueError, match=r"For 'MatMul', all tensors must be on one device"):
        Tensor([[1.0]], device="CPU") @ Tensor([[1.0]], device="GPU")
    with pytest.raises(ValueError, match=r"For 'Add', all tensors must be on one device"):
        cpu + Tensor([1.0, 2.0], ms.float64, device="GPU")


def test_shapes_that_do_not_broadcast_name_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"For 'Add', .*broadcast.*\(2,\), \(3,\)"):
        Tensor([1.0, 2.0]) + Tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"For 'Mul', .*\(2, 2\), \(3,\)"):
        Tensor(np.ones((2, 2), np.float32)) * Tensor([1, 2, 3])
