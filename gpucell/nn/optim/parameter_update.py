"""ParameterUpdate: a Cell that writes its input into one Parameter (MindSpore's ``nn.ParameterUpdate``)."""

from __future__ import annotations

from gpucell.nn.cell import Cell
from gpucell.ops.assign import assign
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["ParameterUpdate"]


class ParameterUpdate(Cell):
    """Updates ``param`` by hand: ``update(x)`` writes ``x`` into the Parameter's buffer in place (so
    a jit plan or a captured step that reads it sees the new value) and returns ``x``.

    >>> import numpy as np
    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> dense = nn.Dense(3, 4)
    >>> update = nn.ParameterUpdate(dense.parameters_dict()["weight"])
    >>> _ = update(ms.Tensor(np.arange(12).reshape((4, 3)), ms.float32))
    >>> dense.weight.asnumpy()[1]
    array([3., 4., 5.], dtype=float32)
    """

    def __init__(self, param):
        super().__init__(auto_prefix=False)
        if not isinstance(param, Parameter):
            raise TypeError(f"For 'ParameterUpdate', the 'param' must be a Parameter, but got "
                            f"{type(param).__name__}.")
        self._param = param

    def construct(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"For 'ParameterUpdate', the input 'x' must be a Tensor, but got {type(x).__name__}.")
        if x.shape != self._param.shape:
            raise ValueError(f"For 'ParameterUpdate', the shape of 'x' must equal the shape of the Parameter "
                             f"'{self._param.name}' {self._param.shape}, but got {x.shape}.")
        assign(self._param, x)
        return x
