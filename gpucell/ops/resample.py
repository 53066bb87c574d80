"""interpolate and adaptive_avg_pool2d: resampling of the trailing 1 or 2 dims, one dim at a time.

Each mode is a linear map per spatial dim, described by a small spec (mode, in size, out size,
ratio): 'nearest' and 'linear' read one or two input rows per output row (gathers, exact, NaN and
inf stay where they are); 'area' (adaptive average pooling) averages a window of rows (a matmul
with the (out, in) averaging matrix). The matrices and tap indices are built on the device from
``arange``, so nothing crosses from the host and a CUDA graph can capture the op. The backward is
the transpose of the same maps (a matmul per dim); ``ResampleGrad`` and ``Resample`` are each
other's adjoint, so every order differentiates.

Source positions follow PyTorch and MindSpore: 'nearest' takes floor(dst * ratio); 'linear' with
``align_corners`` maps corners onto corners (ratio (in - 1) / (out - 1)), without it uses pixel
centres ((dst + 0.5) * ratio - 0.5, clamped at 0).
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction

import numpy as np

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._layer_util import matmul
from gpucell.ops._util import check_bool, check_float, check_tensor, type_name

__all__ = ["RESAMPLE", "adaptive_avg_pool2d", "interpolate", "resample"]


def _taps(xp, spec):
    """(first row, second row, their weights) per output row of a 'nearest' or 'linear' map."""
    mode, n_in, n_out, ratio = spec
    dst = xp.arange(n_out, dtype=np.int64)
    if mode == "nearest":
        if isinstance(ratio, tuple):  # an exact fraction: integer arithmetic, no rounding at the edges
            first = (dst * ratio[0]) // ratio[1]
        else:
            first = xp.floor(dst * ratio).astype(np.int64)
        first = xp.minimum(first, n_in - 1)
        return first, first, xp.ones(n_out), xp.zeros(n_out)
    scale = ratio[0] / ratio[1] if isinstance(ratio, tuple) else ratio
    if mode == "linear_corners":
        src = dst * scale
    else:
        src = xp.maximum((dst + 0.5) * scale - 0.5, 0.0)
    first = xp.minimum(xp.floor(src).astype(np.int64), n_in - 1)
    second = xp.minimum(first + 1, n_in - 1)
    weight = src - first
    return first, second, 1.0 - weight, weight


def _matrix(xp, spec):
    """The (out, in) float64 matrix of one dim's map."""
    mode, n_in, n_out, _ = spec
    cols = xp.arange(n_in)[None, :]
    if mode == "area":
        rows = xp.arange(n_out)
        start = (rows * n_in) // n_out
        end = ((rows + 1) * n_in + n_out - 1) // n_out
        inside = (cols >= start[:, None]) & (cols < end[:, None])
        return inside / (end - start)[:, None].astype(np.float64)
    first, second, w_first, w_second = _taps(xp, spec)
    return (cols == first[:, None]) * w_first[:, None] + (cols == second[:, None]) * w_second[:, None]


def _dense(a, axis, m):
    """``m`` (out, in) applied along ``axis`` of ``a``: one 2-D matmul over the other dims."""
    xp = array_module(a)
    order = [d for d in range(a.ndim) if d != axis] + [axis]
    moved = xp.ascontiguousarray(a.transpose(order))
    out = matmul(moved.reshape(-1, moved.shape[-1]), xp.ascontiguousarray(m.astype(a.dtype)), transpose_b=True)
    out = out.reshape(moved.shape[:-1] + (m.shape[0],))
    return xp.ascontiguousarray(out.transpose(tuple(int(d) for d in np.argsort(order))))


def _gather(a, axis, spec):
    xp = array_module(a)
    first, second, w_first, w_second = _taps(xp, spec)
    out = xp.take(a, first, axis=axis)
    if spec[0] == "nearest":
        return out
    shape = [1] * a.ndim
    shape[axis] = -1
    out *= w_first.astype(a.dtype).reshape(shape)
    out += xp.take(a, second, axis=axis) * w_second.astype(a.dtype).reshape(shape)
    return out


def _resample(x, *, maps):
    first_axis = x.ndim - len(maps)
    for k, spec in enumerate(maps):
        if spec[1] == spec[2] and spec[0] in ("nearest", "area"):
            continue  # the identity
        axis = first_axis + k
        x = _dense(x, axis, _matrix(array_module(x), spec)) if spec[0] == "area" else _gather(x, axis, spec)
    return x


def _resample_grad(g, *, maps):
    xp = array_module(g)
    first_axis = g.ndim - len(maps)
    for k, spec in enumerate(maps):
        g = _dense(g, first_axis + k, _matrix(xp, spec).T)
    return g


RESAMPLE = Op("Resample", _resample, saves="none",
              backward=lambda ctx, g: (apply(RESAMPLE_GRAD, g, **ctx.attrs),))
RESAMPLE_GRAD = Op("ResampleGrad", _resample_grad, saves="none",
                   backward=lambda ctx, gg: (apply(RESAMPLE, gg, **ctx.attrs),))


def resample(x, maps):
    """``x`` with its trailing ``len(maps)`` dims resampled by ``maps`` (specs, see the module)."""
    return apply(RESAMPLE, x, maps=tuple(maps))


# ---- the public functions -------------------------------------------------------------------------------

_MODES = {"nearest": (3, 4), "linear": (3,), "bilinear": (4,), "area": (3, 4)}


def _sizes(where: str, name: str, value, count: int, kind):
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * count
    ok = len(items) == count and all(isinstance(v, kind) and not isinstance(v, bool) for v in items)
    if not ok:
        what = "int" if kind is numbers.Integral else "float"
        raise TypeError(f"For '{where}', the '{name}' must be a {what} or a tuple of {count} {what}s, but got "
                        f"{value!r} with type '{type_name(value)}'.")
    if any(v <= 0 for v in items):
        raise ValueError(f"For '{where}', the '{name}' must be positive, but got {value!r}.")
    return items


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    """Resamples the spatial dims of ``input`` ((N, C, L) or (N, C, H, W)) to ``size`` or by
    ``scale_factor`` (output size floor(in * scale_factor)).

    ``mode``: 'nearest' (3-D, 4-D), 'linear' (3-D), 'bilinear' (4-D) or 'area' (adaptive average
    pooling). ``align_corners`` (linear modes only): corners onto corners. With ``scale_factor``,
    positions use 1 / scale_factor unless ``recompute_scale_factor`` is True (then in / out, as
    with ``size``).

    >>> import gpucell as ms
    >>> x = ms.Tensor([[[1.0, 2.0]]])
    >>> ms.ops.interpolate(x, scale_factor=2.0).asnumpy()
    array([[[1., 1., 2., 2.]]], dtype=float32)
    >>> ms.ops.interpolate(x, size=3, mode="linear", align_corners=True).asnumpy()
    array([[[1. , 1.5, 2. ]]], dtype=float32)
    """
    where = "interpolate"
    check_tensor(where, "input", input)
    check_float(where, "input", input)
    if mode not in _MODES:
        raise ValueError(f"For '{where}', the 'mode' must be one of {list(_MODES)}, but got {mode!r}.")
    if input.ndim not in _MODES[mode]:
        raise ValueError(f"For '{where}', mode {mode!r} needs a {' or '.join(f'{d}-D' for d in _MODES[mode])} "
                         f"'input', but got shape {input.shape}.")
    linear = mode in ("linear", "bilinear")
    if align_corners is not None:
        check_bool(where, "align_corners", align_corners)
        if not linear:
            raise ValueError(f"For '{where}', the 'align_corners' is only valid for 'linear' and 'bilinear', but "
                             f"got align_corners={align_corners} with mode {mode!r}.")
    if recompute_scale_factor is not None:
        check_bool(where, "recompute_scale_factor", recompute_scale_factor)
    if (size is None) == (scale_factor is None):
        raise ValueError(f"For '{where}', exactly one of 'size' and 'scale_factor' must be set, but got "
                         f"size={size!r} and scale_factor={scale_factor!r}.")
    dims = input.ndim - 2
    in_sizes = input.shape[2:]
    if size is not None:
        if recompute_scale_factor is not None:
            raise ValueError(f"For '{where}', the 'recompute_scale_factor' is only valid with 'scale_factor', but "
                             f"got size={size!r}.")
        out_sizes = tuple(int(v) for v in _sizes(where, "size", size, dims, numbers.Integral))
        ratios = [(n, m) for n, m in zip(in_sizes, out_sizes)]
    else:
        factors = _sizes(where, "scale_factor", scale_factor, dims, numbers.Real)
        out_sizes = tuple(math.floor(n * float(f)) for n, f in zip(in_sizes, factors))
        if any(m < 1 for m in out_sizes):
            raise ValueError(f"For '{where}', the 'scale_factor' {scale_factor!r} gives an empty output for input "
                             f"shape {input.shape}.")
        ratios = []
        for n, m, f in zip(in_sizes, out_sizes, factors):
            exact = Fraction(float(f)).limit_denominator(1 << 20) == Fraction(m, n)
            ratios.append((n, m) if recompute_scale_factor or exact else 1.0 / float(f))
    maps = []
    for n, m, ratio in zip(in_sizes, out_sizes, ratios):
        kind = mode if mode in ("nearest", "area") else ("linear_corners" if align_corners else "linear")
        if kind == "linear_corners":
            ratio = (n - 1, m - 1) if m > 1 else 0.0
        maps.append((kind, n, m, ratio))
    return resample(input, maps)


def adaptive_avg_pool2d(input, output_size):
    """Averages (N, C, H, W) or (C, H, W) ``input`` over windows that tile it into ``output_size``
    (an int, or (h, w) where None keeps that dim): rows floor(i * H / h) to ceil((i + 1) * H / h).

    >>> import gpucell as ms, numpy as np
    >>> x = ms.Tensor(np.arange(6, dtype=np.float32).reshape(1, 1, 1, 6))
    >>> ms.ops.adaptive_avg_pool2d(x, (1, 4)).asnumpy()
    array([[[[0.5, 1.5, 3.5, 4.5]]]], dtype=float32)
    """
    where = "AdaptiveAvgPool2D"
    check_tensor(where, "input", input)
    check_float(where, "input", input)
    if input.ndim not in (3, 4):
        raise ValueError(f"For '{where}', the 'input' must be 3-D (C, H, W) or 4-D (N, C, H, W), but got shape "
                         f"{input.shape}.")
    items = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(items) != 2 or not all(v is None or (isinstance(v, numbers.Integral) and not isinstance(v, bool))
                                  for v in items):
        raise TypeError(f"For '{where}', the 'output_size' must be an int or a tuple of two ints (or None), but got "
                        f"{output_size!r}.")
    if any(v is not None and v < 1 for v in items):
        raise ValueError(f"For '{where}', the 'output_size' must be positive, but got {output_size!r}.")
    sizes = [n if v is None else int(v) for n, v in zip(input.shape[-2:], items)]
    return resample(input, [("area", n, m, (n, m)) for n, m in zip(input.shape[-2:], sizes)])
