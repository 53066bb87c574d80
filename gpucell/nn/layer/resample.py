"""Upsample: ops.interpolate as a Cell."""

from __future__ import annotations

from gpucell.nn.cell import Cell
from gpucell.ops.resample import interpolate

__all__ = ["Upsample"]


class Upsample(Cell):
    """Resamples (N, C, L) or (N, C, H, W) input to ``size`` or by ``scale_factor``; ``mode``
    'nearest', 'linear', 'bilinear' or 'area' (see ops.interpolate, which checks the arguments).

    >>> import gpucell as ms, numpy as np
    >>> up = ms.nn.Upsample(scale_factor=2.0, mode="bilinear")
    >>> up(ms.Tensor(np.ones((1, 2, 3, 3), np.float32))).shape
    (1, 2, 6, 6)
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size = size
        self.scale_factor = scale_factor
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def construct(self, x):
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extend_repr(self) -> str:
        return (f"size={self.size}, scale_factor={self.scale_factor}, mode={self.mode}, "
                f"align_corners={self.align_corners}, recompute_scale_factor={self.recompute_scale_factor}")
