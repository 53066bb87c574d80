"""conv2d (NCHW): im2col through a strided view, then the matmul kernel, one call per group.

Backward: the input gradient is ``weight.T @ grad`` scattered back by slice-adds (col2im), the
weight gradient ``grad @ cols.T`` summed over the batch, the bias gradient a per-channel sum. All
of it runs on the matmul / reduce kernels and elementwise copies, so a CUDA graph can capture it.
"""

from __future__ import annotations

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._layer_util import (
    add_windows,
    channel_sum,
    crop_hw,
    matmul,
    needs,
    out_size,
    pad_hw,
    pair,
    reduce_sum,
    resolve_pads,
    spread,
    windows,
)
from gpucell.ops._util import check_float, check_int, check_tensor

__all__ = ["CONV2D", "CONV2D_GRAD", "col2im", "conv1d", "conv2d", "conv2d_padded", "conv_args"]


def _cols(x, kernel, stride, dilation, pads, groups):
    """im2col: (N, groups, C/groups * kh * kw, OH * OW) and the output size."""
    xp = array_module(x)
    padded = pad_hw(x, pads)
    out_hw = out_size("Conv2D", x.shape[2:], kernel, stride, dilation, pads)
    cols = xp.ascontiguousarray(windows(padded, kernel, stride, dilation, out_hw))
    n, c = x.shape[:2]
    return cols.reshape(n, groups, c // groups * kernel[0] * kernel[1], out_hw[0] * out_hw[1]), out_hw


def _conv2d(x, w, b=None, *, stride, dilation, pads, groups):
    xp = array_module(x)
    kernel = w.shape[2:]
    cols, out_hw = _cols(x, kernel, stride, dilation, pads, groups)
    n, o = x.shape[0], w.shape[0]
    wm = w.reshape(groups, o // groups, -1)
    if groups == 1:
        out = matmul(wm[0], cols[:, 0])
    else:
        out = xp.empty((n, groups, o // groups, cols.shape[-1]), dtype=x.dtype)
        for gi in range(groups):
            out[:, gi] = matmul(wm[gi], cols[:, gi])
    out = out.reshape(n, o, out_hw[0], out_hw[1])
    if b is not None:
        out += b.reshape(1, o, 1, 1)
    return out


def col2im(g, w, in_shape, *, stride, dilation, pads, groups):
    """The input gradient of conv2d: ``weight.T @ g`` per group, scattered back by slice-adds onto
    an input of ``in_shape`` (also the forward of the transposed convolution)."""
    xp = array_module(g)
    n, c, h, wd = in_shape
    o, kernel = w.shape[0], w.shape[2:]
    g3 = g.reshape(n, groups, o // groups, -1)
    wm = w.reshape(groups, o // groups, -1)
    gcols = xp.empty((n, groups, wm.shape[-1], g3.shape[-1]), dtype=g.dtype)
    for gi in range(groups):
        gcols[:, gi] = matmul(wm[gi], g3[:, gi], transpose_a=True)
    padded = xp.zeros((n, c, h + pads[0] + pads[1], wd + pads[2] + pads[3]), dtype=g.dtype)
    add_windows(padded, gcols.reshape(n, c, kernel[0], kernel[1], *g.shape[2:]), kernel, stride,
                dilation, g.shape[2:])
    return crop_hw(padded, pads, (h, wd))


def _conv2d_grad(g, x, w, *, stride, dilation, pads, groups, wanted):
    xp = array_module(g)
    n = x.shape[0]
    o, kernel = w.shape[0], w.shape[2:]
    g3 = g.reshape(n, groups, o // groups, -1)
    grads = []
    if wanted[0]:
        grads.append(col2im(g, w, x.shape, stride=stride, dilation=dilation, pads=pads, groups=groups))
    if wanted[1]:
        cols, _ = _cols(x, kernel, stride, dilation, pads, groups)
        gw = xp.empty((groups, o // groups, cols.shape[2]), dtype=g.dtype)
        for gi in range(groups):
            per_sample = matmul(g3[:, gi], cols[:, gi], transpose_b=True)
            gw[gi] = reduce_sum(per_sample, axis=0)
        grads.append(gw.reshape(w.shape))
    if len(wanted) > 2 and wanted[2]:
        grads.append(channel_sum(g.reshape(n, o, -1)))
    return tuple(grads)


def _backward(ctx, g):
    wanted = needs(ctx, len(ctx.shapes))
    return spread(wanted, apply(CONV2D_GRAD, g, ctx.input(0), ctx.input(1), wanted=wanted,
                                **ctx.attrs))


def _grad_backward(ctx, *grads):
    # Conv2DGrad is bilinear: gx = conv_w^T(g), gw = corr(x, g), gb = sum(g). With gx, gw, gb's
    # gradients ggx, ggw, ggb: g gets conv2d(ggx, w) + conv2d(x, ggw, ggb), x gets gw's input
    # gradient as if ggw were the weight, w gets the weight gradient of conv2d(ggx, w). All are
    # Conv2D / Conv2DGrad calls, so every order differentiates.
    wanted = ctx.attrs["wanted"]
    attrs = {k: v for k, v in ctx.attrs.items() if k != "wanted"}
    it = iter(grads)
    ggx, ggw, ggb = (next(it) if len(wanted) > i and wanted[i] else None for i in range(3))
    g, x, w = ctx.input(0), ctx.input(1), ctx.input(2)
    dg = dx = dw = None
    if ctx.needs(0):
        parts = []
        if ggx is not None:
            parts.append(apply(CONV2D, ggx, w, **attrs))
        if ggw is not None:
            parts.append(apply(CONV2D, x, ggw, **attrs))
        if ggb is not None:
            from gpucell.ops import shape as _shape

            parts.append(_shape.broadcast_to(_shape.reshape(ggb, (1, -1, 1, 1)), g.shape))
        for part in parts:
            dg = part if dg is None else dg + part
    if ctx.needs(1) and ggw is not None:
        dx = apply(CONV2D_GRAD, g, x, ggw, wanted=(True, False), **attrs)[0]
    if ctx.needs(2) and ggx is not None:
        dw = apply(CONV2D_GRAD, g, ggx, w, wanted=(False, True), **attrs)[0]
    return dg, dx, dw


CONV2D = Op("Conv2D", _conv2d, backward=_backward)
CONV2D_GRAD = Op("Conv2DGrad", _conv2d_grad, multi_output=True, backward=_grad_backward)


def conv2d_padded(x, weight, bias, stride, dilation, pads, groups: int):
    """conv2d with resolved geometry: ``pads`` is (top, bottom, left, right); checks the tensors."""
    check_tensor("Conv2D", "x", x)
    check_tensor("Conv2D", "weight", weight)
    check_float("Conv2D", "x", x)
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"For 'Conv2D', 'x' and 'weight' must be 4-D (NCHW and (C_out, C_in/groups, kh, "
                         f"kw)), but got shapes {x.shape} and {weight.shape}.")
    if x.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
        raise ValueError(f"For 'Conv2D', 'x' must have {weight.shape[1] * groups} channels (weight "
                         f"{weight.shape} with groups={groups}) and C_out must divide by groups, but got "
                         f"x of shape {x.shape}.")
    if x.dtype is not weight.dtype:
        raise TypeError(f"For 'Conv2D', the dtype of 'x' ({x.dtype}) must equal the dtype of 'weight' "
                        f"({weight.dtype}).")
    out_size("Conv2D", x.shape[2:], weight.shape[2:], stride, dilation, pads)
    attrs = {"stride": stride, "dilation": dilation, "pads": pads, "groups": groups}
    if bias is None:
        return apply(CONV2D, x, weight, **attrs)
    check_tensor("Conv2D", "bias", bias)
    if bias.shape != (weight.shape[0],) or bias.dtype is not x.dtype:
        raise ValueError(f"For 'Conv2D', the 'bias' must have shape ({weight.shape[0]},) and dtype "
                         f"{x.dtype}, but got shape {bias.shape} and dtype {bias.dtype}.")
    return apply(CONV2D, x, weight, bias, **attrs)


def conv_args(op: str, input, weight, stride, dilation, groups, per_dim) -> tuple:
    """The checks the public 2-D and 3-D convs share: ``stride`` and ``dilation`` read by ``per_dim``
    (``pair`` or ``triple``), ``groups`` >= 1, ``input`` and ``weight`` Tensors with a batch / channel
    dim pair and a window per spatial dim. Returns (stride, dilation, groups)."""
    stride = per_dim(op, "stride", stride)
    dilation = per_dim(op, "dilation", dilation)
    groups = check_int(op, "groups", groups)
    if groups < 1:
        raise ValueError(f"For '{op}', the 'groups' must be >= 1, but got {groups}.")
    check_tensor(op, "input", input)
    check_tensor(op, "weight", weight)
    rank = len(stride) + 2
    if input.ndim != rank or weight.ndim != rank:
        raise ValueError(f"For '{op}', 'input' and 'weight' must be {rank}-D, but got shapes {input.shape} and "
                         f"{weight.shape}.")
    return stride, dilation, groups


def conv2d(input, weight, bias=None, stride=1, pad_mode="valid", padding=0, dilation=1, groups=1):
    """2-D cross-correlation of NCHW ``input`` with ``weight`` (C_out, C_in / groups, kh, kw).

    ``pad_mode``: 'valid' (no padding), 'same' (output H = ceil(H / stride)) or 'pad' (``padding``:
    an int, (h, w) or (top, bottom, left, right)).

    >>> import gpucell as ms, numpy as np
    >>> x = ms.Tensor(np.ones((1, 1, 3, 3), np.float32))
    >>> ms.ops.conv2d(x, ms.Tensor(np.ones((1, 1, 2, 2), np.float32))).shape
    (1, 1, 2, 2)
    """
    stride, dilation, groups = conv_args("Conv2D", input, weight, stride, dilation, groups, pair)
    pads = resolve_pads("Conv2D", pad_mode, padding, input.shape[2:], weight.shape[2:], stride, dilation)
    return conv2d_padded(input, weight, bias, stride, dilation, pads, groups)


def _one(op: str, name: str, value, minimum: int) -> int:
    """A 1-D conv's int argument (or a tuple / list of one int)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(items) != 1:
        raise TypeError(f"For '{op}', the '{name}' must be an int or a tuple of one int, but got {value!r}.")
    return pair(op, name, items[0], minimum)[0]


def conv1d(input, weight, bias=None, stride=1, pad_mode="valid", padding=0, dilation=1, groups=1):
    """1-D cross-correlation of (N, C_in, L) ``input`` with ``weight`` (C_out, C_in / groups, k): conv2d
    over a height of one.

    ``pad_mode``: 'valid', 'same' (output L = ceil(L / stride)) or 'pad' (``padding`` zeros on both
    ends).

    >>> import gpucell as ms, numpy as np
    >>> x = ms.Tensor(np.ones((1, 1, 5), np.float32))
    >>> ms.ops.conv1d(x, ms.Tensor(np.ones((1, 1, 3), np.float32))).asnumpy()
    array([[[3., 3., 3.]]], dtype=float32)
    """
    from gpucell.ops.shape import expand_dims, squeeze

    check_tensor("Conv1D", "input", input)
    check_tensor("Conv1D", "weight", weight)
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"For 'Conv1D', 'input' and 'weight' must be 3-D ((N, C, L) and (C_out, C_in/groups, "
                         f"k)), but got shapes {input.shape} and {weight.shape}.")
    stride = (1, _one("Conv1D", "stride", stride, 1))
    dilation = (1, _one("Conv1D", "dilation", dilation, 1))
    pad = _one("Conv1D", "padding", padding, 0)
    groups = check_int("Conv1D", "groups", groups)
    if groups < 1:
        raise ValueError(f"For 'Conv1D', the 'groups' must be >= 1, but got {groups}.")
    if input.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
        raise ValueError(f"For 'Conv1D', 'input' must have {weight.shape[1] * groups} channels (weight "
                         f"{weight.shape} with groups={groups}) and C_out must divide by groups, but got "
                         f"input of shape {input.shape}.")
    x4, w4 = expand_dims(input, 2), expand_dims(weight, 2)
    pads = resolve_pads("Conv1D", pad_mode, (0, pad), x4.shape[2:], w4.shape[2:], stride, dilation)
    return squeeze(conv2d_padded(x4, w4, bias, stride, dilation, pads, groups), 2)
