"""More elementwise math: sin, cos, floor, ceil, round, reciprocal, log1p, erf, isnan, isinf.

Each is NumPy's ufunc on the CPU and CuPy's of the same name on the GPU (erf: the Erf kernel and its
NumPy reference, as GeLU uses it). Float math on integer inputs gives Float32, as ``ops.exp`` does;
floor and ceil take float inputs only (MindSpore's TypeError); round keeps integers as they are;
isnan and isinf give Bool. Piecewise-constant ops (floor, ceil, round) and the Bool tests have no
backward: their gradient is zero, as MindSpore's bprop gives.
"""

from __future__ import annotations

import math

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import kernel_ops
from gpucell.ops._dispatch import Op, apply, gpu_ufunc
from gpucell.ops._util import check_float, check_tensor
from gpucell.ops.elementwise import _float_result, _unary

__all__ = ["sin", "cos", "floor", "ceil", "round", "reciprocal", "log1p", "erf", "isnan", "isinf"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _sin_backward(ctx, g):
    return g * cos(ctx.input(0))


def _cos_backward(ctx, g):
    return -g * sin(ctx.input(0))


def _erf_backward(ctx, g):
    from gpucell.ops.elementwise import exp

    x = ctx.input(0)
    return g * _TWO_OVER_SQRT_PI * exp(-(x * x))


def _round(xp_round):
    def forward(a):
        # Halves go to the even neighbour (NumPy's, CuPy's and MindSpore's Round); ints are exact.
        return a.copy() if a.dtype.kind in "biu" else xp_round(a)
    return forward


def _erf(a):
    return kernel_ops.erf(a)


SIN = _unary("Sin", "sin", _sin_backward, "inputs")
COS = _unary("Cos", "cos", _cos_backward, "inputs")
RECIPROCAL = _unary("Reciprocal", "reciprocal", lambda ctx, g: -g * ctx.output * ctx.output, "output")
LOG1P = _unary("Log1p", "log1p", lambda ctx, g: g / (1 + ctx.input(0)), "inputs")
ERF = Op("Erf", _float_result(np)(_erf), backward=_erf_backward)
FLOOR = Op("Floor", np.floor, gpu_ufunc("floor"))  # piecewise constant: no gradient
CEIL = Op("Ceil", np.ceil, gpu_ufunc("ceil"))
ROUND = Op("Round", _round(np.rint), _round(gpu_ufunc("rint")))
ISNAN = Op("IsNan", np.isnan, gpu_ufunc("isnan"))
ISINF = Op("IsInf", np.isinf, gpu_ufunc("isinf"))


def sin(input):
    """Sine elementwise (ints give Float32).

    >>> import gpucell as ms
    >>> ms.ops.sin(ms.Tensor([0.0])).asnumpy()
    array([0.], dtype=float32)
    """
    return apply(SIN, check_tensor("Sin", "input", input))


def cos(input):
    """Cosine elementwise (ints give Float32)."""
    return apply(COS, check_tensor("Cos", "input", input))


def floor(input):
    """The largest integer not above each element, in the input's float dtype."""
    check_float("Floor", "input", check_tensor("Floor", "input", input))
    return apply(FLOOR, input)


def ceil(input):
    """The smallest integer not below each element, in the input's float dtype."""
    check_float("Ceil", "input", check_tensor("Ceil", "input", input))
    return apply(CEIL, input)


def round(input):
    """Each element rounded to the nearest integer, halves to even; integer inputs unchanged.

    >>> import gpucell as ms
    >>> ms.ops.round(ms.Tensor([0.5, 1.5, -2.7])).asnumpy()
    array([ 0.,  2., -3.], dtype=float32)
    """
    check_tensor("Round", "input", input)
    if input.dtype.kind == _dt._BOOL:
        raise TypeError(f"For 'Round', the 'input' must be a number type, but got {input.dtype}.")
    return apply(ROUND, input)


def reciprocal(input):
    """``1 / input`` elementwise (ints give Float32)."""
    return apply(RECIPROCAL, check_tensor("Reciprocal", "input", input))


def log1p(input):
    """``log(1 + input)`` elementwise, accurate for small inputs (ints give Float32)."""
    return apply(LOG1P, check_tensor("Log1p", "input", input))


def erf(input):
    """The Gauss error function elementwise (ints give Float32).

    >>> import gpucell as ms
    >>> ms.ops.erf(ms.Tensor([0.0, 1.0])).asnumpy()
    array([0.       , 0.8427008], dtype=float32)
    """
    return apply(ERF, check_tensor("Erf", "input", input))


def isnan(input):
    """Bool: True where the element is NaN."""
    return apply(ISNAN, check_tensor("IsNan", "input", input))


def isinf(input):
    """Bool: True where the element is +inf or -inf."""
    return apply(ISINF, check_tensor("IsInf", "input", input))
