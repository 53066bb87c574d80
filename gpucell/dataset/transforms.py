"""``gpucell.dataset.transforms``: the general transforms of MindSpore's tutorials.

``TypeCast(data_type)`` casts a column (a NumPy array, as a dataset row holds it) to a gpucell
dtype (or a NumPy dtype), for ``Dataset.map``.
"""

from __future__ import annotations

import numpy as np

from gpucell import dtype as _dt

__all__ = ["TypeCast"]


class TypeCast:
    """``TypeCast(data_type)``: the column as ``data_type`` (e.g. ``gpucell.int32``)."""

    def __init__(self, data_type):
        self.data_type = _dt.to_dtype(data_type, "TypeCast")

    def __call__(self, data):
        return np.asarray(data).astype(self.data_type.numpy)
