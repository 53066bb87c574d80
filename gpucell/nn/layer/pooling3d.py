"""MaxPool3d and AvgPool3d (NCDHW, or CDHW without a batch dim) with MindSpore's pad modes,
``ceil_mode``, and ``return_indices`` for the max; see gpucell.ops.pooling3d for how they run."""

from __future__ import annotations

from gpucell.nn.layer._checks import check_bool, check_input
from gpucell.nn.layer.pooling import AvgPool2d, _Pool, check_divisor_override
from gpucell.ops import shape as _shape
from gpucell.ops.conv3d import resolve_pads3, triple
from gpucell.ops.pooling3d import pool3d

__all__ = ["AvgPool3d", "MaxPool3d"]


class _Pool3d(_Pool):
    _tuple = staticmethod(triple)
    _paddings = (1, 3)  # an int, or (d, h, w) for both sides

    def _pads(self, pad_mode, size) -> tuple:
        return resolve_pads3(type(self).__name__, pad_mode, self._padding, size, self._kernel, self._stride,
                             self._dilation, self._paddings)

    def _pool(self, x, divisor_for, return_indices: bool = False):
        where = type(self).__name__
        check_input(where, x, (4, 5), "4-D (C, D, H, W) or 5-D (N, C, D, H, W)")
        batched = x.ndim == 5
        if not batched:
            x = _shape.expand_dims(x, 0)
        pads = self._pads(self.pad_mode, x.shape[2:])
        out = pool3d(self._kind, x, self._kernel, self._stride, pads, self._dilation, divisor_for(pads), where,
                     self.ceil_mode, return_indices)
        if batched:
            return out
        return tuple(_shape.squeeze(o, 0) for o in out) if return_indices else _shape.squeeze(out, 0)


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
        self.divisor_override = check_divisor_override("AvgPool3d", divisor_override)

    _divisor = AvgPool2d._divisor  # the same rules: override, padding counted in 'pad' mode, else inside only

    def construct(self, x):
        return self._pool(x, self._divisor)
