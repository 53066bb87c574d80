"""erf elementwise (the exact GeLU and its gradient); kernels/special.cu and the NumPy reference.

NumPy has no erf, so the reference applies Python's ``math.erf`` (the C library's double erf) to
each element in float64 and rounds once to the input's dtype. The kernel computes in float for
float16 and float32 and in double for float64, with CUDA's erff / erf (within 2 ulp), so the two
backends agree to a few ulp, not bit for bit. A non-contiguous input is copied to a contiguous one.
"""

from __future__ import annotations

import math

import numpy as np

from gpucell import backend
from gpucell.backend import kernels
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES, check_arrays

__all__ = ["erf"]

_FILE = "special.cu"
for _dtype in FLOAT_DTYPES:
    kernels.register(_FILE, f"erf_elementwise<{kernels.ctype(_dtype)}>")

_math_erf = np.frompyfunc(math.erf, 1, 1)


def erf(x):
    """The error function of each element of ``x``, in x's dtype.

    >>> erf(np.array([0.0, 0.5, -3.0]))
    array([ 0.        ,  0.52049988, -0.99997791])
    """
    check_arrays("Erf", FLOAT_DTYPES, x=x)
    launcher = kernels.launcher_for(x)
    if launcher is None:
        return _reference(x)
    xp = backend.array_module(x)
    out = kernels.empty(xp, x.shape, x.dtype)
    x = xp.ascontiguousarray(x)  # after taking the shape: a 0-d x comes back 1-d
    if x.size:
        grid, block = kernels.grid_1d(launcher, x.size)
        launcher(_FILE, f"erf_elementwise<{kernels.ctype(x.dtype)}>", grid, block, (x, out, np.int64(x.size)))
    return out


def _reference(x):
    # frompyfunc returns Python floats (an object array, or a bare float for a 0-d x).
    return np.asarray(_math_erf(x.astype(np.float64, copy=False)), np.float64).astype(x.dtype, copy=False)
