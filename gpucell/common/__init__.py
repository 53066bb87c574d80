"""MindSpore's ``mindspore.common`` namespace: ``from gpucell.common.initializer import initializer``."""

from gpucell.common import initializer

__all__ = ["initializer"]
