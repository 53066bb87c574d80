"""cast, copy and stop_gradient."""

from __future__ import annotations

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply, round_bfloat16

__all__ = ["cast", "copy", "stop_gradient"]


def _cast(a, dtype):
    if a.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        a = array_module(a).real(a)  # complex to real keeps the real part (what NumPy warns about)
    if dtype == _BF16 and a.dtype != _BF16:
        return round_bfloat16(a)  # NumPy: ml_dtypes' rounding; the GPU: the same rounding in CuPy ops
    return a.astype(dtype, copy=True)


def _copy(a):
    return a.copy()


def _same(a):
    return a


def _cast_backward(ctx, g):
    return g  # the engine casts the gradient back to the input's dtype


_BF16 = _dt.BF16_NUMPY
CAST = Op("Cast", _cast, backward=_cast_backward, saves="none")
COPY = Op("Copy", _copy, backward=lambda ctx, g: g, saves="none")
STOP_GRADIENT = Op("StopGradient", _same)  # no backward: the result is a constant to autograd


def cast(input, dtype):
    """``input`` converted to ``dtype`` (a new tensor).

    >>> import gpucell as ms
    >>> ms.ops.cast(ms.Tensor([1, 2]), ms.float32)
    Tensor(shape=[2], dtype=Float32, value= [ 1.00000000e+00,  2.00000000e+00])
    """
    return apply(CAST, input, dtype=_dt.to_dtype(dtype).numpy)


def copy(input):
    """A new tensor with a copy of ``input``'s data."""
    return apply(COPY, input)


def stop_gradient(value):
    """``value`` unchanged, but no gradient flows back through it (shares its data).

    >>> import gpucell as ms
    >>> ms.grad(lambda x: x * ms.ops.stop_gradient(x))(ms.Tensor([3.0])).asnumpy()
    array([3.], dtype=float32)
    """
    return apply(STOP_GRADIENT, value)
