"""max_pool2d and avg_pool2d (NCHW), one elementwise pass per kernel tap over strided slices.

A tap loop (kh * kw elementwise kernels) needs no im2col copy and runs the same on NumPy and CuPy.
Max pooling routes each output's gradient to the first maximum of its window, as MindSpore does,
and with ``return_indices`` also returns where that maximum is (flat over each H x W plane).
``ceil_mode`` becomes extra bottom / right padding that no maximum and no average counts (the last
window must still start inside the input or its top / left padding, as in MindSpore and PyTorch).
"""

from __future__ import annotations

import math

import numpy as np

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

__all__ = ["AVG_POOL2D", "MAX_POOL2D", "MAX_POOL2D_WITH_INDICES", "avg_pool1d", "avg_pool2d", "ceil_pads",
           "check_pool_input", "max_pool2d", "pool2d", "pool_1d_args"]

WITH_PADDING = "with padding"  # pool2d's divisor: count the taps inside the input and its padding


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


def _max_pool_with_indices(x, *, kernel, stride, dilation, pads):
    """(max, flat index of the first maximum in its H x W plane), int64 indices."""
    xp = array_module(x)
    padded = pad_hw(x, pads, -math.inf)
    out_hw = _geometry(x, kernel, stride, dilation, pads)
    width = x.shape[3]
    rows = xp.arange(out_hw[0]) * stride[0] - pads[0]
    cols = xp.arange(out_hw[1]) * stride[1] - pads[2]
    out = index = None
    for i, j, where in window_slices(kernel, stride, dilation, out_hw):
        values = padded[where]
        flat = (rows + i * dilation[0])[:, None] * width + (cols + j * dilation[1])[None, :]
        if out is None:
            out = values.copy()
            index = xp.broadcast_to(flat.astype(np.int64), out.shape).copy()
            continue
        # Strictly greater keeps the first maximum; a NaN wins, as in np.maximum (the plain op).
        better = (values > out) | (xp.isnan(values) & ~xp.isnan(out))
        out = xp.where(better, values, out)
        index = xp.where(better, flat, index)
    return out, index


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


def _max_pool_pick(gg, x, out, *, kernel, stride, dilation, pads):
    """The adjoint of ``_max_pool_grad``: per output, ``gg`` (input-shaped) at the first maximum of
    its window, the element that routing sent the output's gradient to."""
    xp = array_module(gg)
    padded = pad_hw(x, pads, -math.inf)
    gpad = pad_hw(gg, pads, 0)
    picked = xp.zeros(out.shape, dtype=gg.dtype)
    taken = xp.zeros(out.shape, dtype=bool)
    for _, _, where in window_slices(kernel, stride, dilation, out.shape[2:]):
        hit = padded[where] == out
        hit &= ~taken
        taken |= hit
        picked += xp.where(hit, gpad[where], 0)
    return picked


def _divisor(x, kernel, stride, pads, out_hw, divisor, counted):
    """The per-output divisor: a number, or the count of the taps inside the input and inside the
    ``counted`` part of the padding (none of it, unless ceil_mode added padding that must not
    count while the user's does)."""
    if divisor is not None:
        return divisor
    xp = array_module(x)
    ones = pad_hw(xp.ones((1, 1) + x.shape[2:], dtype=x.dtype), counted, 1)
    ones = pad_hw(ones, tuple(p - c for p, c in zip(pads, counted)), 0)
    counts = None
    for _, _, where in window_slices(kernel, stride, (1, 1), out_hw):
        counts = ones[where].copy() if counts is None else counts + ones[where]
    return counts


def _avg_pool(x, *, kernel, stride, pads, divisor, counted=(0, 0, 0, 0)):
    padded = pad_hw(x, pads, 0)
    out_hw = _geometry(x, kernel, stride, (1, 1), pads)
    out = None
    for _, _, where in window_slices(kernel, stride, (1, 1), out_hw):
        if out is None:
            out = padded[where].copy()
        else:
            out += padded[where]
    out /= _divisor(x, kernel, stride, pads, out_hw, divisor, counted)
    return out


def _avg_pool_grad(g, x, *, kernel, stride, pads, divisor, counted=(0, 0, 0, 0)):
    xp = array_module(g)
    h, w = x.shape[2:]
    share = g / _divisor(x, kernel, stride, pads, g.shape[2:], divisor, counted)
    grad = xp.zeros(g.shape[:2] + (h + pads[0] + pads[1], w + pads[2] + pads[3]), dtype=g.dtype)
    taps = xp.broadcast_to(share[:, :, None, None], g.shape[:2] + tuple(kernel) + g.shape[2:])
    add_windows(grad, taps, kernel, stride, (1, 1), g.shape[2:])
    return crop_hw(grad, pads, (h, w))


MAX_POOL2D = Op("MaxPool", _max_pool, saves="both",
                backward=lambda ctx, g: apply(MAX_POOL_GRAD, g, ctx.input(0), ctx.output, **ctx.attrs))
# Routing a gradient to each window's first maximum is linear in the gradient and piecewise constant
# in x, so MaxPoolGrad and MaxPoolPick are each other's gradient (x and the output get none), and
# AvgPool and AvgPoolGrad likewise: every order differentiates.
MAX_POOL_GRAD = Op("MaxPoolGrad", _max_pool_grad, backward=lambda ctx, gg: (
    apply(MAX_POOL_PICK, gg, ctx.input(1), ctx.input(2), **ctx.attrs), None, None))
MAX_POOL_PICK = Op("MaxPoolPick", _max_pool_pick, backward=lambda ctx, gg: (
    apply(MAX_POOL_GRAD, gg, ctx.input(1), ctx.input(2), **ctx.attrs), None, None))
MAX_POOL2D_WITH_INDICES = Op(
    "MaxPoolWithArgmax", _max_pool_with_indices, multi_output=True, saves="both",
    backward=lambda ctx, g, _index_grad: apply(MAX_POOL_GRAD, g, ctx.input(0), ctx.outputs[0], **ctx.attrs))
AVG_POOL2D = Op("AvgPool", _avg_pool,
                backward=lambda ctx, g: apply(AVG_POOL_GRAD, g, ctx.input(0), **ctx.attrs))
AVG_POOL_GRAD = Op("AvgPoolGrad", _avg_pool_grad,
                   backward=lambda ctx, gg: (apply(AVG_POOL2D, gg, **ctx.attrs), None))


def ceil_pads(size_hw, kernel, stride, dilation, pads) -> tuple:
    """``pads`` grown at the bottom / right so that floor-mode geometry gives ceil_mode's output
    size: ceil((size + pads - extent) / stride) + 1, less one where that last window would start
    past the input and its top / left padding."""
    grown = list(pads)
    for axis, (size, k, s, d) in enumerate(zip(size_hw, kernel, stride, dilation)):
        before, after = pads[2 * axis], pads[2 * axis + 1]
        span = size + before + after - (k - 1) * d - 1
        if span < 0:
            continue  # out_size reports the window that does not fit
        n = -(-span // s) + 1
        if (n - 1) * s >= size + before:
            n -= 1
        grown[2 * axis + 1] = after + max((n - 1) * s - span, 0)
    return tuple(grown)


def check_pool_input(where: str, x, kernel, stride, dilation, pads) -> None:
    """``x`` is a float (N, C, [D,] H, W) Tensor, one spatial dim per window dim, and the window fits
    its padded size."""
    check_tensor(where, "x", x)
    check_float(where, "x", x)
    if x.ndim != len(kernel) + 2:
        layout = ", ".join(("N", "C") + tuple("DHW"[-len(kernel):]))
        raise ValueError(f"For '{where}', the 'x' must be {len(kernel) + 2}-D ({layout}), but got shape {x.shape}.")
    out_size(where, x.shape[2:], kernel, stride, dilation, pads)


def pool2d(kind: str, x, kernel, stride, pads, dilation=(1, 1), divisor=None, where: str = "",
           ceil_mode: bool = False, return_indices: bool = False):
    """A pool with resolved geometry: ``kind`` 'max' or 'avg', ``pads`` (top, bottom, left, right).

    ``divisor`` (avg only): a number to divide every window sum by, ``WITH_PADDING`` to count the
    taps inside the input and ``pads``, or None to count only the taps inside the input.
    ``return_indices`` (max only): also return the flat index of each maximum (int64).
    """
    where = where or ("MaxPool2d" if kind == "max" else "AvgPool2d")
    check_pool_input(where, x, kernel, stride, dilation, pads)
    grown = ceil_pads(x.shape[2:], kernel, stride, dilation, pads) if ceil_mode else pads
    if kind == "max":
        op = MAX_POOL2D_WITH_INDICES if return_indices else MAX_POOL2D
        return apply(op, x, kernel=kernel, stride=stride, dilation=dilation, pads=grown)
    counted = (0, 0, 0, 0)
    if divisor == WITH_PADDING:
        if grown == pads:
            divisor = kernel[0] * kernel[1]  # every window lies inside the input and its padding
        else:
            divisor, counted = None, pads
    return apply(AVG_POOL2D, x, kernel=kernel, stride=stride, pads=grown, divisor=divisor, counted=counted)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
               ceil_mode=False):
    """Max over (kh, kw) windows of NCHW ``x``; ``padding`` pads with -inf (never the maximum).
    With ``return_indices`` returns ``(output, argmax)``, argmax the flat index (int64) of each
    maximum in its H x W plane.

    >>> import gpucell as ms, numpy as np
    >>> x = ms.Tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    >>> ms.ops.max_pool2d(x, 2).asnumpy().ravel()
    array([ 5.,  7., 13., 15.], dtype=float32)
    """
    kernel = pair("max_pool2d", "kernel_size", kernel_size)
    stride = kernel if stride is None else pair("max_pool2d", "stride", stride)
    dilation = pair("max_pool2d", "dilation", dilation)
    return pool2d("max", x, kernel, stride, four_pads("max_pool2d", padding), dilation,
                  where="max_pool2d", ceil_mode=check_bool("max_pool2d", "ceil_mode", ceil_mode),
                  return_indices=check_bool("max_pool2d", "return_indices", return_indices))


def avg_pool2d(input_x, kernel_size=1, stride=1, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over (kh, kw) windows of NCHW ``input_x``; padding counts unless ``count_include_pad``
    is False (the extra padding of ``ceil_mode`` never counts); ``divisor_override`` replaces the
    divisor."""
    kernel = pair("avg_pool2d", "kernel_size", kernel_size)
    stride = pair("avg_pool2d", "stride", stride)
    pads = four_pads("avg_pool2d", padding)
    divisor = divisor_override
    if divisor is None and check_bool("avg_pool2d", "count_include_pad", count_include_pad):
        divisor = WITH_PADDING
    return pool2d("avg", input_x, kernel, stride, pads, divisor=divisor, where="avg_pool2d",
                  ceil_mode=check_bool("avg_pool2d", "ceil_mode", ceil_mode))


def _one_int(where: str, name: str, value, minimum: int, lengths=(1,)) -> tuple:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(items) not in lengths:
        raise TypeError(f"For '{where}', the '{name}' must be an int or a tuple of {' or '.join(map(str, lengths))} "
                        f"int(s), but got {value!r}.")
    return tuple(pair(where, name, v, minimum)[0] for v in items)


def pool_1d_args(where: str, kernel_size, stride, padding, dilation) -> tuple:
    """A 1-D pool's (kernel, stride, padding, dilation) as the 2-D pool's over a height of one:
    each an int or a tuple of one int (``padding`` also (left, right))."""
    (kernel,) = _one_int(where, "kernel_size", kernel_size, 1)
    (step,) = _one_int(where, "stride", stride, 1)
    (spread,) = _one_int(where, "dilation", dilation, 1)
    pads = _one_int(where, "padding", padding, 0, (1, 2))
    return (1, kernel), (1, step), (0, 0, pads[0], pads[-1]), (1, spread)


def avg_pool1d(input_x, kernel_size=1, stride=1, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of (N, C, L) ``input_x``: avg_pool2d over a height of one. ``padding``: an
    int or (left, right) zeros, counted unless ``count_include_pad`` is False.

    >>> import gpucell as ms, numpy as np
    >>> ms.ops.avg_pool1d(ms.Tensor(np.arange(4, dtype=np.float32).reshape(1, 1, 4)), 2, 2).asnumpy()
    array([[[0.5, 2.5]]], dtype=float32)
    """
    from gpucell.ops.shape import expand_dims, squeeze

    check_tensor("avg_pool1d", "input_x", input_x)
    if input_x.ndim != 3:
        raise ValueError(f"For 'avg_pool1d', the 'input_x' must be 3-D (N, C, L), but got shape {input_x.shape}.")
    kernel, step, pads, _ = pool_1d_args("avg_pool1d", kernel_size, stride, padding, 1)
    divisor = WITH_PADDING if check_bool("avg_pool1d", "count_include_pad", count_include_pad) else None
    out = pool2d("avg", expand_dims(input_x, 2), kernel, step, pads, divisor=divisor, where="avg_pool1d",
                 ceil_mode=check_bool("avg_pool1d", "ceil_mode", ceil_mode))
    return squeeze(out, 2)
