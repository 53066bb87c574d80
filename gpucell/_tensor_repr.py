"""MindSpore's ``repr`` of a Tensor, reproduced rule for rule.

MindSpore prints floats as ``%15.8e`` (``%11.4e`` for float16), bools right-aligned in 5 columns,
integers right-aligned to the widest printed integer and complex values as ``1+2j`` (unpadded).
A 1-D tensor breaks its line after every 12 floats or bools (24 integers, complex values) and is
elided only beyond 1000 elements; in a tensor of 2 or more
dims, every dim longer than 6 shows its first 3 and last 3 entries around ``...``. A 0-d tensor
prints its value as C++'s ``ostream`` would (6 significant digits).
"""

from __future__ import annotations

import re

import numpy as np

_EDGE = 3            # entries shown on each side of an elision
_THRESHOLD = 6       # dims longer than this are elided (2-D and up)
_THRESHOLD_1D = 1000  # 1-D tensors longer than this are elided
_LINE_FLOAT = 12     # 1-D line break after this many floats or bools
_LINE_INT = 24       # ... or integers
_PAD = "\0"          # stands for the padding of an integer until the widest one is known
_PAD_RUN = re.compile(_PAD + "+")


def _float_field(digits: int):
    width = digits + 7  # sign, "d.", digits, "e+XX"

    def fmt(x) -> str:
        return f"{x:{width}.{digits}e}" if np.isfinite(x) else f"{_ostream_special(x):>{width}}"
    return fmt


def _ostream_special(x) -> str:
    if np.isnan(x):
        return "-nan" if np.signbit(x) else "nan"
    return "-inf" if x < 0 else "inf"


def _complex_text(x) -> str:
    """A complex as MindSpore's ``operator<<`` of ComplexStorage writes it: the real part, then the
    imaginary part with its sign, then ``j`` (``1+2j``, ``0.5-1e-07j``), each in C++'s default
    6-significant-digit format."""
    return f"{_g(x.real, '')}{_g(x.imag, '+')}j"


def _g(value, sign: str) -> str:
    if np.isfinite(value):
        return f"{value:{sign}g}"
    text = _ostream_special(value)
    return text if not sign or text[0] == "-" else "+" + text


def _field_formatter(dtype: np.dtype, short: bool = False):
    """(format one element, 1-D line length, whether integers need padding to a common width)."""
    if dtype.kind == "c":
        return _complex_text, _LINE_INT, False  # MindSpore breaks complex lines as it does integers
    if dtype.kind == "f":
        return _float_field(4 if short or dtype == np.float16 else 8), _LINE_FLOAT, False
    if dtype.kind == "b":
        return (lambda x: f"{'True' if x else 'False':>5}"), _LINE_FLOAT, False
    return (lambda x: str(int(x))), _LINE_INT, True


def _scalar_text(value: np.ndarray) -> str:
    item = value.item()
    if value.dtype.kind == "c":
        return _complex_text(item)
    if value.dtype.kind == "f":
        return f"{item:g}" if np.isfinite(item) else _ostream_special(item)
    if value.dtype.kind == "b":
        return "True" if item else "False"
    return str(item)


def format_value(array: np.ndarray) -> str:
    """The text after ``value=`` for a host array."""
    if array.size == 0:
        return ""
    short = array.dtype.name == "bfloat16"  # ml_dtypes' kind is "V": printed as float16 is
    if short:
        array = array.astype(np.float32)
    if array.ndim == 0:
        return _scalar_text(array)
    fmt, line, pad = _field_formatter(array.dtype, short)
    widths: list[int] = []
    ndim = array.ndim

    def cell(x) -> str:
        text = fmt(x)
        if pad:
            widths.append(len(text))
            return _PAD * len(text) + text
        return text

    def run(values, out: list) -> None:
        n = len(values)
        for i, x in enumerate(values):
            out.append(cell(x))
            if i != n - 1:
                out.append(", ")
            if ndim == 1 and n > _EDGE and (i + 1) % line == 0:
                out.append("\n ")

    def rec(sub: np.ndarray, depth: int, out: list) -> None:
        out.append("[")
        num = sub.shape[0]
        limit = _THRESHOLD if ndim > 1 else _THRESHOLD_1D
        if depth == ndim - 1:
            if num > limit:
                run(sub[:_EDGE], out)
                out.append(" ... ")
                run(sub[num - _EDGE:], out)
            else:
                run(sub, out)
        else:
            indent = "\n" + " " * (depth + 1)
            for i in range(min(_EDGE, num)):
                if i > 0:
                    out.append("," + indent)
                rec(sub[i], depth + 1, out)
            if num > _THRESHOLD:
                out.append("," + indent + "...")
            if num > _EDGE:
                tail = min(num - _EDGE, _EDGE)
                for i in range(tail):
                    if i != 0 or num <= _THRESHOLD:
                        out.append(",")
                    out.append(indent)
                    rec(sub[num - tail + i], depth + 1, out)
        out.append("]")

    parts: list[str] = []
    rec(array, 0, parts)
    text = "".join(parts)
    if pad:
        widest = max(widths)
        # Each run of padding marks precedes a number of that many characters: right-align it.
        text = _PAD_RUN.sub(lambda m: " " * (widest - len(m.group())), text)
    return text


def tensor_repr(shape: tuple, dtype, host: np.ndarray) -> str:
    """``Tensor(shape=[2, 3], dtype=Float32, value=...)`` as MindSpore prints it."""
    gap = "\n" if host.ndim > 1 else " "
    return f"Tensor(shape={list(shape)}, dtype={dtype}, value={gap}{format_value(host)})"
