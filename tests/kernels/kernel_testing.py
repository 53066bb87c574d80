"""Helpers of the kernel tests: the runner behind the `run` fixture, comparisons, inputs."""

from __future__ import annotations

import shutil

import numpy as np

from gpucell import backend
from gpucell.backend import kernels


class Runner:
    """Calls a kernel_ops function on the kernel path, from and to NumPy arrays.

    Outputs are poisoned (0xFF bytes, NaN for floats) before the launch; arrays passed in are
    copied back after the call, so in-place updates (the Philox state) are seen as on the CPU.
    """

    def __init__(self, name: str, emulator=None):
        self.name = name
        self.emulator = emulator

    def __call__(self, fn, *args, **kwargs):
        if self.emulator is not None:
            with kernels.emulate_numpy(self.emulator), kernels.poison_outputs():
                return fn(*args, **kwargs)
        cupy = backend.cupy
        moved = {}

        def to_gpu(value):
            if isinstance(value, np.ndarray):
                moved[id(value)] = (value, cupy.asarray(value))
                return moved[id(value)][1]
            return value

        gpu_args = [to_gpu(a) for a in args]
        gpu_kwargs = {k: to_gpu(v) for k, v in kwargs.items()}
        with kernels.poison_outputs():
            result = fn(*gpu_args, **gpu_kwargs)
        cupy.cuda.Device().synchronize()
        for original, copy in moved.values():
            if original.flags.writeable:  # read-only inputs cannot have been updated in place
                original[...] = cupy.asnumpy(copy)
        if isinstance(result, tuple):
            return tuple(cupy.asnumpy(r) for r in result)
        return cupy.asnumpy(result)



def assert_same(expected, actual) -> None:
    """Same dtype, shape and bytes (NaN payloads included; a poisoned bool is not True)."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    got = np.ascontiguousarray(actual).view(np.uint8)
    want = np.ascontiguousarray(expected).view(np.uint8)
    if not np.array_equal(got, want):
        bad = np.flatnonzero(np.ascontiguousarray(actual).ravel() != np.ascontiguousarray(expected).ravel())
        raise AssertionError(f"{bad.size} elements differ, first at flat index {bad[:5]}: "
                             f"got {actual.ravel()[bad[:5]]}, expected {expected.ravel()[bad[:5]]}")


def assert_close(expected, actual, rtol: float, atol: float) -> None:
    """Same dtype and shape, values within tolerance, NaN exactly where expected."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol,
                               equal_nan=True)


_UNIT_ROUNDOFF = {np.dtype(np.float16): 2.0 ** -11, np.dtype(np.float32): 2.0 ** -24,
                  np.dtype(np.float64): 2.0 ** -53}


def sum_error_bound(magnitude, terms: int, dtype, accumulate=None) -> np.ndarray:
    """How far two sums of the same ``terms`` numbers, added in different orders, may differ.

    Each float sum of n terms is within gamma_n * sum|x_i| of the exact one, gamma_n = n*u/(1-n*u)
    (Higham, Accuracy and Stability of Numerical Algorithms, 3.1), so two of them differ by at most
    twice that; ``magnitude`` is sum|x_i| per output element. A result stored in a narrower dtype
    than it was accumulated in adds up to half an ulp of that dtype, for each side.
    """
    accumulate = np.dtype(accumulate or dtype)
    u = _UNIT_ROUNDOFF[accumulate]
    gamma = terms * u / (1 - terms * u)
    bound = 2 * gamma * np.asarray(magnitude, np.float64)
    if np.dtype(dtype) != accumulate:
        bound = bound + 2 * _UNIT_ROUNDOFF[np.dtype(dtype)] * np.abs(np.asarray(magnitude, np.float64))
    return bound


def assert_within(expected, actual, bound) -> None:
    """Same dtype and shape; |actual - expected| <= bound elementwise (NaN exactly where expected)."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    e, a = expected.astype(np.float64), actual.astype(np.float64)
    assert np.array_equal(np.isnan(e), np.isnan(a)), "NaN in different places"
    with np.errstate(invalid="ignore"):  # inf - inf where both overflowed alike: equal, no error
        error = np.where((a == e) | np.isnan(e), 0.0, np.abs(a - e))
    excess = error > np.broadcast_to(bound, error.shape)
    if excess.any():
        i = np.flatnonzero(excess.ravel())
        raise AssertionError(f"{i.size} elements beyond the error bound, first at flat index {i[:5]}: error "
                             f"{error.ravel()[i[:5]]}, bound {np.broadcast_to(bound, error.shape).ravel()[i[:5]]}")


def random_array(rng: np.random.Generator, shape, dtype, nan: bool = False) -> np.ndarray:
    """Values with many ties (so eq/ne/ge matter), optionally some NaN for floating dtypes."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.kind in "iu":
        low = 0 if dtype.kind == "u" else -50
        return np.asarray(rng.integers(low, 50, size=shape), dtype)
    values = (rng.integers(-8, 8, size=shape) / 4 + rng.standard_normal(shape) * (rng.random(shape) < 0.5))
    values = np.asarray(values, dtype)
    if nan and values.size:
        values.ravel()[rng.random(values.size) < 0.1] = np.nan
    return values


def have_nvcc() -> bool:
    return shutil.which("nvcc") is not None
