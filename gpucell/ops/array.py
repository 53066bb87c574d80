"""shape, rank, size, depend, identity and nonzero.

``depend(value, expr)`` returns ``value``: in MindSpore's graph mode it orders ``expr`` before the
uses of ``value``; gpucell runs ops eagerly in program order (a jit plan replays that order), so
there is nothing left to order. ``nonzero`` has a result whose shape depends on the data: it reads
the count on the host, so on the GPU it synchronises and runs between captured segments of a plan.
"""

from __future__ import annotations

import numpy as np

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_bool, check_tensor
from gpucell.ops.conversion import COPY

__all__ = ["shape", "rank", "size", "depend", "identity", "nonzero", "NONZERO", "NONZERO_TUPLE"]


def _nonzero(a):
    return array_module(a).argwhere(a).astype(np.int64)


def _nonzero_tuple(a):
    return tuple(i.astype(np.int64) for i in array_module(a).nonzero(a))


NONZERO = Op("NonZero", _nonzero, capturable=False)
NONZERO_TUPLE = Op("NonZeroTuple", _nonzero_tuple, multi_output=True, capturable=False)


def shape(input_x) -> tuple:
    """The shape of ``input_x`` as a tuple of ints.

    >>> import gpucell as ms
    >>> ms.ops.shape(ms.ops.ones((3, 2)))
    (3, 2)
    """
    return check_tensor("Shape", "input_x", input_x).shape


def rank(input_x) -> int:
    """The number of dims of ``input_x``."""
    return check_tensor("Rank", "input_x", input_x).ndim


def size(input_x) -> int:
    """The number of elements of ``input_x``."""
    return check_tensor("Size", "input_x", input_x).size


def depend(value, expr):
    """``value`` itself; ``expr`` (anything) is not used: eager ops already run in program order."""
    return value


def identity(x):
    """A new Tensor with the shape, dtype and values of ``x`` (the gradient passes through)."""
    check_tensor("Identity", "x", x)
    return apply(COPY, x)


def nonzero(input, as_tuple=False):
    """Int64 indices of the non-zero elements of ``input``: one row per element, shape
    ``(count, input.ndim)``; with ``as_tuple``, one 1-D tensor of length ``count`` per dim.

    >>> import gpucell as ms
    >>> ms.ops.nonzero(ms.Tensor([[0, 3], [4, 0]])).asnumpy()
    array([[0, 1],
           [1, 0]])
    """
    check_tensor("NonZero", "input", input)
    as_tuple = check_bool("NonZero", "as_tuple", as_tuple)
    if input.ndim == 0:
        raise ValueError("For 'NonZero', the dimension of 'input' must be at least 1, but got 0.")
    return apply(NONZERO_TUPLE if as_tuple else NONZERO, input)
