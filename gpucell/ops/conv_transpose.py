"""conv_transpose2d (NCHW): the input gradient of conv2d, run as a forward.

``weight`` is (C_in, C_out / groups, kh, kw), the layout of the conv2d whose input gradient this is
(that conv maps C_out channels to C_in). The forward is conv2d's col2im; the backward needs no new
arithmetic: the input gradient is conv2d of the output gradient with the same weight, the weight
gradient is conv2d's weight gradient with the roles of input and output gradient swapped. Both run
through Conv2D / Conv2DGrad, whose own backward rules make every order differentiable.
"""

from __future__ import annotations

from gpucell.ops._dispatch import Op, apply
from gpucell.ops._layer_util import out_size
from gpucell.ops._util import check_float, check_tensor
from gpucell.ops.conv import CONV2D, CONV2D_GRAD, col2im

__all__ = ["CONV2D_TRANSPOSE", "conv_transpose2d_padded", "deconv_length"]


def _conv_transpose2d(x, w, *, stride, dilation, pads, groups, out_hw):
    n = x.shape[0]
    return col2im(x, w, (n, w.shape[1] * groups) + tuple(out_hw), stride=stride, dilation=dilation, pads=pads,
                  groups=groups)


def _backward(ctx, gy):
    attrs = {k: v for k, v in ctx.attrs.items() if k != "out_hw"}
    x, w = ctx.input(0), ctx.input(1)
    gx = apply(CONV2D, gy, w, **attrs) if ctx.needs(0) else None
    gw = None
    if ctx.needs(1):
        # conv2d(y) = x has weight gradient corr(y, x): Conv2DGrad with x as the output gradient.
        gw = apply(CONV2D_GRAD, x, gy, w, wanted=(False, True), **attrs)[0]
    return gx, gw


CONV2D_TRANSPOSE = Op("Conv2DTranspose", _conv_transpose2d, backward=_backward)


def deconv_length(mode: str, size: int, kernel: int, stride: int, dilation: int, pad_total: int) -> int:
    """MindSpore's output length of a transposed convolution ('valid' never returns less than
    ``size * stride``; 'same' returns exactly that)."""
    extent = (kernel - 1) * dilation + 1
    if mode == "valid":
        return size * stride + max(extent - stride, 0)
    if mode == "same":
        return size * stride
    return size * stride - pad_total + extent - stride


def conv_transpose2d_padded(x, weight, stride, dilation, pads, groups: int, out_hw, where: str):
    """The transposed convolution of NCHW ``x`` onto an (N, C_out) + ``out_hw`` output; ``pads`` are
    the (top, bottom, left, right) padding of the conv2d it transposes. Checks the tensors."""
    check_tensor(where, "x", x)
    check_tensor(where, "weight", weight)
    check_float(where, "x", x)
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"For '{where}', 'x' and 'weight' must be 4-D, but got shapes {x.shape} and "
                         f"{weight.shape}.")
    if x.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise ValueError(f"For '{where}', dim 1 of 'x' must equal dim 0 of 'weight' {weight.shape} (divisible "
                         f"by groups={groups}), but got x of shape {x.shape}.")
    if x.dtype is not weight.dtype:
        raise TypeError(f"For '{where}', the dtype of 'x' ({x.dtype}) must equal the dtype of 'weight' "
                        f"({weight.dtype}).")
    fits = out_size(where, out_hw, weight.shape[2:], stride, dilation, pads)
    if fits != tuple(x.shape[2:]):
        raise ValueError(f"For '{where}', an output of size {tuple(out_hw)} does not transpose an input of size "
                         f"{tuple(x.shape[2:])} (a conv2d over it gives {fits}).")
    return apply(CONV2D_TRANSPOSE, x, weight, stride=stride, dilation=dilation, pads=tuple(pads), groups=groups,
                 out_hw=tuple(out_hw))
