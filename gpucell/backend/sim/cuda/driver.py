"""``cupy.cuda.driver``: the driver API's error type (kernel launches raise it)."""

from __future__ import annotations

from gpucell.backend.sim._errors import CUDADriverError

__all__ = ["CUDADriverError"]
