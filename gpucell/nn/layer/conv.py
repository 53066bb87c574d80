"""Conv1d, Conv2d and their transposes (NCHW / NCL) with MindSpore's defaults: pad_mode 'same', no
bias, HeUniform(sqrt(5)) weights, bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

The 1-D layers are the 2-D ones over a height of one, as in MindSpore, whose Conv1d weight is
(C_out, C_in / group, 1, k) and Conv1dTranspose weight (C_in, C_out / group, 1, k): checkpoints
load unchanged.
"""

from __future__ import annotations

import math

from gpucell import dtype as _dt
from gpucell.initializer import HeUniform, Uniform
from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import check_bool, check_channels, check_input, make_parameter, positive_int
from gpucell.ops import shape as _shape
from gpucell.ops._layer_util import pair, resolve_pads
from gpucell.ops._util import check_int
from gpucell.ops.conv import conv2d_padded
from gpucell.ops.conv_transpose import conv_transpose2d_padded, deconv_length
from gpucell.ops.linalg import bias_add
from gpucell.ops.padding import pad
from gpucell.tensor import Tensor

__all__ = ["Conv1d", "Conv1dTranspose", "Conv2d", "Conv2dTranspose"]


def _int(where: str, name: str, value, minimum: int) -> int:
    """The 1-D layers take plain ints (MindSpore: TypeError for a tuple)."""
    value = check_int(where, name, value)
    if value < minimum:
        raise ValueError(f"For '{where}', the '{name}' must be >= {minimum}, but got {value}.")
    return value


def _weight_init_1d(weight_init):
    """MindSpore's 1-D layers take a Tensor ``weight_init`` without the height: (C_out, C_in / group,
    k) for Conv1d, (C_in, C_out / group, k) for Conv1dTranspose, and store it over a height of one.
    A 4-D Tensor (the stored layout) is taken as it is."""
    if isinstance(weight_init, Tensor) and weight_init.ndim == 3:
        return _shape.expand_dims(weight_init, 2)
    return weight_init


def _as_2d(where: str, kernel_size, stride, padding, dilation) -> tuple:
    """A 1-D layer's (kernel, stride, padding, dilation) as the 2-D layer's over a height of one."""
    k, s = _int(where, "kernel_size", kernel_size, 1), _int(where, "stride", stride, 1)
    p, d = _int(where, "padding", padding, 0), _int(where, "dilation", dilation, 1)
    return (1, k), (1, s), (0, 0, p, p), (1, d)


class _Conv(Cell):
    """The parameters and checks every convolution layer shares, 1-D to 3-D: ``_tuple`` reads a
    window argument per spatial dim, ``_pads`` resolves the padding; ``transposed`` swaps the
    weight's first two dims as MindSpore does."""

    _transposed = False
    _tuple = staticmethod(pair)
    _padding_sides = ("top", "bottom", "left", "right")
    _format = "NCHW"

    def __init__(self, in_channels, out_channels, kernel_size, stride, pad_mode, padding, dilation, group,
                 has_bias, weight_init, bias_init, dtype, data_format=None):
        super().__init__()
        where = type(self).__name__
        self.in_channels = positive_int(where, "in_channels", in_channels)
        self.out_channels = positive_int(where, "out_channels", out_channels)
        self.kernel_size = self._tuple(where, "kernel_size", kernel_size)
        self.stride = self._tuple(where, "stride", stride)
        self.dilation = self._tuple(where, "dilation", dilation)
        self.group = positive_int(where, "group", group)
        self.has_bias = check_bool(where, "has_bias", has_bias)
        if data_format is not None and data_format != self._format:
            raise ValueError(f"For '{where}', only data_format '{self._format}' is supported, but got "
                             f"{data_format!r}.")
        sides = self._padding_sides
        if isinstance(padding, (tuple, list)) and len(padding) != len(sides):
            raise ValueError(f"For '{where}', the 'padding' must be an int or a tuple of {len(sides)} ints "
                             f"({', '.join(sides)}), but got {padding!r}.")
        self.pad_mode = pad_mode
        self.padding = padding
        self._pads((1,) * len(self.kernel_size))  # checks pad_mode against padding
        for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % group:
                raise ValueError(f"For '{where}', the '{name}' ({channels}) must be divisible by 'group' "
                                 f"({group}).")
        self.data_format = self._format
        first, second = (in_channels, out_channels) if self._transposed else (out_channels, in_channels)
        shape = (first, second // group) + self.kernel_size
        self.weight_init = HeUniform(negative_slope=math.sqrt(5)) if weight_init is None else weight_init
        self.weight = make_parameter(where, "weight", self.weight_init, shape, dtype)
        self.bias_init = bias_init
        if has_bias:
            if bias_init is None:
                self.bias_init = Uniform(1 / math.sqrt(math.prod(shape[1:])))
            self.bias = make_parameter(where, "bias", self.bias_init, (out_channels,), dtype)
        else:
            self.bias = None

    def _pads(self, size_hw) -> tuple:
        return resolve_pads(type(self).__name__, self.pad_mode, self.padding, size_hw, self.kernel_size,
                            self.stride, self.dilation)

    def _output_padding(self, output_padding) -> tuple:
        """A transposed layer's ``output_padding`` per spatial dim: each below max(stride, dilation),
        and non-zero only in pad_mode 'pad' (MindSpore's rules)."""
        where = type(self).__name__
        extra = self._tuple(where, "output_padding", output_padding, minimum=0)
        for axis, name in enumerate("dhw"[-len(extra):]):
            if extra[axis] >= max(self.stride[axis], self.dilation[axis]):
                raise ValueError(f"For '{where}', the 'output_padding' must be in range of [0, "
                                 f"max(stride_{name}, dilation_{name})) = [0, "
                                 f"{max(self.stride[axis], self.dilation[axis])}), but got {output_padding!r}.")
        if any(extra) and self.pad_mode.lower() != "pad":
            raise ValueError(f"For '{where}', a non-zero 'output_padding' needs pad_mode 'pad', but got "
                             f"pad_mode {self.pad_mode!r}.")
        return extra

    def extend_repr(self) -> str:
        return (f"input_channels={self.in_channels}, output_channels={self.out_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, pad_mode={self.pad_mode}, "
                f"padding={self.padding}, dilation={self.dilation}, group={self.group}, "
                f"has_bias={self.has_bias}, weight_init={self.weight_init}, bias_init={self.bias_init}, "
                f"format={self.data_format}")


class Conv2d(_Conv):
    """2-D convolution over NCHW input; ``weight`` is (out_channels, in_channels / group, kh, kw).

    ``pad_mode``: 'same' (output H = ceil(H / stride), the odd padding pixel at the bottom/right),
    'valid' (no padding) or 'pad' (``padding``: an int or (top, bottom, left, right)).

    >>> import gpucell as ms, numpy as np
    >>> net = ms.nn.Conv2d(3, 8, 3)
    >>> net(ms.Tensor(np.ones((2, 3, 5, 5), np.float32))).shape
    (2, 8, 5, 5)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad_mode="same", padding=0,
                 dilation=1, group=1, has_bias=False, weight_init=None, bias_init=None, data_format="NCHW",
                 dtype=_dt.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, pad_mode, padding, dilation, group,
                         has_bias, weight_init, bias_init, dtype, data_format)

    def construct(self, x):
        check_input("Conv2d", x, (4,), "4-D (N, C, H, W)")
        check_channels("Conv2d", x, self.in_channels, "in_channels")
        return conv2d_padded(x, self.weight, self.bias, self.stride, self.dilation, self._pads(x.shape[2:]),
                             self.group)


class Conv1d(_Conv):
    """1-D convolution over (N, C, L) input: Conv2d over a height of one; ``weight`` is
    (out_channels, in_channels / group, 1, kernel_size), as MindSpore stores it.

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.Conv1d(3, 4, 3, stride=2)(ms.Tensor(np.ones((2, 3, 9), np.float32))).shape
    (2, 4, 5)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad_mode="same", padding=0,
                 dilation=1, group=1, has_bias=False, weight_init=None, bias_init=None, dtype=_dt.float32):
        kernel, step, pads, spread = _as_2d("Conv1d", kernel_size, stride, padding, dilation)
        super().__init__(in_channels, out_channels, kernel, step, pad_mode, pads, spread, group, has_bias,
                         _weight_init_1d(weight_init), bias_init, dtype)

    def construct(self, x):
        check_input("Conv1d", x, (3,), "3-D (N, C, L)")
        check_channels("Conv1d", x, self.in_channels, "in_channels")
        x = _shape.expand_dims(x, 2)
        out = conv2d_padded(x, self.weight, self.bias, self.stride, self.dilation, self._pads(x.shape[2:]),
                            self.group)
        return _shape.squeeze(out, 2)


class _ConvTranspose(_Conv):
    _transposed = True

    def _transpose(self, x, output_padding=(0, 0)):
        """The transposed convolution of 4-D ``x``, bias added, then MindSpore's ``output_padding``:
        zero rows / columns appended at the bottom / right (after the bias, as MindSpore pads)."""
        where = type(self).__name__
        mode = self.pad_mode.lower()
        pads = resolve_pads(where, "pad", self.padding, (1, 1), self.kernel_size, self.stride, self.dilation)
        out_hw = tuple(deconv_length(mode, size, k, s, d, before + after) for size, k, s, d, before, after in
                       zip(x.shape[2:], self.kernel_size, self.stride, self.dilation, pads[0::2], pads[1::2]))
        if mode != "pad":
            pads = self._pads(out_hw)
        out = conv_transpose2d_padded(x, self.weight, self.stride, self.dilation, pads, self.group, out_hw, where)
        if self.bias is not None:
            out = bias_add(out, self.bias)
        if any(output_padding):
            out = pad(out, (0, output_padding[1], 0, output_padding[0]))
        return out


class Conv2dTranspose(_ConvTranspose):
    """2-D transposed convolution (the input gradient of Conv2d) over NCHW input; ``weight`` is
    (in_channels, out_channels / group, kh, kw).

    Output H: 'same' H * stride; 'valid' H * stride + max(extent - stride, 0); 'pad'
    (H - 1) * stride - top - bottom + extent, where extent = (kh - 1) * dilation + 1.
    ``output_padding`` ('pad' mode only, each < max(stride, dilation)) appends that many zero rows /
    columns at the bottom / right, after the bias, as MindSpore does.

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.Conv2dTranspose(3, 2, 3, stride=2)(ms.Tensor(np.ones((1, 3, 4, 4), np.float32))).shape
    (1, 2, 8, 8)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad_mode="same", padding=0,
                 output_padding=0, dilation=1, group=1, has_bias=False, weight_init=None, bias_init=None,
                 dtype=_dt.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, pad_mode, padding, dilation, group,
                         has_bias, weight_init, bias_init, dtype)
        self._extra = self._output_padding(output_padding)
        self.output_padding = output_padding

    def construct(self, x):
        check_input("Conv2dTranspose", x, (4,), "4-D (N, C, H, W)")
        check_channels("Conv2dTranspose", x, self.in_channels, "in_channels")
        return self._transpose(x, self._extra)


class Conv1dTranspose(_ConvTranspose):
    """1-D transposed convolution over (N, C, L) input; ``weight`` is (in_channels, out_channels /
    group, 1, kernel_size), as MindSpore stores it. Output L as Conv2dTranspose's W.

    >>> import gpucell as ms, numpy as np
    >>> net = ms.nn.Conv1dTranspose(3, 4, 4, pad_mode="pad")
    >>> net(ms.Tensor(np.ones((1, 3, 50), np.float32))).shape
    (1, 4, 53)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad_mode="same", padding=0, dilation=1,
                 group=1, has_bias=False, weight_init=None, bias_init=None, dtype=_dt.float32):
        kernel, step, pads, spread = _as_2d("Conv1dTranspose", kernel_size, stride, padding, dilation)
        super().__init__(in_channels, out_channels, kernel, step, pad_mode, pads, spread, group, has_bias,
                         _weight_init_1d(weight_init), bias_init, dtype)

    def construct(self, x):
        check_input("Conv1dTranspose", x, (3,), "3-D (N, C, L)")
        check_channels("Conv1dTranspose", x, self.in_channels, "in_channels")
        return _shape.squeeze(self._transpose(_shape.expand_dims(x, 2)), 2)
