"""adaptive_max_pool2d, adaptive_max_pool1d and adaptive_avg_pool1d: pools whose windows tile the
input into a given output size.

Window ``i`` of an input dim of size ``n`` pooled to ``m`` covers ``[floor(i * n / m),
ceil((i + 1) * n / m))``, MindSpore's (and PyTorch's) bins; windows may overlap and differ in size
by one. Every window is read as ``k`` taps (``k`` the largest window), tap ``t`` at ``start + t``
clamped to the window's last element, so one ``take`` per dim gathers all of them from index arrays
built on the device (nothing crosses from the host: a CUDA graph captures the op).

The max keeps the first maximum of its window in row-major order (a NaN counts as the maximum, as in
the other max pools) and returns where it is as an Int64 flat index into the H x W plane (the
position along L for the 1-D pool), MindSpore's AdaptiveMaxPool2D argmax. Its gradient goes to that
element alone. ``AdaptiveMaxPool2DGrad`` (route a gradient to the indices) and
``AdaptiveMaxPoolPick`` (read the elements at the indices) are linear and each other's adjoint, so
every order differentiates. The routing adds one-hot (tap -> position) matrices with the matmul
kernel, so overlapping windows add up without a scatter (which would synchronise).

The 1-D average is ``Resample``'s 'area' map (ops/resample.py). MindSpore's 1-D pools require the
length to be a multiple of ``output_size``; these accept any length and give MindSpore's result where
it has one.
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_bool, check_float, check_tensor, type_name
from gpucell.ops.resample import _dense, resample

__all__ = ["ADAPTIVE_MAX_POOL2D", "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "adaptive_output_size"]


def _taps(xp, n_in: int, n_out: int):
    """(positions (n_out, k) of each window's k taps, k)."""
    k = max(-(-((i + 1) * n_in) // n_out) - (i * n_in) // n_out for i in range(n_out))
    rows = xp.arange(n_out, dtype=np.int64)
    start = (rows * n_in) // n_out
    end = ((rows + 1) * n_in + n_out - 1) // n_out
    return xp.minimum(start[:, None] + xp.arange(k, dtype=np.int64)[None, :], end[:, None] - 1), k


def _adaptive_max(x, *, out_hw):
    """(the maximum of each window of the trailing H x W, its Int64 flat index in the plane)."""
    xp = array_module(x)
    (h, w), (oh, ow), lead = x.shape[-2:], out_hw, x.shape[:-2]
    rows, kh = _taps(xp, h, oh)
    cols, kw = _taps(xp, w, ow)
    taps = xp.take(xp.take(x, rows.reshape(-1), axis=-2), cols.reshape(-1), axis=-1)
    taps = xp.moveaxis(taps.reshape(lead + (oh, kh, ow, kw)), -3, -2).reshape(lead + (oh, ow, kh * kw))
    best = taps.max(axis=-1, keepdims=True)  # NaN if the window holds one
    tap = xp.argmax((taps == best) | xp.isnan(taps), axis=-1)  # the first maximum (or NaN)
    row = xp.take(rows.reshape(-1), xp.arange(oh)[:, None] * kh + tap // kw)
    col = xp.take(cols.reshape(-1), xp.arange(ow) * kw + tap % kw)
    return best[..., 0], (row * w + col).astype(np.int64)


def _pick(x, index):
    """``x``'s trailing H x W plane read at the flat ``index`` (same leading dims)."""
    xp = array_module(x)
    plane = x.shape[-2] * x.shape[-1]
    flat = xp.ascontiguousarray(x).reshape(-1, plane)
    batch = flat.shape[0]
    where = index.reshape(batch, index.shape[-2] * index.shape[-1]) + xp.arange(batch, dtype=np.int64)[:, None] * plane
    return xp.take(flat.reshape(-1), where).reshape(index.shape)


def _one_hot(xp, positions, n: int):
    """(len(positions), n) float64: row ``r`` is one at ``positions[r]``."""
    return (positions[:, None] == xp.arange(n)[None, :]).astype(np.float64)


def _route(g, index, *, in_hw):
    """``g`` added at the flat ``index`` of an H x W plane: zeros elsewhere."""
    xp = array_module(g)
    (h, w), (oh, ow), lead = in_hw, g.shape[-2:], g.shape[:-2]
    rows, kh = _taps(xp, h, oh)
    cols, kw = _taps(xp, w, ow)
    tap_h = (index // w - rows[:, :1])[..., None] == xp.arange(kh)  # (..., oh, ow, kh)
    tap_w = (index % w - cols[:, 0])[..., None] == xp.arange(kw)    # (..., oh, ow, kw)
    spread = g[..., None, None] * (tap_h[..., :, None] & tap_w[..., None, :])
    spread = xp.moveaxis(spread, -2, -3).reshape(lead + (oh * kh, ow * kw))
    spread = _dense(spread, spread.ndim - 2, _one_hot(xp, rows.reshape(-1), h).T)
    return _dense(spread, spread.ndim - 1, _one_hot(xp, cols.reshape(-1), w).T)


ADAPTIVE_MAX_POOL2D = Op(
    "AdaptiveMaxPool2D", _adaptive_max, multi_output=True, saves="output",
    backward=lambda ctx, g, _index_grad: (
        apply(ADAPTIVE_MAX_POOL_GRAD, g, ctx.outputs[1], in_hw=ctx.shape(0)[-2:]),))
ADAPTIVE_MAX_POOL_GRAD = Op("AdaptiveMaxPool2DGrad", _route, saves="inputs", backward=lambda ctx, gg: (
    apply(ADAPTIVE_MAX_POOL_PICK, gg, ctx.input(1)), None))
ADAPTIVE_MAX_POOL_PICK = Op("AdaptiveMaxPoolPick", _pick, saves="inputs", backward=lambda ctx, g: (
    apply(ADAPTIVE_MAX_POOL_GRAD, g, ctx.input(1), in_hw=ctx.shape(0)[-2:]), None))


def adaptive_output_size(where: str, output_size, dims: int) -> tuple:
    """``output_size`` (an int, or a tuple of ``dims`` ints or None) as a tuple of ``dims``."""
    items = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * dims
    what = "an int" if dims == 1 else f"an int or a tuple of {dims} ints (or None)"
    if not all(v is None or (isinstance(v, numbers.Integral) and not isinstance(v, bool)) for v in items) or (
            dims == 1 and None in items):
        raise TypeError(f"For '{where}', the 'output_size' must be {what}, but got {output_size!r} with type "
                        f"'{type_name(output_size)}'.")
    if len(items) != dims:
        raise ValueError(f"For '{where}', the 'output_size' must have {dims} element(s), but got {output_size!r}.")
    if any(v is not None and v < 1 for v in items):
        raise ValueError(f"For '{where}', the 'output_size' must be positive, but got {output_size!r}.")
    return tuple(None if v is None else int(v) for v in items)


def _checked_input(where: str, input, ndims: tuple, what: str):
    check_tensor(where, "input", input)
    check_float(where, "input", input)
    if input.ndim not in ndims:
        raise ValueError(f"For '{where}', the 'input' must be {what}, but got shape {input.shape}.")
    return input


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """The maximum of (N, C, H, W) or (C, H, W) ``input`` over windows that tile it into
    ``output_size`` (an int, or (h, w) where None keeps that dim): rows floor(i * H / h) to
    ceil((i + 1) * H / h), columns likewise. With ``return_indices``, ``(output, argmax)``:
    argmax the Int64 flat index of each maximum in its H x W plane (the first, in row-major order).

    >>> import gpucell as ms, numpy as np
    >>> x = ms.Tensor(np.arange(9, dtype=np.float32).reshape(1, 3, 3))
    >>> ms.ops.adaptive_max_pool2d(x, (1, 2)).asnumpy()
    array([[[7., 8.]]], dtype=float32)
    """
    where = "AdaptiveMaxPool2D"
    _checked_input(where, input, (3, 4), "3-D (C, H, W) or 4-D (N, C, H, W)")
    sizes = adaptive_output_size(where, output_size, 2)
    return_indices = check_bool(where, "return_indices", return_indices)
    out_hw = tuple(n if v is None else v for n, v in zip(input.shape[-2:], sizes))
    output, argmax = apply(ADAPTIVE_MAX_POOL2D, input, out_hw=out_hw)
    return (output, argmax) if return_indices else output


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """The maximum of (N, C, L) or (C, L) ``input`` over windows floor(i * L / output_size) to
    ceil((i + 1) * L / output_size); with ``return_indices``, also each maximum's Int64 position
    along L.

    >>> import gpucell as ms, numpy as np
    >>> ms.ops.adaptive_max_pool1d(ms.Tensor([[[2.0, 1.0, 2.0], [2.0, 3.0, 5.0]]]), 2).asnumpy()
    array([[[2., 2.],
            [3., 5.]]], dtype=float32)
    """
    from gpucell.ops.shape import expand_dims, squeeze

    where = "adaptive_max_pool1d"
    _checked_input(where, input, (2, 3), "2-D (C, L) or 3-D (N, C, L)")
    (size,) = adaptive_output_size(where, output_size, 1)
    return_indices = check_bool(where, "return_indices", return_indices)
    output, argmax = apply(ADAPTIVE_MAX_POOL2D, expand_dims(input, -2), out_hw=(1, size))
    if return_indices:
        return squeeze(output, -2), squeeze(argmax, -2)
    return squeeze(output, -2)


def adaptive_avg_pool1d(input, output_size):
    """The mean of (N, C, L) or (C, L) ``input`` over windows floor(i * L / output_size) to
    ceil((i + 1) * L / output_size).

    >>> import gpucell as ms, numpy as np
    >>> ms.ops.adaptive_avg_pool1d(ms.Tensor(np.arange(6, dtype=np.float32).reshape(1, 1, 6)), 2).asnumpy()
    array([[[1., 4.]]], dtype=float32)
    """
    where = "adaptive_avg_pool1d"
    _checked_input(where, input, (2, 3), "2-D (C, L) or 3-D (N, C, L)")
    (size,) = adaptive_output_size(where, output_size, 1)
    length = input.shape[-1]
    return resample(input, [("area", length, size, (length, size))])
