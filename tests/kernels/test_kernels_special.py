"""erf: the kernel (emulated, and on the GPU) vs the NumPy reference, and the reference vs known values.

Not bit-exact: CUDA's erff / erf are within 2 ulp of the exact value and the reference rounds a
double erf once, so float32 and float64 compare within a few ulp. float16 is computed in float32
on the GPU and in float64 by the reference: the two roundings to half can differ by one half ulp.
Float32 subnormal inputs are left out: CuPy's -ftz=true flushes them on the GPU (documented).
Shapes include tails that are not a multiple of the 256-thread block or of the emulator's 3-block
grid, 1 element, 0-d, empty and non-contiguous inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from kernel_testing import assert_close

from gpucell.backend.kernel_ops import erf
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES

# (rtol, atol) per dtype: a few ulp; float16's atol is one ulp of its subnormals (erf(x) ~ 1.13 x).
TOL = {np.dtype(np.float16): (2.0 ** -10, 2.0 ** -24), np.dtype(np.float32): (4 * 2.0 ** -23, 0.0),
       np.dtype(np.float64): (4 * 2.0 ** -52, 0.0)}
SHAPES = [(1000,), (3, 257), (1,), (), (0, 4), (769,)]
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e-4, 0.5, -0.5, 1.0, 3.0, -3.9, 6.0, 30.0, -1e30]


def _values(rng, shape, dtype) -> np.ndarray:
    """Normal values over erf's whole curve (it is +-1 to every dtype's precision beyond |x| ~ 6)."""
    values = rng.standard_normal(shape) * rng.choice([0.01, 1.0, 3.0], size=shape)
    return np.asarray(values, dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_erf(run, dtype):
    rng = np.random.default_rng(0)
    shapes = SHAPES + ([((1 << 20) + 3,), (512, 999)] if run.name == "gpu" else [])
    for shape in shapes:
        x = _values(rng, shape, dtype)
        assert_close(erf(x), run(erf, x), *TOL[x.dtype])
    with np.errstate(over="ignore"):  # 1e30 overflows float16 to inf, which erf maps to 1
        special = np.array(SPECIAL, dtype)
    assert_close(erf(special), run(erf, special), *TOL[special.dtype])


def test_non_contiguous(run):
    base = _values(np.random.default_rng(1), (9, 40), np.float32)
    for view in (base[::2, ::3], base.T, base[:, ::-1]):
        assert_close(erf(view), run(erf, view), *TOL[view.dtype])
        assert run(erf, view).flags.c_contiguous


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_reference_matches_math_erf(dtype):
    x = _values(np.random.default_rng(2), (50,), dtype)
    expected = np.array([math.erf(float(v)) for v in x]).astype(dtype)
    out = erf(x)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_array_equal(out, expected)
    zero_d = erf(np.array(0.5))
    assert isinstance(zero_d, np.ndarray) and zero_d.shape == ()
    assert float(zero_d) == pytest.approx(0.5204998778130465, rel=1e-15)


def test_input_checks():
    with pytest.raises(TypeError, match=r"For 'Erf', the dtype of 'x' must be one of .*int32"):
        erf(np.arange(3, dtype=np.int32))
    with pytest.raises(TypeError, match=r"For 'Erf', 'x' must be a NumPy or CuPy array, but got list"):
        erf([0.5])
