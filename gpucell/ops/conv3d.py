"""conv3d and conv_transpose3d (NCDHW) as one conv2d over depth windows folded into channels.

A 3-D convolution is a 2-D convolution of every output depth's input planes: ``DepthWindows``
gathers, for each output depth, the ``kd`` input planes its kernel reads (group by group) as the
channels of one 2-D image of shape (N * OD, groups * kd * C / groups, H, W); the weight
(C_out, C / groups, kd, kh, kw) becomes (C_out, kd * C / groups, kh, kw), and Conv2D (im2col and the
matmul kernel, one call per group) does the rest. ``DepthWindowsAdd`` is its adjoint (each plane
added back where it was read), so the two are each other's gradient, and Conv2D's own rules give
every order of the 3-D convolution. The transposed convolution is the same fold read backwards:
Conv2DTranspose, then ``DepthWindowsAdd``. Both run on copies and slice-adds only, so a CUDA graph
captures them.
"""

from __future__ import annotations

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._layer_util import _is_int, out_size, pair, resolve_pads
from gpucell.ops._util import check_float, check_tensor, type_name
from gpucell.ops.conv import conv2d_padded, conv_args
from gpucell.ops.conv_transpose import conv_transpose2d_padded

__all__ = ["DEPTH_WINDOWS", "DEPTH_WINDOWS_ADD", "conv3d", "conv3d_padded", "conv_transpose3d_padded",
           "resolve_pads3", "six_pads", "triple"]


def triple(op: str, name: str, value, minimum: int = 1) -> tuple[int, int, int]:
    """An int or a tuple of one or three ints (each >= ``minimum``) as ``(d, h, w)``."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(items) not in (1, 3) or not all(_is_int(v) for v in items):
        raise TypeError(f"For '{op}', the '{name}' must be an int or a tuple of three ints, but got "
                        f"{value!r} with type '{type_name(value)}'.")
    if len(items) == 1:
        items = items * 3
    return tuple(pair(op, name, v, minimum)[0] for v in items)


def six_pads(op: str, padding, lengths=(1, 3, 6)) -> tuple:
    """``padding`` as (front, back, top, bottom, left, right): an int, three ints (one per dim, both
    sides) or six ints, as far as ``lengths`` allows."""
    items = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,)
    if len(items) not in lengths or not all(_is_int(v) for v in items):
        counts = " or ".join(str(n) for n in lengths if n > 1)
        raise TypeError(f"For '{op}', the 'padding' must be an int or a tuple of {counts} ints, but got "
                        f"{padding!r} with type '{type_name(padding)}'.")
    if any(v < 0 for v in items):
        raise ValueError(f"For '{op}', the 'padding' must be >= 0, but got {padding!r}.")
    if len(items) == 6:
        return tuple(int(v) for v in items)
    per_dim = items * 3 if len(items) == 1 else items
    return tuple(int(v) for v in per_dim for _ in range(2))


def resolve_pads3(op: str, pad_mode, padding, size, kernel, stride, dilation, lengths=(1, 3, 6)) -> tuple:
    """The six pads of MindSpore's pad modes: 'pad' takes ``padding``, 'same' puts the odd one last."""
    same = resolve_pads(op, pad_mode, 0, size, kernel, stride, dilation)  # checks pad_mode
    pads = six_pads(op, padding, lengths)
    mode = pad_mode.lower()
    if mode == "pad":
        return pads
    if any(pads):
        raise ValueError(f"For '{op}', the 'padding' must be 0 when 'pad_mode' is {pad_mode!r}, but got "
                         f"{padding!r}.")
    return same if mode == "same" else (0,) * 6


# -- the depth fold ------------------------------------------------------------------------------
def _depth_out(depth, kernel, stride, dilation, pads) -> int:
    return (depth + pads[0] + pads[1] - (kernel - 1) * dilation - 1) // stride + 1


def _depth_windows(x, *, kernel, stride, dilation, pads, groups):
    """(N, C, D, H, W) -> (N * OD, groups * kernel * C / groups, H, W): output depth ``od`` gets, per
    group, the planes ``od * stride + i * dilation - front`` for i < kernel (zeros in the padding)."""
    xp = array_module(x)
    n, c, d, h, w = x.shape
    padded = x
    if any(pads):
        padded = xp.zeros((n, c, d + pads[0] + pads[1], h, w), dtype=x.dtype)
        padded[:, :, pads[0]:pads[0] + d] = x
    od = _depth_out(d, kernel, stride, dilation, pads)
    cg = c // groups
    sn, sc, sd, sh, sw = padded.strides
    view = xp.lib.stride_tricks.as_strided(padded, (n, od, groups, kernel, cg, h, w),
                                           (sn, sd * stride, sc * cg, sd * dilation, sc, sh, sw))
    return xp.ascontiguousarray(view).reshape(n * od, c * kernel, h, w)


def _depth_windows_add(g, *, kernel, stride, dilation, pads, groups, depth):
    """The adjoint of ``_depth_windows``: every plane added back onto the depth it was read from."""
    xp = array_module(g)
    nod, ck, h, w = g.shape
    c = ck // kernel
    od = _depth_out(depth, kernel, stride, dilation, pads)
    n = nod // od
    taps = g.reshape(n, od, groups, kernel, c // groups, h, w).transpose(3, 0, 2, 4, 1, 5, 6)
    out = xp.zeros((n, c, depth + pads[0] + pads[1], h, w), dtype=g.dtype)
    for i in range(kernel):
        out[:, :, i * dilation:i * dilation + stride * (od - 1) + 1:stride] += taps[i].reshape(n, c, od, h, w)
    if any(pads):
        out = xp.ascontiguousarray(out[:, :, pads[0]:pads[0] + depth])
    return out


def _fold_attrs(attrs: dict) -> dict:
    return {k: v for k, v in attrs.items() if k != "depth"}


# Both are linear and each other's adjoint: each is the other's gradient, to every order.
DEPTH_WINDOWS = Op("DepthWindows", _depth_windows, saves="none", backward=lambda ctx, g: apply(
    DEPTH_WINDOWS_ADD, g, depth=ctx.shapes[0][2], **ctx.attrs))
DEPTH_WINDOWS_ADD = Op("DepthWindowsAdd", _depth_windows_add, saves="none", backward=lambda ctx, g: apply(
    DEPTH_WINDOWS, g, **_fold_attrs(ctx.attrs)))


def _fold_weight(weight):
    """(O, I, kd, kh, kw) -> (O, kd * I, kh, kw), the layout of DepthWindows' channels per group."""
    from gpucell.ops.shape import reshape, transpose

    o, i, kd, kh, kw = weight.shape
    return reshape(transpose(weight, (0, 2, 1, 3, 4)), (o, kd * i, kh, kw))


def _check(where: str, x, weight, groups: int, transposed: bool) -> None:
    check_tensor(where, "x", x)
    check_tensor(where, "weight", weight)
    check_float(where, "x", x)
    if x.ndim != 5 or weight.ndim != 5:
        what = "(C_in, C_out/groups, kd, kh, kw)" if transposed else "(C_out, C_in/groups, kd, kh, kw)"
        raise ValueError(f"For '{where}', 'x' and 'weight' must be 5-D (NCDHW and {what}), but got shapes "
                         f"{x.shape} and {weight.shape}.")
    channels_of_weight = weight.shape[0] if transposed else weight.shape[1] * groups
    if x.dtype is not weight.dtype:
        raise TypeError(f"For '{where}', the dtype of 'x' ({x.dtype}) must equal the dtype of 'weight' "
                        f"({weight.dtype}).")
    if x.shape[1] != channels_of_weight or weight.shape[0] % groups:
        raise ValueError(f"For '{where}', 'x' must have {channels_of_weight} channels (weight {weight.shape} with "
                         f"groups={groups}) and dim 0 of 'weight' must divide by groups, but got x of shape "
                         f"{x.shape}.")


def conv3d_padded(x, weight, bias, stride, dilation, pads, groups: int, where: str = "Conv3D"):
    """conv3d with resolved geometry: ``pads`` is (front, back, top, bottom, left, right)."""
    _check(where, x, weight, groups, transposed=False)
    n = x.shape[0]
    od, oh, ow = out_size(where, x.shape[2:], weight.shape[2:], stride, dilation, pads)
    if bias is not None:
        check_tensor(where, "bias", bias)
        if bias.shape != (weight.shape[0],) or bias.dtype is not x.dtype:
            raise ValueError(f"For '{where}', the 'bias' must have shape ({weight.shape[0]},) and dtype "
                             f"{x.dtype}, but got shape {bias.shape} and dtype {bias.dtype}.")
    from gpucell.ops.shape import reshape, transpose

    planes = apply(DEPTH_WINDOWS, x, kernel=weight.shape[2], stride=stride[0], dilation=dilation[0],
                   pads=tuple(pads[:2]), groups=groups)
    out = conv2d_padded(planes, _fold_weight(weight), bias, stride[1:], dilation[1:], tuple(pads[2:]), groups)
    return transpose(reshape(out, (n, od, weight.shape[0], oh, ow)), (0, 2, 1, 3, 4))


def conv_transpose3d_padded(x, weight, stride, dilation, pads, groups: int, out_dhw, where: str):
    """The transposed convolution of NCDHW ``x`` onto an (N, C_out) + ``out_dhw`` output; ``weight`` is
    (C_in, C_out / groups, kd, kh, kw) and ``pads`` the six pads of the conv3d it transposes."""
    _check(where, x, weight, groups, transposed=True)
    fits = out_size(where, out_dhw, weight.shape[2:], stride, dilation, pads)
    if fits != tuple(x.shape[2:]):
        raise ValueError(f"For '{where}', an output of size {tuple(out_dhw)} does not transpose an input of size "
                         f"{tuple(x.shape[2:])} (a conv3d over it gives {fits}).")
    from gpucell.ops.shape import reshape, transpose

    n, c, d, h, w = x.shape
    planes = reshape(transpose(x, (0, 2, 1, 3, 4)), (n * d, c, h, w))
    out = conv_transpose2d_padded(planes, _fold_weight(weight), stride[1:], dilation[1:], tuple(pads[2:]), groups,
                                  tuple(out_dhw[1:]), where)
    return apply(DEPTH_WINDOWS_ADD, out, kernel=weight.shape[2], stride=stride[0], dilation=dilation[0],
                 pads=tuple(pads[:2]), groups=groups, depth=out_dhw[0])


def conv3d(input, weight, bias=None, stride=1, pad_mode="valid", padding=0, dilation=1, groups=1):
    """3-D cross-correlation of NCDHW ``input`` with ``weight`` (C_out, C_in / groups, kd, kh, kw).

    ``pad_mode``: 'valid' (no padding), 'same' (output D = ceil(D / stride), the odd padding last) or
    'pad' (``padding``: an int, (d, h, w) for both sides of each dim, or (front, back, top, bottom,
    left, right)).

    >>> import gpucell as ms, numpy as np
    >>> x = ms.Tensor(np.ones((1, 1, 3, 3, 3), np.float32))
    >>> ms.ops.conv3d(x, ms.Tensor(np.ones((2, 1, 2, 2, 2), np.float32))).shape
    (1, 2, 2, 2, 2)
    """
    stride, dilation, groups = conv_args("Conv3D", input, weight, stride, dilation, groups, triple)
    pads = resolve_pads3("Conv3D", pad_mode, padding, input.shape[2:], weight.shape[2:], stride, dilation)
    return conv3d_padded(input, weight, bias, stride, dilation, pads, groups)
