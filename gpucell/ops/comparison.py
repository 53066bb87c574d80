"""Comparisons (Bool results) and logical / bitwise ops. Python numbers are allowed as operands."""

from __future__ import annotations

import numpy as np

from gpucell.ops._dispatch import Op, apply, gpu_ufunc

__all__ = ["gt", "ge", "lt", "le", "equal", "not_equal", "greater", "greater_equal", "less",
           "less_equal", "logical_and", "logical_or", "logical_not", "logical_xor"]


def _op(name: str, ufunc: str, promote: bool = True) -> Op:
    return Op(name, getattr(np, ufunc), gpu_ufunc(ufunc), promote=promote)


GREATER = _op("Greater", "greater")
GREATER_EQUAL = _op("GreaterEqual", "greater_equal")
LESS = _op("Less", "less")
LESS_EQUAL = _op("LessEqual", "less_equal")
EQUAL = _op("Equal", "equal")
NOT_EQUAL = _op("NotEqual", "not_equal")
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
