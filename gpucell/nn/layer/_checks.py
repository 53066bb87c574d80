"""Argument checks and Parameter creation shared by the layer Cells (errors name the Cell)."""

from __future__ import annotations

import numbers

from gpucell import dtype as _dt
from gpucell.initializer import initializer
from gpucell.ops._util import check_bool, check_int, type_name
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["check_bool", "check_channels", "check_input", "float_in", "make_parameter", "positive_int"]


def positive_int(where: str, name: str, value) -> int:
    value = check_int(where, name, value)
    if value < 1:
        raise ValueError(f"For '{where}', the '{name}' must be a positive int, but got {value}.")
    return value


def float_in(where: str, name: str, value, low: float, high: float, *, low_open: bool = False,
             high_open: bool = False, ints: bool = True) -> float:
    """``value`` as a float in [low, high] (bounds open when asked); ints allowed when ``ints``."""
    allowed = numbers.Real if ints else float
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise TypeError(f"For '{where}', the '{name}' must be a float, but got {value!r} with type "
                        f"'{type_name(value)}'.")
    if value < low or value > high or (low_open and value == low) or (high_open and value == high):
        span = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"For '{where}', the '{name}' must be in range {span}, but got {value}.")
    return float(value)


def make_parameter(where: str, name: str, init, shape: tuple, dtype=_dt.float32,
                   requires_grad: bool = True) -> Parameter:
    """A Parameter named ``name`` filled by ``init`` (a name, number, Tensor or Initializer)."""
    if isinstance(init, Tensor) and init.shape != tuple(shape):
        raise ValueError(f"For '{where}', the '{name}' init Tensor must have shape {tuple(shape)}, but got "
                         f"{init.shape}.")
    return Parameter(initializer(init, shape, dtype), name=name, requires_grad=requires_grad)


def check_input(where: str, x, ndims: tuple, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"For '{where}', the input must be a Tensor, but got {type_name(x)}.")
    if x.ndim not in ndims:
        raise ValueError(f"For '{where}', the input must be {what}, but got shape {x.shape}.")
    if x.dtype.kind != _dt._FLOAT:
        raise TypeError(f"For '{where}', the input must be float16, float32 or float64, but got {x.dtype}.")
    return x


def check_channels(where: str, x: Tensor, expected: int, name: str) -> None:
    if x.shape[1] != expected:
        raise ValueError(f"For '{where}', dim 1 of the input must equal {name} {expected}, but got input "
                         f"shape {x.shape}.")

