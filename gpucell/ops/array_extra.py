"""chunk and repeat: pieces of a tensor along an axis, and elements repeated along an axis.

Both are shape bookkeeping over existing ops or one array-library call with host-known sizes, so
they run on both backends and under CUDA-graph capture. ``repeat``'s backward sums the gradient of
each group of copies (split and sum), so higher orders differentiate it too.
"""

from __future__ import annotations

import math

import numpy as np

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_axis, check_int, check_tensor, type_name

__all__ = ["chunk", "repeat"]


def _repeat(a, repeats, axis):
    return array_module(a).repeat(a, repeats if isinstance(repeats, int) else list(repeats), axis=axis)


def _repeat_backward(ctx, g):
    from gpucell.ops import reduction, shape

    repeats, axis = ctx.attrs["repeats"], ctx.attrs["axis"]
    if isinstance(repeats, int):
        n = ctx.shape(0)[axis]
        grouped = shape.reshape(g, g.shape[:axis] + (n, repeats) + g.shape[axis + 1:])
        return reduction.sum(grouped, axis + 1)
    parts = shape.split(g, repeats, axis)
    return shape.concat([reduction.sum(p, axis, True) for p in parts], axis)


REPEAT = Op("Repeat", _repeat, backward=_repeat_backward, saves="none")


def repeat(input, repeats, axis=None):
    """Each element of ``input`` repeated ``repeats`` times along ``axis`` (None: of the flattened
    input); ``repeats`` an int, or a tuple or list with one count per element along ``axis``.

    >>> import gpucell as ms
    >>> ms.Tensor([[1, 2], [3, 4]]).repeat((1, 2), axis=0).asnumpy()
    array([[1, 2],
           [3, 4],
           [3, 4]])
    """
    from gpucell.ops import shape

    check_tensor("Tensor.repeat", "input", input)
    if axis is None:
        input, axis = shape.reshape(input, (-1,)), 0
    elif input.ndim == 0:
        input = shape.reshape(input, (1,))
    axis = check_axis("Tensor.repeat", axis, input.ndim)
    if isinstance(repeats, (tuple, list)):
        counts = tuple(check_int("Tensor.repeat", "repeats", r) for r in repeats)
    else:
        counts = (check_int("Tensor.repeat", "repeats", repeats),)
    if any(r < 0 for r in counts):
        raise ValueError(f"For 'Tensor.repeat', the 'repeats' must be non-negative, but got {repeats!r}.")
    n = input.shape[axis]
    if len(counts) not in (1, n):
        raise ValueError(f"For 'Tensor.repeat', the 'repeats' must hold 1 or {n} counts (the size of axis {axis}), "
                         f"but got {len(counts)}.")
    return apply(REPEAT, input, repeats=counts[0] if len(counts) == 1 else counts, axis=axis)


def chunk(input, chunks, axis=0):
    """``input`` cut into ``chunks`` pieces along ``axis``, each ``ceil(size / chunks)`` long (the last
    may be shorter, and fewer pieces come back when the size does not fill them all).

    >>> import gpucell as ms
    >>> [c.shape for c in ms.ops.chunk(ms.ops.ones((5, 2)), 3)]
    [(2, 2), (2, 2), (1, 2)]
    """
    from gpucell.ops import shape

    check_tensor("chunk", "input", input)
    if isinstance(chunks, (bool, np.bool_)) or not isinstance(chunks, (int, np.integer)):
        raise TypeError(f"For 'chunk', the 'chunks' must be an int, but got {chunks!r} with type "
                        f"'{type_name(chunks)}'.")
    if chunks <= 0:
        raise ValueError(f"For 'chunk', the 'chunks' must be a positive int, but got {chunks}.")
    if input.ndim == 0:
        raise ValueError("For 'chunk', the 'input' must have at least one dimension, but got a 0-D Tensor.")
    axis = check_axis("chunk", axis, input.ndim)
    size = max(1, math.ceil(input.shape[axis] / int(chunks)))
    return shape.split(input, size, axis)
