"""Complex64 / Complex128 and UInt16 / UInt32 / UInt64 tensors: arithmetic, reductions, abs, and the
real / imag / conj ops and Tensor methods, against NumPy on CPU and GPU; gradients where defined."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import ops
from tests.jit.jit_testing import assert_same
from tests.nn.nn_testing import gradcheck, host, on

RNG = np.random.default_rng(17)


def _complex(shape, dtype) -> np.ndarray:
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("np_dtype, real_dtype", [(np.complex64, ms.float32), (np.complex128, ms.float64)])
def test_parts_match_numpy(device, np_dtype, real_dtype):
    z = _complex((3, 4), np_dtype)
    t = on(device, z)
    for fn, method, reference in ((ops.real, "real", np.real), (ops.imag, "imag", np.imag),
                                  (ops.conj, "conj", np.conj)):
        out, via_method = fn(t), getattr(t, method)()
        expected = reference(z)
        assert out.device == device
        assert out.dtype is ms.dtype.from_numpy(expected.dtype)
        np.testing.assert_array_equal(host(out), expected)
        np.testing.assert_array_equal(host(via_method), expected)
    assert ops.real(t).dtype is real_dtype and ops.conj(t).dtype is t.dtype


def test_parts_of_a_real_tensor(device):
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    t = on(device, x)
    np.testing.assert_array_equal(host(ops.real(t)), x)
    np.testing.assert_array_equal(host(ops.conj(t)), x)
    np.testing.assert_array_equal(host(ops.imag(t)), np.zeros_like(x))
    assert ops.imag(t).dtype is ms.float32
    out = ops.real(t)
    out[0, 0] = 100.0
    assert host(t)[0, 0] == x[0, 0]  # the result is a copy, never a view of the input


@pytest.mark.parametrize("np_dtype", [np.complex64, np.complex128])
def test_arithmetic_reductions_and_abs_match_numpy(device, np_dtype):
    a, b = _complex((2, 5), np_dtype), _complex((2, 5), np_dtype)
    x, y = on(device, a), on(device, b)
    tol = dict(rtol=1e-6 if np_dtype == np.complex64 else 1e-12)
    for got, want in ((x + y, a + b), (x - y, a - b), (x * y, a * b), (x / y, a / b), (-x, -a),
                      (x * 2.5, a * 2.5), (x.sum(), a.sum()), (x.sum(axis=1), a.sum(axis=1)),
                      (x.mean(), a.mean()), (ops.mean(x, 0), a.mean(axis=0))):
        assert got.dtype.numpy == np.dtype(np_dtype)
        np.testing.assert_allclose(host(got), want, **tol)
    magnitude = abs(x)
    assert magnitude.dtype is (ms.float32 if np_dtype == np.complex64 else ms.float64)
    np.testing.assert_allclose(host(magnitude), np.abs(a), **tol)
    np.testing.assert_allclose(host(x.abs()), np.abs(a), **tol)
    np.testing.assert_array_equal(host(x == x), np.ones(a.shape, bool))


def test_complex_with_float64_promotes_to_complex128(device):
    a, b = _complex((3,), np.complex64), RNG.standard_normal(3)
    out = on(device, a) * on(device, b)
    assert out.dtype is ms.complex128
    np.testing.assert_allclose(host(out), a.astype(np.complex128) * b, rtol=1e-6)


def test_cast_between_real_and_complex(device):
    z = _complex((4,), np.complex128)
    to_real = ops.cast(on(device, z), ms.float32)
    np.testing.assert_array_equal(host(to_real), z.real.astype(np.float32))  # the real part, no warning
    back = ops.cast(to_real, ms.complex64)
    np.testing.assert_array_equal(host(back), z.real.astype(np.float32).astype(np.complex64))


def test_gradient_flows_through_real_of_a_complex_value(device):
    # real(cast(x, complex64) * (2 - 1j)) = 2x: the gradient crosses a complex intermediate.
    scale = on(device, np.array([2 - 1j], np.complex128))
    gradcheck(lambda x: ops.real(ops.cast(x, ms.complex128) * scale), RNG.standard_normal((2, 3)), device=device)
    gradcheck(lambda x: ops.real(x) * ops.conj(x) + ops.imag(x), RNG.standard_normal((3,)), device=device)


def test_gradient_through_imag_of_a_complex_value_is_refused(device):
    x = on(device, np.array([1.0, 2.0], np.float32))
    with pytest.raises(NotImplementedError, match=r"For 'Imag', gradients through complex tensors are not "
                                                  r"supported"):
        ms.grad(lambda v: ops.imag(ops.cast(v, ms.complex64)).sum())(x)
    with pytest.raises(NotImplementedError, match=r"For 'Conj'"):
        ms.grad(lambda v: ops.real(ops.conj(ops.cast(v, ms.complex64))).sum())(x)


@pytest.mark.parametrize("fn", [ops.real, ops.imag, ops.conj])
@pytest.mark.parametrize("bad", [[1 + 2j], np.ones(2, np.complex64), 3.0])
def test_parts_refuse_non_tensors(fn, bad):
    with pytest.raises(TypeError, match=rf"For '{fn.__name__}', the 'input' must be a Tensor, but got "
                                        rf"{type(bad).__name__}"):
        fn(bad)


def test_complex_forward_and_real_backward_under_jit(device):
    scale = on(device, np.array([0.5 + 2j], np.complex64))

    def step(x):
        def loss(v):
            z = ops.cast(v, ms.complex64) * scale
            return (ops.real(z) * ops.real(z)).sum() + abs(z).sum()
        value, grad = ms.value_and_grad(loss)(x)
        return value, grad, ops.imag(ops.cast(x, ms.complex64) * scale)

    jitted = ms.jit(step)
    for _ in range(3):
        x = on(device, RNG.standard_normal((2, 3)).astype(np.float32))
        for got, want in zip(jitted(x), step(x)):
            assert got.dtype is want.dtype
            assert_same(host(got), host(want), device)


@pytest.mark.parametrize("np_dtype", [np.uint16, np.uint32, np.uint64])
def test_wide_unsigned_arithmetic_and_reductions(device, np_dtype):
    info = np.iinfo(np_dtype)
    a = np.array([[0, 1, 7], [info.max // 3, 12, info.max // 2]], np_dtype)
    b = np.array([[3, 1, 2], [1, 5, 1]], np_dtype)
    x, y = on(device, a), on(device, b)
    for got, want in ((x + y, a + b), (x * y, a * b), (x // y, a // b), (x % y, a % b), (x - x, a - a),
                      (x + 1, a + np_dtype(1)), (x.max(), a.max()), (x.min(axis=1), a.min(axis=1)),
                      (x.sum(axis=0), a.sum(axis=0, dtype=np_dtype))):
        assert got.dtype.numpy == np.dtype(np_dtype)
        np.testing.assert_array_equal(host(got), want)
    np.testing.assert_array_equal(host(x > y), a > b)
    np.testing.assert_allclose(host(x / y), (a / b).astype(np.float32), rtol=1e-6)
    assert (x / y).dtype is ms.float32
    assert (x * 0.5).dtype is ms.float32
    assert ops.cast(x, ms.int64).dtype is ms.int64
