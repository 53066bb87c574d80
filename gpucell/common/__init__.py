"""MindSpore's ``mindspore.common`` namespace: ``from gpucell.common.initializer import initializer``,
``import gpucell.common.dtype as mstype``, ``gpucell.common.api.jit``."""

from gpucell.common import api, dtype, initializer

__all__ = ["api", "dtype", "initializer"]
