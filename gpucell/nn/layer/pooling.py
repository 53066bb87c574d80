"""MaxPool2d and AvgPool2d (NCHW, or CHW without a batch dim) with MindSpore's pad modes,
``ceil_mode``, and ``return_indices`` for the max."""

from __future__ import annotations

from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import check_bool, check_input
from gpucell.ops import shape as _shape
from gpucell.ops._layer_util import pair, resolve_pads
from gpucell.ops.pooling import WITH_PADDING, pool2d

__all__ = ["AvgPool2d", "MaxPool2d"]


def _int_or_tuple(where: str, name: str, value):
    """MindSpore keeps the value as given (a one-element tuple collapses) and prints it so."""
    pair(where, name, value)
    if isinstance(value, (tuple, list)) and len(value) == 1:
        return value[0]
    return value


class _Pool2d(Cell):
    _kind = ""

    def __init__(self, kernel_size, stride, pad_mode, padding, dilation, ceil_mode, data_format):
        super().__init__()
        where = type(self).__name__
        self.ceil_mode = check_bool(where, "ceil_mode", ceil_mode)
        if data_format != "NCHW":
            raise ValueError(f"For '{where}', only data_format 'NCHW' is supported, but got {data_format!r}.")
        self.kernel_size = _int_or_tuple(where, "kernel_size", kernel_size)
        self.stride = _int_or_tuple(where, "stride", stride)
        self._kernel = pair(where, "kernel_size", kernel_size)
        self._stride = pair(where, "stride", stride)
        self._dilation = pair(where, "dilation", dilation)
        self.padding = padding
        self.format = data_format
        resolve_pads(where, pad_mode, padding, (1, 1), self._kernel, self._stride, self._dilation)
        self.pad_mode = pad_mode.upper()

    def _pool(self, x, divisor_for, return_indices: bool = False):
        where = type(self).__name__
        check_input(where, x, (3, 4), "3-D (C, H, W) or 4-D (N, C, H, W)")
        batched = x.ndim == 4
        if not batched:
            x = _shape.expand_dims(x, 0)
        pads = resolve_pads(where, self.pad_mode, self.padding, x.shape[2:], self._kernel, self._stride,
                            self._dilation)
        out = pool2d(self._kind, x, self._kernel, self._stride, pads, self._dilation,
                     divisor_for(pads), where, self.ceil_mode, return_indices)
        if batched:
            return out
        return tuple(_shape.squeeze(o, 0) for o in out) if return_indices else _shape.squeeze(out, 0)

    def extend_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, pad_mode={self.pad_mode}"


class MaxPool2d(_Pool2d):
    """Max over (kh, kw) windows; padding ('same', or 'pad' with ``padding``) never wins the max.

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.MaxPool2d(2, 2)(ms.Tensor(np.ones((1, 1, 4, 4), np.float32))).shape
    (1, 1, 2, 2)
    """

    _kind = "max"

    def __init__(self, kernel_size=1, stride=1, pad_mode="valid", padding=0, dilation=1, return_indices=False,
                 ceil_mode=False, data_format="NCHW"):
        super().__init__(kernel_size, stride, pad_mode, padding, dilation, ceil_mode, data_format)
        self.return_indices = check_bool("MaxPool2d", "return_indices", return_indices)

    def construct(self, x):
        """The pooled ``x``; with ``return_indices``, ``(output, argmax)`` where argmax (Int64) is
        the flat index of each maximum in its H x W plane."""
        return self._pool(x, lambda pads: None, self.return_indices)


class AvgPool2d(_Pool2d):
    """Mean over (kh, kw) windows. 'same' averages only the taps inside the input; 'pad' counts the
    zero padding unless ``count_include_pad`` is False; ``divisor_override`` replaces the divisor."""

    _kind = "avg"

    def __init__(self, kernel_size=1, stride=1, pad_mode="valid", padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None, data_format="NCHW"):
        super().__init__(kernel_size, stride, pad_mode, padding, 1, ceil_mode, data_format)
        self.count_include_pad = check_bool("AvgPool2d", "count_include_pad", count_include_pad)
        if divisor_override is not None and (isinstance(divisor_override, bool) or
                                             not isinstance(divisor_override, int) or divisor_override < 1):
            raise ValueError(f"For 'AvgPool2d', the 'divisor_override' must be a positive int or None, but "
                             f"got {divisor_override!r}.")
        self.divisor_override = divisor_override

    def _divisor(self, pads):
        if self.divisor_override is not None:
            return self.divisor_override
        if self.pad_mode == "PAD" and self.count_include_pad or not any(pads):
            return WITH_PADDING  # the kernel's size, less what ceil_mode adds past the padding
        return None

    def construct(self, x):
        return self._pool(x, self._divisor)
