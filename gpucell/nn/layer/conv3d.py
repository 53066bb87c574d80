"""Conv3d and Conv3dTranspose (NCDHW) with MindSpore's defaults: pad_mode 'same', no bias,
HeUniform(sqrt(5)) weights, bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)); see gpucell.ops.conv3d for how
they run (one conv2d over depth windows folded into channels)."""

from __future__ import annotations

from gpucell import dtype as _dt
from gpucell.nn.layer._checks import check_channels, check_input
from gpucell.nn.layer.conv import _Conv
from gpucell.ops.conv3d import conv3d_padded, conv_transpose3d_padded, resolve_pads3, triple
from gpucell.ops.conv_transpose import deconv_length
from gpucell.ops.linalg import bias_add
from gpucell.ops.padding import pad

__all__ = ["Conv3d", "Conv3dTranspose"]

_PADDINGS = (1, 6)  # an int, or (front, back, top, bottom, left, right)


class _Conv3d(_Conv):
    """The 2-D layers' parameters and checks over three spatial dims."""

    _tuple = staticmethod(triple)
    _padding_sides = ("front", "back", "top", "bottom", "left", "right")
    _format = "NCDHW"

    def _pads(self, size) -> tuple:
        return resolve_pads3(type(self).__name__, self.pad_mode, self.padding, size, self.kernel_size, self.stride,
                             self.dilation, _PADDINGS)

    def _checked(self, x):
        where = type(self).__name__
        check_input(where, x, (5,), "5-D (N, C, D, H, W)")
        check_channels(where, x, self.in_channels, "in_channels")
        return x


class Conv3d(_Conv3d):
    """3-D convolution over NCDHW input; ``weight`` is (out_channels, in_channels / group, kd, kh, kw).

    ``pad_mode``: 'same' (output D = ceil(D / stride), the odd padding at the back / bottom / right),
    'valid' (no padding) or 'pad' (``padding``: an int or (front, back, top, bottom, left, right)).

    >>> import gpucell as ms, numpy as np
    >>> net = ms.nn.Conv3d(3, 8, 3, stride=(1, 2, 2))
    >>> net(ms.Tensor(np.ones((2, 3, 4, 5, 5), np.float32))).shape
    (2, 8, 4, 3, 3)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad_mode="same", padding=0, dilation=1,
                 group=1, has_bias=False, weight_init=None, bias_init=None, data_format="NCDHW", dtype=_dt.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, pad_mode, padding, dilation, group,
                         has_bias, weight_init, bias_init, dtype, data_format)

    def construct(self, x):
        x = self._checked(x)
        return conv3d_padded(x, self.weight, self.bias, self.stride, self.dilation, self._pads(x.shape[2:]),
                             self.group, "Conv3d")


class Conv3dTranspose(_Conv3d):
    """3-D transposed convolution (the input gradient of Conv3d) over NCDHW input; ``weight`` is
    (in_channels, out_channels / group, kd, kh, kw).

    Output D: 'same' D * stride; 'valid' D * stride + max(extent - stride, 0); 'pad'
    (D - 1) * stride - front - back + extent + output_padding, where extent = (kd - 1) * dilation + 1.
    ``output_padding`` ('pad' mode only, an int or (d, h, w), each < max(stride, dilation)) lengthens
    the back / bottom / right of the output, which the kernel still reaches where the padding allows.

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.Conv3dTranspose(3, 2, 3, stride=2)(ms.Tensor(np.ones((1, 3, 2, 4, 4), np.float32))).shape
    (1, 2, 4, 8, 8)
    """

    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad_mode="same", padding=0, dilation=1,
                 group=1, output_padding=0, has_bias=False, weight_init=None, bias_init=None, data_format="NCDHW",
                 dtype=_dt.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, pad_mode, padding, dilation, group,
                         has_bias, weight_init, bias_init, dtype, data_format)
        self._extra = self._output_padding(output_padding)
        self.output_padding = output_padding

    def construct(self, x):
        x = self._checked(x)
        mode = self.pad_mode.lower()
        pads = self._pads((1, 1, 1)) if mode == "pad" else (0,) * 6
        out = tuple(deconv_length(mode, size, k, s, d, before + after) for size, k, s, d, before, after in
                    zip(x.shape[2:], self.kernel_size, self.stride, self.dilation, pads[0::2], pads[1::2]))
        if mode == "same":
            pads = self._pads(out)
        # output_padding lengthens the output into the back padding (rows the kernel still reaches: the
        # adjoint there), then past it (rows no tap reaches: zeros, bias added after, as MindSpore).
        reach = tuple(min(after, extra) for after, extra in zip(pads[1::2], self._extra))
        pads = tuple(v for before, after, r in zip(pads[0::2], pads[1::2], reach) for v in (before, after - r))
        out = tuple(o + r for o, r in zip(out, reach))
        zeros = tuple(extra - r for extra, r in zip(self._extra, reach))
        y = conv_transpose3d_padded(x, self.weight, self.stride, self.dilation, pads, self.group, out,
                                    "Conv3dTranspose")
        if any(zeros):
            y = pad(y, (0, zeros[2], 0, zeros[1], 0, zeros[0]))
        return y if self.bias is None else bias_add(y, self.bias)
