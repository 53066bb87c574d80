"""Elementwise arithmetic: add, sub, mul, div, floor_divide, mod, pow, neg, abs.

Binary ops promote their inputs with MindSpore's rules (int32 + float32 -> float32; a Python float
lifts an int tensor to float32) before the forward runs.
"""

from __future__ import annotations

import numpy as np

from gpucell.backend import cupy
from gpucell.ops._dispatch import Op, apply, gpu_ufunc

__all__ = ["add", "sub", "mul", "div", "floor_divide", "mod", "pow", "neg", "abs",
           "ADD", "SUB", "MUL", "DIV", "FLOORDIV", "MOD", "POW", "NEG", "ABS"]


def _true_divide(xp):
    def forward(a, b):
        out = xp.true_divide(a, b)
        # Integer division gives float32, as in MindSpore, not NumPy's float64.
        if out.dtype == np.float64 and getattr(a, "dtype", None) != np.float64 \
                and getattr(b, "dtype", None) != np.float64:
            out = out.astype(np.float32)
        return out
    return forward


def _ufunc_op(name: str, ufunc: str, promote: bool = True) -> Op:
    return Op(name, getattr(np, ufunc), gpu_ufunc(ufunc), promote=promote)


ADD = _ufunc_op("Add", "add")
SUB = _ufunc_op("Sub", "subtract")
MUL = _ufunc_op("Mul", "multiply")
DIV = Op("Div", _true_divide(np), _true_divide(cupy) if cupy is not None else None, promote=True)
FLOORDIV = _ufunc_op("FloorDiv", "floor_divide")
MOD = _ufunc_op("FloorMod", "remainder")
POW = _ufunc_op("Pow", "power")
NEG = _ufunc_op("Neg", "negative", promote=False)
ABS = _ufunc_op("Abs", "absolute", promote=False)


def add(input, other):
    """``input + other`` with broadcasting. Either may be a Python number."""
    return apply(ADD, input, other)


def sub(input, other):
    """``input - other`` with broadcasting."""
    return apply(SUB, input, other)


def mul(input, other):
    """``input * other`` with broadcasting."""
    return apply(MUL, input, other)


def div(input, other):
    """``input / other``: true division; integer inputs give Float32."""
    return apply(DIV, input, other)


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
