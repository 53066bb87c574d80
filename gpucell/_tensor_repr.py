"""MindSpore's ``repr`` of a Tensor, reproduced with NumPy's array printer."""

from __future__ import annotations

import numpy as np

# MindSpore prints floats in scientific notation, 8 digits (4 for float16), one sign column.
_FLOAT_DIGITS = {np.dtype(np.float16): 4, np.dtype(np.float32): 8, np.dtype(np.float64): 8}
# Twelve float32 fields of 15 characters and their ", " separators fit; a thirteenth wraps.
_LINE_WIDTH = 205


def _float_formatter(digits: int):
    width = digits + 7  # sign, "d.", digits, "e+XX"

    def fmt(x) -> str:
        return f"{x:{width}.{digits}e}" if np.isfinite(x) else f"{x!s:>{width}}"
    return fmt


def format_value(array: np.ndarray) -> str:
    """The text after ``value=`` for a host array."""
    if array.ndim == 0:
        # A scalar prints like C++'s ostream: six significant digits, no trailing zeros.
        return f"{array.item():g}" if array.dtype.kind == "f" else str(array.item())
    formatter = None
    if array.dtype.kind == "f":
        formatter = {"float_kind": _float_formatter(_FLOAT_DIGITS[array.dtype])}
    return np.array2string(array, separator=", ", formatter=formatter, threshold=1000,
                           edgeitems=3, max_line_width=_LINE_WIDTH)


def tensor_repr(shape: tuple, dtype, host: np.ndarray) -> str:
    """``Tensor(shape=[2, 3], dtype=Float32, value=...)`` as MindSpore prints it."""
    value = format_value(host)
    gap = "\n" if host.ndim > 1 else " "
    return f"Tensor(shape={list(shape)}, dtype={dtype}, value={gap}{value})"
