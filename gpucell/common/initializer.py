"""Re-export of :mod:`gpucell.initializer` under MindSpore's path ``mindspore.common.initializer``."""

from gpucell.initializer import (  # noqa: F401
    Constant,
    Dirac,
    HeNormal,
    HeUniform,
    Identity,
    Initializer,
    Normal,
    One,
    Orthogonal,
    TruncatedNormal,
    Uniform,
    XavierNormal,
    XavierUniform,
    Zero,
    initializer,
)

__all__ = ["Initializer", "Zero", "One", "Constant", "Normal", "Uniform", "TruncatedNormal",
           "XavierUniform", "XavierNormal", "HeUniform", "HeNormal", "Identity", "Orthogonal",
           "Dirac", "initializer"]
