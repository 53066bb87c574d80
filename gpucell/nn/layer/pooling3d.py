"""MaxPool3d and AvgPool3d (NCDHW, or CDHW without a batch dim) with MindSpore's pad modes,
``ceil_mode``, and ``return_indices`` for the max; see gpucell.ops.pooling3d for how they run."""

from __future__ import annotations

from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import check_bool, check_input
from gpucell.nn.layer.pooling import AvgPool2d
from gpucell.ops import shape as _shape
from gpucell.ops.conv3d import resolve_pads3, triple
from gpucell.ops.pooling3d import pool3d

__all__ = ["AvgPool3d", "MaxPool3d"]


def _as_given(where: str, name: str, value):
    """MindSpore keeps the value as given (a one-element tuple collapses) and prints it so."""
    triple(where, name, value)
    if isinstance(value, (tuple, list)) and len(value) == 1:
        return value[0]
    return value


class _Pool3d(Cell):
    _kind = ""
    _paddings = (1, 3)

    def __init__(self, kernel_size, stride, pad_mode, padding, dilation, ceil_mode):
        super().__init__()
        where = type(self).__name__
        self.ceil_mode = check_bool(where, "ceil_mode", ceil_mode)
        self.kernel_size = _as_given(where, "kernel_size", kernel_size)
        self.stride = _as_given(where, "stride", stride)
        self._kernel = triple(where, "kernel_size", kernel_size)
        self._stride = triple(where, "stride", stride)
        self._dilation = triple(where, "dilation", dilation)
        self.padding = padding
        resolve_pads3(where, pad_mode, padding, (1, 1, 1), self._kernel, self._stride, self._dilation,
                      self._paddings)
        self.pad_mode = pad_mode.upper()

    def _pool(self, x, divisor_for, return_indices: bool = False):
        where = type(self).__name__
        check_input(where, x, (4, 5), "4-D (C, D, H, W) or 5-D (N, C, D, H, W)")
        batched = x.ndim == 5
        if not batched:
            x = _shape.expand_dims(x, 0)
        pads = resolve_pads3(where, self.pad_mode, self.padding, x.shape[2:], self._kernel, self._stride,
                             self._dilation, self._paddings)
        out = pool3d(self._kind, x, self._kernel, self._stride, pads, self._dilation, divisor_for(pads), where,
                     self.ceil_mode, return_indices)
        if batched:
            return out
        return tuple(_shape.squeeze(o, 0) for o in out) if return_indices else _shape.squeeze(out, 0)

    def extend_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, pad_mode={self.pad_mode}"


class MaxPool3d(_Pool3d):
    """Max over (kd, kh, kw) windows; padding ('same', or 'pad' with ``padding``: an int or (d, h, w),
    both sides) never wins the max.

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.MaxPool3d(2, 2)(ms.Tensor(np.ones((1, 1, 4, 4, 4), np.float32))).shape
    (1, 1, 2, 2, 2)
    """

    _kind = "max"

    def __init__(self, kernel_size=1, stride=1, pad_mode="valid", padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__(kernel_size, stride, pad_mode, padding, dilation, ceil_mode)
        self.return_indices = check_bool("MaxPool3d", "return_indices", return_indices)

    def construct(self, x):
        """The pooled ``x``; with ``return_indices``, ``(output, argmax)`` where argmax (Int64) is
        the flat index of each maximum in its D x H x W volume."""
        return self._pool(x, lambda pads: None, self.return_indices)


class AvgPool3d(_Pool3d):
    """Mean over (kd, kh, kw) windows. 'same' averages only the taps inside the input; 'pad'
    (``padding``: an int or (d, h, w), both sides) counts the zero padding unless
    ``count_include_pad`` is False; ``divisor_override`` replaces the divisor.

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.AvgPool3d(2, 2)(ms.Tensor(np.ones((2, 4, 4, 6), np.float32))).shape
    (2, 2, 2, 3)
    """

    _kind = "avg"

    def __init__(self, kernel_size=1, stride=1, pad_mode="valid", padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__(kernel_size, stride, pad_mode, padding, 1, ceil_mode)
        self.count_include_pad = check_bool("AvgPool3d", "count_include_pad", count_include_pad)
        if divisor_override is not None and (isinstance(divisor_override, bool) or
                                             not isinstance(divisor_override, int) or divisor_override < 1):
            raise ValueError(f"For 'AvgPool3d', the 'divisor_override' must be a positive int or None, but "
                             f"got {divisor_override!r}.")
        self.divisor_override = divisor_override

    _divisor = AvgPool2d._divisor  # the same rules: override, padding counted in 'pad' mode, else inside only

    def construct(self, x):
        return self._pool(x, self._divisor)
