"""``cupy.lib.stride_tricks.as_strided``: a view with any strides, kept inside its allocation."""

from __future__ import annotations

import numpy as np

from gpucell.backend.sim import _array

__all__ = ["as_strided"]


def as_strided(x, shape=None, strides=None):
    """A view of ``x``'s memory with the given shape and byte strides.

    On a GPU a view reaching past its allocation reads other arrays' memory (or faults); the
    simulator refuses it.
    """
    if type(x) is not _array.ndarray:
        raise TypeError(f"Unsupported type {type(x)}")
    h = np.lib.stride_tricks.as_strided(x._h, shape=shape, strides=strides)
    view = _array.view_of(x, h)
    memory, lo, hi = view._span()
    if h.size and (lo < 0 or hi > memory.size):
        raise ValueError(f"For 'as_strided', shape {h.shape} with strides {h.strides} reaches bytes {lo}..{hi} of "
                         f"an allocation of {memory.size} bytes: outside the array's memory.")
    return view
