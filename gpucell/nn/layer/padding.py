"""Pad: constant, reflect and symmetric padding of every dim, as MindSpore's nn.Pad."""

from __future__ import annotations

import numbers

from gpucell.nn.cell import Cell
from gpucell.ops._util import check_tensor, type_name
from gpucell.ops.padding import pad_widths

__all__ = ["Pad"]

_MODES = {"CONSTANT": "constant", "REFLECT": "reflect", "SYMMETRIC": "symmetric"}


class Pad(Cell):
    """Pads each dim ``d`` of the input with ``paddings[d] = (before, after)`` entries: zeros
    ('CONSTANT'), a mirror without the edge ('REFLECT', each at most size - 1) or with it
    ('SYMMETRIC', each at most size).

    >>> import gpucell as ms
    >>> ms.nn.Pad(((0, 0), (1, 2)), mode="SYMMETRIC")(ms.Tensor([[1.0, 2.0, 3.0]])).asnumpy()
    array([[1., 1., 2., 3., 3., 2.]], dtype=float32)
    """

    def __init__(self, paddings, mode="CONSTANT"):
        super().__init__()
        ok = isinstance(paddings, tuple) and all(
            isinstance(p, tuple) and len(p) == 2 and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                                         for v in p) for p in paddings)
        if not ok:
            raise TypeError(f"For 'Pad', the 'paddings' must be a tuple of (before, after) int pairs, one per dim, "
                            f"but got {paddings!r} with type '{type_name(paddings)}'.")
        if any(v < 0 for p in paddings for v in p):
            raise ValueError(f"For 'Pad', the 'paddings' must be >= 0, but got {paddings!r}.")
        if mode not in _MODES:
            raise ValueError(f"For 'Pad', the 'mode' must be one of {list(_MODES)}, but got {mode!r}.")
        self.paddings = paddings
        self.mode = mode

    def construct(self, x):
        check_tensor("Pad", "x", x)
        if len(self.paddings) != x.ndim:
            raise ValueError(f"For 'Pad', the 'paddings' must hold one (before, after) pair per dim of the input "
                             f"({x.ndim} for shape {x.shape}), but got {len(self.paddings)}.")
        return pad_widths(x, self.paddings, _MODES[self.mode])
