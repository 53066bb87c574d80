"""MaxPool2d and AvgPool2d (NCHW, or CHW without a batch dim) with MindSpore's pad modes,
``ceil_mode``, and ``return_indices`` for the max; MaxPool1d and AvgPool1d (NCL, or CL), the 2-D
pools over a height of one; the adaptive pools AdaptiveAvgPool1d / 2d and AdaptiveMaxPool1d / 2d."""

from __future__ import annotations

from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import check_bool, check_input
from gpucell.ops import shape as _shape
from gpucell.ops._layer_util import pair, resolve_pads
from gpucell.ops.adaptive_pooling import (
    adaptive_avg_pool1d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_output_size,
)
from gpucell.ops.pooling import WITH_PADDING, pool2d, pool_1d_args
from gpucell.ops.resample import adaptive_avg_pool2d

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AvgPool1d", "AvgPool2d",
           "MaxPool1d", "MaxPool2d"]


def _as_given(where: str, name: str, value, per_dim):
    """MindSpore keeps the value as given (a one-element tuple collapses) and prints it so;
    ``per_dim`` (``pair`` or ``triple``) checks it."""
    per_dim(where, name, value)
    if isinstance(value, (tuple, list)) and len(value) == 1:
        return value[0]
    return value


def check_divisor_override(where: str, value):
    """An average pool's ``divisor_override``: a positive int or None."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"For '{where}', the 'divisor_override' must be a positive int or None, but got "
                         f"{value!r}.")
    return value


class _Pool(Cell):
    """What the fixed-window pools share, 1-D to 3-D: ``ceil_mode`` and the window arguments
    (``_tuple`` reads one per spatial dim; ``kernel_size`` and ``stride`` kept as given), with
    ``pad_mode`` checked against ``padding`` by ``_pads``."""

    _kind = ""
    _tuple = staticmethod(pair)

    def __init__(self, kernel_size, stride, pad_mode, padding, dilation, ceil_mode):
        super().__init__()
        where = type(self).__name__
        self.ceil_mode = check_bool(where, "ceil_mode", ceil_mode)
        self.kernel_size = _as_given(where, "kernel_size", kernel_size, self._tuple)
        self.stride = _as_given(where, "stride", stride, self._tuple)
        self._kernel = self._tuple(where, "kernel_size", kernel_size)
        self._stride = self._tuple(where, "stride", stride)
        self._dilation = self._tuple(where, "dilation", dilation)
        self.padding = padding
        self._padding = padding  # what the pool reads: the 1-D pools' (top, bottom, left, right)
        self._pads(pad_mode, (1,) * len(self._kernel))
        self.pad_mode = pad_mode.upper()

    def _pads(self, pad_mode, size) -> tuple:
        return resolve_pads(type(self).__name__, pad_mode, self._padding, size, self._kernel, self._stride,
                            self._dilation)

    def extend_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, pad_mode={self.pad_mode}"


class _Pool2d(_Pool):
    _spatial = 2  # the 1-D pools run the 2-D ones over a height of one

    def __init__(self, kernel_size, stride, pad_mode, padding, dilation, ceil_mode, data_format):
        if data_format != "NCHW":
            raise ValueError(f"For '{type(self).__name__}', only data_format 'NCHW' is supported, but got "
                             f"{data_format!r}.")
        super().__init__(kernel_size, stride, pad_mode, padding, dilation, ceil_mode)
        self.format = data_format

    def _pool(self, x, divisor_for, return_indices: bool = False):
        where = type(self).__name__
        if self._spatial == 1:
            check_input(where, x, (2, 3), "2-D (C, L) or 3-D (N, C, L)")
            x = _shape.expand_dims(x, x.ndim - 1)
        else:
            check_input(where, x, (3, 4), "3-D (C, H, W) or 4-D (N, C, H, W)")
        batched = x.ndim == 4
        if not batched:
            x = _shape.expand_dims(x, 0)
        pads = self._pads(self.pad_mode, x.shape[2:])
        out = pool2d(self._kind, x, self._kernel, self._stride, pads, self._dilation,
                     divisor_for(pads), where, self.ceil_mode, return_indices)
        squeeze = ((2,) if self._spatial == 1 else ()) + (() if batched else (0,))
        for axis in squeeze:
            out = tuple(_shape.squeeze(o, axis) for o in out) if return_indices else _shape.squeeze(out, axis)
        return out


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
        self.return_indices = check_bool(type(self).__name__, "return_indices", return_indices)

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
        self.count_include_pad = check_bool(type(self).__name__, "count_include_pad", count_include_pad)
        self.divisor_override = check_divisor_override(type(self).__name__, divisor_override)

    def _divisor(self, pads):
        if self.divisor_override is not None:
            return self.divisor_override
        if self.pad_mode == "PAD" and self.count_include_pad or not any(pads):
            return WITH_PADDING  # the kernel's size, less what ceil_mode adds past the padding
        return None

    def construct(self, x):
        return self._pool(x, self._divisor)


class _Pool1d:
    """Mixin: the 1-D arguments (ints, or tuples of one) as the 2-D pool's over a height of one;
    the attributes keep the values as given, as MindSpore prints them."""

    _spatial = 1

    def _init_1d(self, kernel_size, stride, padding, dilation):
        return pool_1d_args(type(self).__name__, kernel_size, stride, padding, dilation)

    def _keep_1d(self, kernel_size, stride, padding):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding


class MaxPool1d(_Pool1d, MaxPool2d):
    """Max over windows of (N, C, L) or (C, L) input; MaxPool2d over a height of one. With
    ``return_indices`` the indices are positions along L (Int64).

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.MaxPool1d(2, 2)(ms.Tensor(np.arange(6, dtype=np.float32).reshape(1, 1, 6))).asnumpy()
    array([[[1., 3., 5.]]], dtype=float32)
    """

    def __init__(self, kernel_size=1, stride=1, pad_mode="valid", padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        kernel, step, pads, spread = self._init_1d(kernel_size, stride, padding, dilation)
        super().__init__(kernel, step, pad_mode, pads, spread, return_indices, ceil_mode)
        self._keep_1d(kernel_size, stride, padding)


class AvgPool1d(_Pool1d, AvgPool2d):
    """Mean over windows of (N, C, L) or (C, L) input; AvgPool2d over a height of one.

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.AvgPool1d(2, 2)(ms.Tensor(np.arange(6, dtype=np.float32).reshape(1, 1, 6))).asnumpy()
    array([[[0.5, 2.5, 4.5]]], dtype=float32)
    """

    def __init__(self, kernel_size=1, stride=1, pad_mode="valid", padding=0, ceil_mode=False,
                 count_include_pad=True):
        kernel, step, pads, _ = self._init_1d(kernel_size, stride, padding, 1)
        super().__init__(kernel, step, pad_mode, pads, ceil_mode, count_include_pad)
        self._keep_1d(kernel_size, stride, padding)


class _AdaptivePool(Cell):
    """An adaptive pool: ``output_size`` checked now, kept as given (MindSpore prints it so)."""

    _dims = 2
    _ranks = (3, 4), "3-D (C, H, W) or 4-D (N, C, H, W)"

    def __init__(self, output_size, return_indices=None):
        super().__init__()
        adaptive_output_size(type(self).__name__, output_size, self._dims)
        self.output_size = output_size
        if return_indices is not None:  # the max pools
            self.return_indices = check_bool(type(self).__name__, "return_indices", return_indices)

    def _checked(self, input):
        return check_input(type(self).__name__, input, *self._ranks)

    def extend_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptivePool):
    """Averages (N, C, H, W) or (C, H, W) input over windows that tile it into ``output_size`` (an
    int, or (h, w) where None keeps that dim): see ops.adaptive_avg_pool2d.

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.AdaptiveAvgPool2d(1)(ms.Tensor(np.ones((2, 3, 5, 4), np.float32))).shape
    (2, 3, 1, 1)
    """

    def __init__(self, output_size):
        super().__init__(output_size)

    def construct(self, input):
        return adaptive_avg_pool2d(self._checked(input), self.output_size)


class AdaptiveMaxPool2d(_AdaptivePool):
    """The maximum of (N, C, H, W) or (C, H, W) input over windows that tile it into
    ``output_size`` (an int, or (h, w) where None keeps that dim); with ``return_indices``,
    ``(output, argmax)``, argmax the Int64 flat index in the H x W plane: see ops.adaptive_max_pool2d.

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.AdaptiveMaxPool2d((None, 2))(ms.Tensor(np.ones((2, 3, 5, 4), np.float32))).shape
    (2, 3, 5, 2)
    """

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size, return_indices)

    def construct(self, input):
        return adaptive_max_pool2d(self._checked(input), self.output_size, self.return_indices)


class AdaptiveAvgPool1d(_AdaptivePool):
    """Averages (N, C, L) or (C, L) input over the windows floor(i * L / output_size) to
    ceil((i + 1) * L / output_size): see ops.adaptive_avg_pool1d.

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.AdaptiveAvgPool1d(2)(ms.Tensor(np.arange(6, dtype=np.float32).reshape(1, 1, 6))).asnumpy()
    array([[[1., 4.]]], dtype=float32)
    """

    _dims = 1
    _ranks = (2, 3), "2-D (C, L) or 3-D (N, C, L)"

    def __init__(self, output_size):
        super().__init__(output_size)

    def construct(self, input):
        return adaptive_avg_pool1d(self._checked(input), self.output_size)


class AdaptiveMaxPool1d(_AdaptivePool):
    """The maximum of (N, C, L) or (C, L) input over the windows floor(i * L / output_size) to
    ceil((i + 1) * L / output_size); with ``return_indices``, also each maximum's Int64 position
    along L: see ops.adaptive_max_pool1d.

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.AdaptiveMaxPool1d(3)(ms.Tensor(np.arange(6, dtype=np.float32).reshape(1, 1, 6))).asnumpy()
    array([[[1., 3., 5.]]], dtype=float32)
    """

    _dims = 1
    _ranks = (2, 3), "2-D (C, L) or 3-D (N, C, L)"

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size, return_indices)

    def construct(self, input):
        return adaptive_max_pool1d(self._checked(input), self.output_size, self.return_indices)
