"""Elementwise math: exp, log, sqrt, rsqrt, square, sign, maximum, minimum, clamp."""

from __future__ import annotations

import numpy as np

from gpucell.ops._dispatch import Op, apply, gpu_ufunc
from gpucell.ops._util import check_tensor, sum_to
from gpucell.tensor import Tensor

__all__ = ["exp", "log", "sqrt", "rsqrt", "square", "sign", "maximum", "minimum", "clamp", "clip",
           "where_positive"]


def _float_result(xp):
    """Unary float math on ints gives Float32 in MindSpore (NumPy would give float64)."""
    def wrap(ufunc):
        def forward(a):
            if a.dtype.kind in "biu":
                a = a.astype(np.float32)
            return ufunc(a)
        return forward
    return wrap


def _unary(name: str, ufunc: str, backward, saves: str) -> Op:
    gpu = gpu_ufunc(ufunc)
    return Op(name, _float_result(np)(getattr(np, ufunc)),
              _float_result(None)(gpu) if gpu is not None else None, backward=backward, saves=saves)


def _rsqrt(xp_sqrt):
    def forward(a):
        if a.dtype.kind in "biu":
            a = a.astype(np.float32)
        return 1 / xp_sqrt(a)
    return forward


EXP = _unary("Exp", "exp", lambda ctx, g: g * ctx.output, "output")
LOG = _unary("Log", "log", lambda ctx, g: g / ctx.input(0), "inputs")
SQRT = _unary("Sqrt", "sqrt", lambda ctx, g: g * 0.5 / ctx.output, "output")
RSQRT = Op("Rsqrt", _rsqrt(np.sqrt), _rsqrt(gpu_ufunc("sqrt")) if gpu_ufunc("sqrt") else None,
           backward=lambda ctx, g: g * -0.5 * ctx.output ** 3, saves="output")
SQUARE = Op("Square", np.square, gpu_ufunc("square"),
            backward=lambda ctx, g: g * 2 * ctx.input(0), saves="inputs")
SIGN = Op("Sign", np.sign, gpu_ufunc("sign"))  # piecewise constant: no gradient


def _extremum_backward(pick_first):
    def backward(ctx, g):
        x, y = ctx.input(0), ctx.input(1)
        first = pick_first(x, y)  # ties go to the first input, as MindSpore's MaximumGrad does
        from gpucell.ops.selection import select

        return (sum_to(select(first, g, 0.0), ctx.shape(0)) if ctx.needs(0) else None,
                sum_to(select(first, 0.0, g), ctx.shape(1)) if ctx.needs(1) else None)
    return backward


MAXIMUM = Op("Maximum", np.maximum, gpu_ufunc("maximum"), promote=True,
             backward=_extremum_backward(lambda x, y: x >= y))
MINIMUM = Op("Minimum", np.minimum, gpu_ufunc("minimum"), promote=True,
             backward=_extremum_backward(lambda x, y: x <= y))


def exp(input):
    """``e ** input`` elementwise (ints give Float32)."""
    return apply(EXP, check_tensor("Exp", "input", input))


def log(input):
    """Natural logarithm elementwise."""
    return apply(LOG, check_tensor("Log", "input", input))


def sqrt(x):
    return apply(SQRT, check_tensor("Sqrt", "x", x))


def rsqrt(input):
    """``1 / sqrt(input)`` elementwise."""
    return apply(RSQRT, check_tensor("Rsqrt", "input", input))


def square(input):
    return apply(SQUARE, check_tensor("Square", "input", input))


def sign(input):
    """-1, 0 or 1 by the sign of each element."""
    return apply(SIGN, check_tensor("Sign", "input", input))


def maximum(input, other):
    """Elementwise maximum with broadcasting; either may be a Python number."""
    return apply(MAXIMUM, input, other)


def minimum(input, other):
    """Elementwise minimum with broadcasting; either may be a Python number."""
    return apply(MINIMUM, input, other)


def clamp(input, min=None, max=None):
    """``input`` limited to ``[min, max]``; each bound a number, a Tensor or None.

    >>> import gpucell as ms
    >>> ms.ops.clamp(ms.Tensor([-2.0, 0.5, 3.0]), -1.0, 1.0).asnumpy()
    array([-1. ,  0.5,  1. ], dtype=float32)
    """
    check_tensor("clamp", "input", input)
    if min is None and max is None:
        raise ValueError("For 'clamp', 'min' and 'max' can not both be None.")
    out = input
    if min is not None:
        out = apply(MAXIMUM, out, min)
    if max is not None:
        out = apply(MINIMUM, out, max)
    if out is input:
        out = input.copy()
    return out


clip = clamp


def where_positive(x: Tensor, a, b):
    """``a`` where ``x > 0``, else ``b`` (used by backward rules)."""
    from gpucell.ops.selection import select

    return select(x > 0, a, b)
