"""Conv2d (NCHW) with MindSpore's defaults: pad_mode 'same', no bias, HeUniform(sqrt(5)) weights."""

from __future__ import annotations

import math

from gpucell import dtype as _dt
from gpucell.initializer import HeUniform, Uniform
from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import check_bool, check_channels, check_input, make_parameter, positive_int
from gpucell.ops._layer_util import pair, resolve_pads
from gpucell.ops.conv import conv2d_padded

__all__ = ["Conv2d"]


class Conv2d(Cell):
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
        super().__init__()
        where = "Conv2d"
        self.in_channels = positive_int(where, "in_channels", in_channels)
        self.out_channels = positive_int(where, "out_channels", out_channels)
        self.kernel_size = pair(where, "kernel_size", kernel_size)
        self.stride = pair(where, "stride", stride)
        self.dilation = pair(where, "dilation", dilation)
        self.group = positive_int(where, "group", group)
        self.has_bias = check_bool(where, "has_bias", has_bias)
        if isinstance(padding, (tuple, list)) and len(padding) != 4:
            raise ValueError(f"For '{where}', the 'padding' must be an int or a tuple of 4 ints (top, "
                             f"bottom, left, right), but got {padding!r}.")
        resolve_pads(where, pad_mode, padding, (1, 1), self.kernel_size, self.stride, self.dilation)
        if data_format != "NCHW":
            raise ValueError(f"For '{where}', only data_format 'NCHW' is supported, but got {data_format!r}.")
        for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % group:
                raise ValueError(f"For '{where}', the '{name}' ({channels}) must be divisible by 'group' "
                                 f"({group}).")
        self.pad_mode = pad_mode
        self.padding = padding
        self.data_format = data_format
        shape = (out_channels, in_channels // group) + self.kernel_size
        self.weight_init = HeUniform(negative_slope=math.sqrt(5)) if weight_init is None else weight_init
        self.weight = make_parameter(where, "weight", self.weight_init, shape, dtype)
        self.bias_init = bias_init
        if has_bias:
            if bias_init is None:
                self.bias_init = Uniform(1 / math.sqrt(shape[1] * shape[2] * shape[3]))
            self.bias = make_parameter(where, "bias", self.bias_init, (out_channels,), dtype)
        else:
            self.bias = None

    def construct(self, x):
        check_input("Conv2d", x, (4,), "4-D (N, C, H, W)")
        check_channels("Conv2d", x, self.in_channels, "in_channels")
        pads = resolve_pads("Conv2d", self.pad_mode, self.padding, x.shape[2:], self.kernel_size,
                            self.stride, self.dilation)
        return conv2d_padded(x, self.weight, self.bias, self.stride, self.dilation, pads, self.group)

    def extend_repr(self) -> str:
        return (f"input_channels={self.in_channels}, output_channels={self.out_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, pad_mode={self.pad_mode}, "
                f"padding={self.padding}, dilation={self.dilation}, group={self.group}, "
                f"has_bias={self.has_bias}, weight_init={self.weight_init}, bias_init={self.bias_init}, "
                f"format={self.data_format}")
