"""Elementwise arithmetic: add, sub, mul, div, floor_divide, mod, pow, neg, abs.

Binary ops promote their inputs with MindSpore's rules (int32 + float32 -> float32; a Python float
lifts an int tensor to float32) before the forward runs.
"""

from __future__ import annotations

import numpy as np

from gpucell import backend
from gpucell.ops._dispatch import Op, apply, gpu_ufunc
from gpucell.ops._util import sum_to

__all__ = ["add", "sub", "mul", "div", "floor_divide", "mod", "pow", "neg", "abs",
           "ADD", "SUB", "MUL", "DIV", "FLOORDIV", "MOD", "POW", "NEG", "ABS"]


def _true_divide(gpu: bool):
    def forward(a, b):
        out = (backend.cupy if gpu else np).true_divide(a, b)
        # Integer division gives float32, as in MindSpore, not NumPy's float64.
        if out.dtype == np.float64 and getattr(a, "dtype", None) != np.float64 \
                and getattr(b, "dtype", None) != np.float64:
            out = out.astype(np.float32)
        return out
    return forward


def _ufunc_op(name: str, ufunc: str, backward=None, promote: bool = True, saves: str = "inputs") -> Op:
    return Op(name, getattr(np, ufunc), gpu_ufunc(ufunc), backward=backward, promote=promote,
              saves=saves)


# Backward rules: ``ctx`` is the recorded node; each returns one gradient (or None) per input, in
# the input's shape (``sum_to`` undoes broadcasting; the engine casts to the input's dtype).
def _add_backward(ctx, g):
    return (sum_to(g, ctx.shape(0)) if ctx.needs(0) else None,
            sum_to(g, ctx.shape(1)) if ctx.needs(1) else None)


def _sub_backward(ctx, g):
    return (sum_to(g, ctx.shape(0)) if ctx.needs(0) else None,
            sum_to(neg(g), ctx.shape(1)) if ctx.needs(1) else None)


def _mul_backward(ctx, g):
    a, b = ctx.input(0), ctx.input(1)
    return (sum_to(g * b, ctx.shape(0)) if ctx.needs(0) else None,
            sum_to(g * a, ctx.shape(1)) if ctx.needs(1) else None)


def _div_backward(ctx, g):
    a, b = ctx.input(0), ctx.input(1)
    ga = g / b
    return (sum_to(ga, ctx.shape(0)) if ctx.needs(0) else None,
            sum_to(neg(ga * a / b), ctx.shape(1)) if ctx.needs(1) else None)


def _pow_backward(ctx, g):
    from gpucell.ops.elementwise import log, where_positive

    x, y = ctx.input(0), ctx.input(1)
    gx = sum_to(g * y * x ** (y - 1), ctx.shape(0)) if ctx.needs(0) else None
    gy = None
    if ctx.needs(1):
        # d(x^y)/dy = x^y log x, taken as 0 where x <= 0 (the real power is not defined there).
        gy = sum_to(where_positive(x, g * x ** y * log(where_positive(x, x, 1.0)), 0.0), ctx.shape(1))
    return gx, gy


def _neg_backward(ctx, g):
    return neg(g)


def _abs_backward(ctx, g):
    from gpucell.ops.elementwise import sign

    return g * sign(ctx.input(0))


def _mod_backward(ctx, g):
    x, y = ctx.input(0), ctx.input(1)
    return (sum_to(g, ctx.shape(0)) if ctx.needs(0) else None,
            sum_to(neg(g * floor_divide(x, y)), ctx.shape(1)) if ctx.needs(1) else None)


ADD = _ufunc_op("Add", "add", _add_backward, saves="none")
SUB = _ufunc_op("Sub", "subtract", _sub_backward, saves="none")
MUL = _ufunc_op("Mul", "multiply", _mul_backward)
DIV = Op("Div", _true_divide(False), _true_divide(True), promote=True,
         backward=_div_backward)
FLOORDIV = _ufunc_op("FloorDiv", "floor_divide")  # piecewise constant: no gradient
MOD = _ufunc_op("FloorMod", "remainder", _mod_backward)
POW = _ufunc_op("Pow", "power", _pow_backward)
NEG = _ufunc_op("Neg", "negative", _neg_backward, promote=False, saves="none")
ABS = _ufunc_op("Abs", "absolute", _abs_backward, promote=False)


def add(input, other):
    """``input + other`` with broadcasting. Either may be a Python number."""
    return apply(ADD, input, other)


def sub(input, other):
    """``input - other`` with broadcasting."""
    return apply(SUB, input, other)


def mul(input, other):
    """``input * other`` with broadcasting."""
    return apply(MUL, input, other)


def _is_integral(v) -> bool:
    return v.dtype.kind in "biu" if hasattr(v, "dtype") else isinstance(v, int)


def _trunc_divide(a, b):
    xp = backend.array_module(a if hasattr(a, "dtype") else b)
    if _is_integral(a) and _is_integral(b):
        quotient = xp.floor_divide(a, b)
        # floor rounds towards -inf: step back towards zero where the quotient is inexact and
        # negative (in integers, without a float round trip that would lose int64 precision).
        inexact = quotient * b != a
        negative = (a < 0) != (b < 0)
        return quotient + (inexact & negative).astype(quotient.dtype)
    return xp.trunc(xp.true_divide(a, b))


TRUNCDIV = Op("TruncDiv", _trunc_divide, promote=True)  # piecewise constant: no gradient


def div(input, other, *, rounding_mode=None):
    """``input / other``: true division (integer inputs give Float32); ``rounding_mode`` 'floor' or
    'trunc' rounds the quotient down or towards zero, keeping the promoted dtype (no gradient).

    >>> import gpucell as ms
    >>> ms.ops.div(ms.Tensor([-7, 7]), 2, rounding_mode="trunc").asnumpy()
    array([-3,  3])
    """
    if rounding_mode is None:
        return apply(DIV, input, other)
    if rounding_mode == "floor":
        return apply(FLOORDIV, input, other)
    if rounding_mode == "trunc":
        return apply(TRUNCDIV, input, other)
    raise ValueError(f"For 'div', the 'rounding_mode' must be None, 'floor' or 'trunc', but got {rounding_mode!r}.")


def floor_divide(input, other):
    return apply(FLOORDIV, input, other)


def mod(input, other):
    return apply(MOD, input, other)


def pow(input, exponent):
    """``input ** exponent`` elementwise."""
    return apply(POW, input, exponent)


def neg(input):
    return apply(NEG, input)


def abs(input):
    return apply(ABS, input)
