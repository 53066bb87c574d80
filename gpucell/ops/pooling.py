"""max_pool2d and avg_pool2d (NCHW), one elementwise pass per kernel tap over strided slices.

A tap loop (kh * kw elementwise kernels) needs no im2col copy and runs the same on NumPy and CuPy.
Max pooling routes each output's gradient to the first maximum of its window, as MindSpore does.
"""

from __future__ import annotations

import math

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._layer_util import (
    add_windows,
    crop_hw,
    four_pads,
    out_size,
    pad_hw,
    pair,
    window_slices,
)
from gpucell.ops._util import check_bool, check_float, check_tensor

__all__ = ["AVG_POOL2D", "MAX_POOL2D", "avg_pool2d", "max_pool2d", "pool2d"]


def _geometry(x, kernel, stride, dilation, pads):
    return out_size("Pool2D", x.shape[2:], kernel, stride, dilation, pads)


def _max_pool(x, *, kernel, stride, dilation, pads):
    xp = array_module(x)
    padded = pad_hw(x, pads, -math.inf)
    out_hw = _geometry(x, kernel, stride, dilation, pads)
    out = None
    for _, _, where in window_slices(kernel, stride, dilation, out_hw):
        if out is None:
            out = padded[where].copy()
        else:
            xp.maximum(out, padded[where], out=out)
    return out


def _max_pool_grad(g, x, out, *, kernel, stride, dilation, pads):
    xp = array_module(g)
    padded = pad_hw(x, pads, -math.inf)
    grad = xp.zeros(padded.shape, dtype=g.dtype)
    taken = xp.zeros(out.shape, dtype=bool)
    for _, _, where in window_slices(kernel, stride, dilation, out.shape[2:]):
        hit = padded[where] == out
        hit &= ~taken
        taken |= hit
        grad[where] += xp.where(hit, g, 0)
    return crop_hw(grad, pads, x.shape[2:])


def _divisor(x, kernel, stride, pads, out_hw, divisor):
    """The per-output divisor: a number, or (when padding is not counted) the valid-tap counts."""
    if divisor is not None:
        return divisor
    xp = array_module(x)
    ones = pad_hw(xp.ones((1, 1) + x.shape[2:], dtype=x.dtype), pads, 0)
    counts = None
    for _, _, where in window_slices(kernel, stride, (1, 1), out_hw):
        counts = ones[where].copy() if counts is None else counts + ones[where]
    return counts


def _avg_pool(x, *, kernel, stride, pads, divisor):
    padded = pad_hw(x, pads, 0)
    out_hw = _geometry(x, kernel, stride, (1, 1), pads)
    out = None
    for _, _, where in window_slices(kernel, stride, (1, 1), out_hw):
        if out is None:
            out = padded[where].copy()
        else:
            out += padded[where]
    out /= _divisor(x, kernel, stride, pads, out_hw, divisor)
    return out


def _avg_pool_grad(g, x, *, kernel, stride, pads, divisor):
    xp = array_module(g)
    h, w = x.shape[2:]
    share = g / _divisor(x, kernel, stride, pads, g.shape[2:], divisor)
    grad = xp.zeros(g.shape[:2] + (h + pads[0] + pads[1], w + pads[2] + pads[3]), dtype=g.dtype)
    taps = xp.broadcast_to(share[:, :, None, None], g.shape[:2] + tuple(kernel) + g.shape[2:])
    add_windows(grad, taps, kernel, stride, (1, 1), g.shape[2:])
    return crop_hw(grad, pads, (h, w))


MAX_POOL2D = Op("MaxPool", _max_pool, saves="both",
                backward=lambda ctx, g: apply(MAX_POOL_GRAD, g, ctx.input(0), ctx.output, **ctx.attrs))
MAX_POOL_GRAD = Op("MaxPoolGrad", _max_pool_grad)
AVG_POOL2D = Op("AvgPool", _avg_pool,
                backward=lambda ctx, g: apply(AVG_POOL_GRAD, g, ctx.input(0), **ctx.attrs))
AVG_POOL_GRAD = Op("AvgPoolGrad", _avg_pool_grad)


def pool2d(kind: str, x, kernel, stride, pads, dilation=(1, 1), divisor=None, where: str = ""):
    """A pool with resolved geometry: ``kind`` 'max' or 'avg', ``pads`` (top, bottom, left, right).

    ``divisor`` (avg only): a number to divide every window sum by, or None to count only the taps
    that fall inside the input (padding excluded).
    """
    where = where or ("MaxPool2d" if kind == "max" else "AvgPool2d")
    check_tensor(where, "x", x)
    check_float(where, "x", x)
    if x.ndim != 4:
        raise ValueError(f"For '{where}', the 'x' must be 4-D (N, C, H, W), but got shape {x.shape}.")
    out_size(where, x.shape[2:], kernel, stride, dilation, pads)
    if kind == "max":
        return apply(MAX_POOL2D, x, kernel=kernel, stride=stride, dilation=dilation, pads=pads)
    return apply(AVG_POOL2D, x, kernel=kernel, stride=stride, pads=pads, divisor=divisor)


def _check_unsupported(where: str, **flags) -> None:
    for name, value in flags.items():
        if check_bool(where, name, value):
            raise NotImplementedError(f"For '{where}', '{name}=True' is not supported by gpucell yet.")


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
               ceil_mode=False):
    """Max over (kh, kw) windows of NCHW ``x``; ``padding`` pads with -inf (never the maximum).

    >>> import gpucell as ms, numpy as np
    >>> x = ms.Tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    >>> ms.ops.max_pool2d(x, 2).asnumpy().ravel()
    array([ 5.,  7., 13., 15.], dtype=float32)
    """
    _check_unsupported("max_pool2d", return_indices=return_indices, ceil_mode=ceil_mode)
    kernel = pair("max_pool2d", "kernel_size", kernel_size)
    stride = kernel if stride is None else pair("max_pool2d", "stride", stride)
    dilation = pair("max_pool2d", "dilation", dilation)
    return pool2d("max", x, kernel, stride, four_pads("max_pool2d", padding), dilation,
                  where="max_pool2d")


def avg_pool2d(input_x, kernel_size=1, stride=1, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over (kh, kw) windows of NCHW ``input_x``; padding counts unless ``count_include_pad``
    is False; ``divisor_override`` replaces the divisor."""
    _check_unsupported("avg_pool2d", ceil_mode=ceil_mode)
    kernel = pair("avg_pool2d", "kernel_size", kernel_size)
    stride = pair("avg_pool2d", "stride", stride)
    pads = four_pads("avg_pool2d", padding)
    divisor = divisor_override
    if divisor is None and check_bool("avg_pool2d", "count_include_pad", count_include_pad):
        divisor = kernel[0] * kernel[1]
    return pool2d("avg", input_x, kernel, stride, pads, divisor=divisor, where="avg_pool2d")
