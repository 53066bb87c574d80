"""Tensor methods over the ops of issue 17's second batch: cumsum, prod, repeat, split, masked_fill.

gpucell.ops.tensor_methods merges ``METHODS`` into its own table, which binds them onto Tensor.
"""

from __future__ import annotations

from gpucell.ops import attention, cumulative, reduction_extra
from gpucell.ops import shape as shape_ops
from gpucell.ops.array_extra import repeat

__all__ = ["METHODS"]


def cumsum(self, axis=None, dtype=None):
    """Running sums along ``axis`` (None: of the flattened tensor); ``dtype`` casts first."""
    if axis is None:
        self, axis = shape_ops.reshape(self, (-1,)), 0
    return cumulative.cumsum(self, axis, dtype)


def prod(self, axis=None, keep_dims=False):
    """The product over ``axis`` (an int, a tuple of ints, or None for all)."""
    return reduction_extra.prod(self, axis, keep_dims)


def split(self, split_size_or_sections, axis=0):
    """A tuple of pieces along ``axis``, as :func:`gpucell.ops.split`."""
    return shape_ops.split(self, split_size_or_sections, axis)


def masked_fill(self, mask, value):
    """``value`` where ``mask`` is True, as :func:`gpucell.ops.masked_fill`."""
    return attention.masked_fill(self, mask, value)


METHODS = {"cumsum": cumsum, "prod": prod, "repeat": repeat, "split": split, "masked_fill": masked_fill}
