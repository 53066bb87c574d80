"""Helpers shared by the layer ops (dense, conv2d, pools, norms, losses).

Window geometry for conv2d and the 2-D pools, per-channel sums on the reduce kernel, and the
bookkeeping of fused gradient ops that compute only the gradients asked for.
"""

from __future__ import annotations

import numpy as np

from gpucell.backend import array_module, kernel_ops
from gpucell.ops._util import type_name

__all__ = [
    "REDUCTIONS",
    "add_windows",
    "channel_sum",
    "check_reduction",
    "crop_hw",
    "four_pads",
    "matmul",
    "needs",
    "out_size",
    "pad_hw",
    "pair",
    "reduce_sum",
    "resolve_pads",
    "spread",
    "window_slices",
    "windows",
]

REDUCTIONS = ("mean", "sum", "none")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def pair(op: str, name: str, value, minimum: int = 1) -> tuple[int, int]:
    """An int or a tuple of one or two ints (each >= ``minimum``) as ``(h, w)``."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(items) not in (1, 2) or not all(_is_int(v) for v in items):
        raise TypeError(f"For '{op}', the '{name}' must be an int or a tuple of two ints, but got "
                        f"{value!r} with type '{type_name(value)}'.")
    if any(v < minimum for v in items):
        raise ValueError(f"For '{op}', the '{name}' must be >= {minimum}, but got {value!r}.")
    return (int(items[0]), int(items[-1]))


def four_pads(op: str, padding) -> tuple[int, int, int, int]:
    """``padding`` (an int, (h, w) or (top, bottom, left, right)) as (top, bottom, left, right)."""
    items = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,)
    if len(items) not in (1, 2, 4) or not all(_is_int(v) for v in items):
        raise TypeError(f"For '{op}', the 'padding' must be an int or a tuple of 2 or 4 ints, but got "
                        f"{padding!r} with type '{type_name(padding)}'.")
    if any(v < 0 for v in items):
        raise ValueError(f"For '{op}', the 'padding' must be >= 0, but got {padding!r}.")
    if len(items) == 1:
        return (int(items[0]),) * 4
    if len(items) == 2:
        return (int(items[0]), int(items[0]), int(items[1]), int(items[1]))
    return tuple(int(v) for v in items)


def resolve_pads(op: str, pad_mode: str, padding, size_hw, kernel, stride, dilation) -> tuple:
    """(top, bottom, left, right) for MindSpore's pad modes; 'same' puts the odd pixel last."""
    if not isinstance(pad_mode, str) or pad_mode.lower() not in ("same", "valid", "pad"):
        raise ValueError(f"For '{op}', the 'pad_mode' must be one of ['same', 'valid', 'pad'], but got "
                         f"{pad_mode!r}.")
    mode = pad_mode.lower()
    pads = four_pads(op, padding)
    if mode != "pad":
        if any(pads):
            raise ValueError(f"For '{op}', the 'padding' must be 0 when 'pad_mode' is {pad_mode!r}, but "
                             f"got {padding!r}.")
        if mode == "valid":
            return pads
        out = []
        for size, k, s, d in zip(size_hw, kernel, stride, dilation):
            total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
            out += [total // 2, total - total // 2]
        return tuple(out)
    return pads


def out_size(op: str, size_hw, kernel, stride, dilation, pads) -> tuple[int, int]:
    sizes = []
    for size, k, s, d, before, after in zip(size_hw, kernel, stride, dilation, pads[0::2], pads[1::2]):
        n = (size + before + after - (k - 1) * d - 1) // s + 1
        if n < 1:
            raise ValueError(f"For '{op}', the kernel {tuple(kernel)} with dilation {tuple(dilation)} does "
                             f"not fit the padded input {tuple(size_hw)} with padding {tuple(pads)}.")
        sizes.append(n)
    return tuple(sizes)


def pad_hw(x, pads, value=0):
    """``x`` (N, C, H, W) with its last two dims padded by ``value`` (``x`` itself if no padding)."""
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    xp = array_module(x)
    n, c, h, w = x.shape
    out = xp.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def crop_hw(x, pads, size_hw):
    top, _, left, _ = pads
    if x.shape[2:] == tuple(size_hw):
        return x
    return array_module(x).ascontiguousarray(x[:, :, top:top + size_hw[0], left:left + size_hw[1]])


def window_slices(kernel, stride, dilation, out_hw):
    """Per kernel tap (i, j): the (H, W) slices of the padded input that tap reads, one per output."""
    for i in range(kernel[0]):
        rows = slice(i * dilation[0], i * dilation[0] + stride[0] * (out_hw[0] - 1) + 1, stride[0])
        for j in range(kernel[1]):
            cols = slice(j * dilation[1], j * dilation[1] + stride[1] * (out_hw[1] - 1) + 1, stride[1])
            yield i, j, (slice(None), slice(None), rows, cols)


def windows(x, kernel, stride, dilation, out_hw):
    """A strided view (N, C, kh, kw, OH, OW) of the padded ``x``: no copy (im2col's source)."""
    xp = array_module(x)
    n, c = x.shape[:2]
    sn, sc, sh, sw = x.strides
    return xp.lib.stride_tricks.as_strided(
        x, (n, c, kernel[0], kernel[1], out_hw[0], out_hw[1]),
        (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]))


def add_windows(target, values, kernel, stride, dilation, out_hw) -> None:
    """``target[tap window] += values[:, :, i, j]`` for every tap: col2im by slice-adds."""
    for i, j, where in window_slices(kernel, stride, dilation, out_hw):
        target[where] += values[:, :, i, j]


def _plain_numpy(a) -> bool:
    """Whether ``a`` takes NumPy's own routines on the CPU: a NumPy array, not float16."""
    # float16 goes through the kernels' NumPy references, which accumulate in float32.
    return type(a) is np.ndarray and a.dtype != np.float16


def matmul(a, b, bias=None, transpose_a: bool = False, transpose_b: bool = False, relu: bool = False):
    """``kernel_ops.matmul_bias`` (the capturable kernel on the GPU); on the CPU the same NumPy
    computation without the wrapper's checks, which cost as much as a small layer's matmul."""
    if not _plain_numpy(a):
        return kernel_ops.matmul_bias(a, b, bias, transpose_a, transpose_b, relu)
    out = np.matmul(a.swapaxes(-1, -2) if transpose_a else a, b.swapaxes(-1, -2) if transpose_b else b)
    if bias is not None:
        out += bias
    if relu:
        np.maximum(out, 0, out=out)
    return out


def reduce_sum(a, axis=None, keepdims: bool = False):
    """A sum over one axis (or all): the reduce kernel on the GPU, NumPy's sum on the CPU."""
    if not _plain_numpy(a):
        return kernel_ops.reduce("sum", a, axis, keepdims)
    return np.add.reduce(a, axis=axis, keepdims=keepdims)  # ndarray.sum adds a Python wrapper


def channel_sum(a3):
    """Sum of an (N, C, L) array over N and L: (C,)."""
    if _plain_numpy(a3):
        return a3.sum(axis=(0, 2))
    return kernel_ops.reduce("sum", kernel_ops.reduce("sum", a3, axis=2), axis=0)


def needs(ctx, count: int) -> tuple:
    return tuple(ctx.needs(i) for i in range(count))


def spread(wanted: tuple, results) -> tuple:
    """The outputs of a gradient op that computed only the ``wanted`` ones, None for the others."""
    if not isinstance(results, tuple):
        results = (results,)
    it = iter(results)
    return tuple(next(it) if want else None for want in wanted)


def check_reduction(where: str, reduction) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"For '{where}', the 'reduction' must be one of {list(REDUCTIONS)}, but got "
                         f"{reduction!r}.")
    return reduction
