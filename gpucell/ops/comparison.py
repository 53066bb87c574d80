"""Comparisons (Bool results) and logical / bitwise ops. Python numbers are allowed as operands."""

from __future__ import annotations

import numpy as np

from gpucell.backend import array_module, kernel_ops
from gpucell.backend.kernel_ops._checks import ALL_DTYPES as _KERNEL_DTYPES
from gpucell.backend.kernel_ops.elementwise import COMPARISONS as _COMPARISONS
from gpucell.ops._dispatch import Op, apply, gpu_ufunc

__all__ = ["gt", "ge", "lt", "le", "equal", "not_equal", "greater", "greater_equal", "less",
           "less_equal", "logical_and", "logical_or", "logical_not", "logical_xor"]


def _op(name: str, ufunc: str, promote: bool = True) -> Op:
    return Op(name, getattr(np, ufunc), gpu_ufunc(ufunc), promote=promote)


def _compare(code: str):
    """The compare kernel (kernels/elementwise.cu) or its NumPy reference; a Python number takes
    the tensor's dtype, as in MindSpore (``gt(float32 tensor, 0.1)`` compares in float32).

    The number becomes a 0-d array by a fill kernel, not ``asarray``: on the GPU that would be a
    host-to-device copy, which CUDA-graph capture refuses."""
    def forward(a, b):
        if not hasattr(a, "dtype"):
            a = array_module(b).full((), a, dtype=b.dtype)
        elif not hasattr(b, "dtype"):
            b = array_module(a).full((), b, dtype=a.dtype)
        if a.dtype not in _KERNEL_DTYPES:
            return _compare_untemplated(code, a, b)
        return kernel_ops.compare(code, a, b)
    return forward


def _compare_untemplated(code: str, a, b):
    """Complex and UInt16/32/64, which the compare kernel is not instantiated for: the array module's
    ufunc (on the GPU a CuPy elementwise kernel, which CUDA-graph capture accepts)."""
    _, name, ufunc = _COMPARISONS[code]
    if a.dtype.kind == "c" and code not in ("eq", "ne"):
        raise TypeError(f"For '{name}', complex values have no order: the inputs must be real, but got "
                        f"{a.dtype}.")
    return getattr(array_module(a), ufunc.__name__)(a, b)


def _compare_op(name: str, code: str) -> Op:
    return Op(name, _compare(code), promote=True)


GREATER = _compare_op("Greater", "gt")
GREATER_EQUAL = _compare_op("GreaterEqual", "ge")
LESS = _compare_op("Less", "lt")
LESS_EQUAL = _compare_op("LessEqual", "le")
EQUAL = _compare_op("Equal", "eq")
NOT_EQUAL = _compare_op("NotEqual", "ne")
LOGICAL_AND = _op("LogicalAnd", "logical_and", promote=False)
LOGICAL_OR = _op("LogicalOr", "logical_or", promote=False)
LOGICAL_XOR = _op("LogicalXor", "logical_xor", promote=False)
LOGICAL_NOT = _op("LogicalNot", "logical_not", promote=False)
BITWISE_AND = _op("BitwiseAnd", "bitwise_and")
BITWISE_OR = _op("BitwiseOr", "bitwise_or")
BITWISE_XOR = _op("BitwiseXor", "bitwise_xor")
INVERT = _op("Invert", "invert", promote=False)


def gt(input, other):
    """``input > other`` elementwise, a Bool tensor. ``other`` may be a Python number.

    >>> import gpucell as ms
    >>> ms.ops.gt(ms.Tensor([0.1, 0.2]), 0.1)
    Tensor(shape=[2], dtype=Bool, value= [False,  True])
    """
    return apply(GREATER, input, other)


def ge(input, other):
    return apply(GREATER_EQUAL, input, other)


def lt(input, other):
    return apply(LESS, input, other)


def le(input, other):
    return apply(LESS_EQUAL, input, other)


def equal(input, other):
    return apply(EQUAL, input, other)


def not_equal(input, other):
    return apply(NOT_EQUAL, input, other)


greater, greater_equal, less, less_equal = gt, ge, lt, le


def logical_and(input, other):
    return apply(LOGICAL_AND, input, other)


def logical_or(input, other):
    return apply(LOGICAL_OR, input, other)


def logical_xor(input, other):
    return apply(LOGICAL_XOR, input, other)


def logical_not(input):
    return apply(LOGICAL_NOT, input)
