"""pad: constant, reflect, symmetric, replicate and circular padding, one axis at a time.

Each padded edge is a strided slice of the input (reversed for reflect / symmetric, a broadcast
single row for replicate), so the forward is slices and one concatenate per axis and the backward,
the adjoint, slice-adds each edge's gradient back onto the rows it was copied from (a sum for
replicate). Both run as plain array kernels on NumPy and CuPy and capture into CUDA graphs.
``PadGrad`` and ``Pad`` (with value 0) are each other's adjoint, so every order differentiates.
"""

from __future__ import annotations

import numbers

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._layer_util import reduce_sum
from gpucell.ops._util import check_tensor, type_name

__all__ = ["PAD", "PAD_GRAD", "pad", "pad_widths"]

MODES = ("constant", "reflect", "symmetric", "replicate", "circular")


def _edges(n: int, before: int, after: int, mode: str):
    """(start, step, count) of the input rows each edge copies, in output order; step 0 repeats."""
    if mode == "reflect":
        return (before, -1, before), (n - 2, -1, after)
    if mode == "symmetric":
        return (before - 1, -1, before), (n - 1, -1, after)
    if mode == "circular":
        return (n - before, 1, before), (0, 1, after)
    return (0, 0, before), (n - 1, 0, after)  # replicate


def _rows(start: int, step: int, count: int) -> slice:
    stop = start + step * count
    return slice(start, None if stop < 0 else stop, step)


def _at(ndim: int, axis: int, where: slice) -> tuple:
    index = [slice(None)] * ndim
    index[axis] = where
    return tuple(index)


def _pad_axis(a, axis, before, after, mode, value):
    xp = array_module(a)
    n = a.shape[axis]
    if mode == "constant":
        shape = list(a.shape)
        shape[axis] = n + before + after
        out = xp.full(shape, value, dtype=a.dtype)
        out[_at(a.ndim, axis, slice(before, before + n))] = a
        return out
    parts = []
    for (start, step, count), middle in zip(_edges(n, before, after, mode), (True, False)):
        if count:
            if step:
                piece = a[_at(a.ndim, axis, _rows(start, step, count))]
            else:
                shape = list(a.shape)
                shape[axis] = count
                piece = xp.broadcast_to(a[_at(a.ndim, axis, slice(start, start + 1))], shape)
            parts.append(piece)
        if middle:
            parts.append(a)
    return xp.concatenate(parts, axis=axis)


def _pad(x, *, widths, mode, value):
    for axis, (before, after) in enumerate(widths):
        if before or after:
            x = _pad_axis(x, axis, before, after, mode, value)
    return x


def _pad_grad(g, *, widths, mode, value=0):
    for axis in reversed(range(len(widths))):
        before, after = widths[axis]
        if not (before or after):
            continue
        n = g.shape[axis] - before - after
        mid = g[_at(g.ndim, axis, slice(before, before + n))].copy()
        if mode != "constant":
            segments = (slice(0, before), slice(before + n, before + n + after))
            for segment, (start, step, count) in zip(segments, _edges(n, before, after, mode)):
                if not count:
                    continue
                piece = g[_at(g.ndim, axis, segment)]
                if step:
                    mid[_at(g.ndim, axis, _rows(start, step, count))] += piece
                else:
                    mid[_at(g.ndim, axis, slice(start, start + 1))] += reduce_sum(piece, axis=axis, keepdims=True)
        g = mid
    return g


PAD = Op("Pad", _pad, saves="none",
         backward=lambda ctx, g: (apply(PAD_GRAD, g, **ctx.attrs),))
PAD_GRAD = Op("PadGrad", _pad_grad, saves="none",
              backward=lambda ctx, gg: (apply(PAD, gg, **{**ctx.attrs, "value": 0}),))


def pad_widths(x, widths, mode: str, value=0, where: str = "Pad"):
    """``x`` padded by ``widths`` ((before, after) for every dim) in ``mode`` (one of MODES)."""
    widths = tuple((int(b), int(a)) for b, a in widths)
    for axis, ((before, after), n) in enumerate(zip(widths, x.shape)):
        limit = {"reflect": n - 1, "symmetric": n, "circular": n}.get(mode)
        if limit is not None and max(before, after) > limit:
            raise ValueError(f"For '{where}', {mode} padding of dim {axis} (size {n}) must be at most {limit} on "
                             f"each side, but got ({before}, {after}).")
        if mode == "replicate" and n == 0 and (before or after):
            raise ValueError(f"For '{where}', replicate padding needs a non-empty dim {axis}, but got shape "
                             f"{x.shape}.")
    if not any(b or a for b, a in widths):
        from gpucell.ops.array import identity

        return identity(x)
    return apply(PAD, x, widths=widths, mode=mode, value=value)


def pad(input_x, padding, mode="constant", value=None):
    """Pads the last ``len(padding) // 2`` dims of ``input_x``: ``padding`` is (left, right) of the
    last dim, then (top, bottom) of the one before, and so on.

    ``mode``: 'constant' (``value``, default 0), 'reflect' (mirror without the edge; each pad less
    than the dim), 'replicate' (repeat the edge) or 'circular' (wrap around; each pad at most the
    dim).

    >>> import gpucell as ms
    >>> ms.ops.pad(ms.Tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect").asnumpy()
    array([[3., 2., 1., 2., 3., 2.]], dtype=float32)
    """
    check_tensor("Pad", "input_x", input_x)
    if not isinstance(padding, (tuple, list)) or not all(
            isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in padding):
        raise TypeError(f"For 'Pad', the 'padding' must be a tuple or list of ints, but got {padding!r} with type "
                        f"'{type_name(padding)}'.")
    if len(padding) % 2 or len(padding) // 2 > input_x.ndim:
        raise ValueError(f"For 'Pad', the 'padding' must hold an even number of ints, at most 2 * {input_x.ndim} "
                         f"(the dims of 'input_x' {input_x.shape}), but got {tuple(padding)}.")
    if any(p < 0 for p in padding):
        raise ValueError(f"For 'Pad', the 'padding' must be >= 0 (cropping is not supported), but got "
                         f"{tuple(padding)}.")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"For 'Pad', the 'mode' must be one of ['constant', 'reflect', 'replicate', 'circular'], "
                         f"but got {mode!r}.")
    if value is not None and mode != "constant":
        raise ValueError(f"For 'Pad', the 'value' is only valid in 'constant' mode, but got value={value!r} with "
                         f"mode {mode!r}.")
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise TypeError(f"For 'Pad', the 'value' must be a number, but got {value!r} with type "
                        f"'{type_name(value)}'.")
    pairs = [(padding[2 * i], padding[2 * i + 1]) for i in range(len(padding) // 2)]
    widths = [(0, 0)] * (input_x.ndim - len(pairs)) + pairs[::-1]
    return pad_widths(input_x, widths, mode, 0 if value is None else value)
