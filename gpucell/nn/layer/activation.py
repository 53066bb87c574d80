"""Activation Cells: ReLU, Sigmoid, Tanh, GELU, SiLU, Softmax, LogSoftmax, and get_activation."""

from __future__ import annotations

from gpucell.nn.cell import Cell
from gpucell.ops import activation as _act
from gpucell.ops._util import check_bool, check_int

__all__ = ["GELU", "LogSoftmax", "ReLU", "SiLU", "Sigmoid", "Softmax", "Tanh", "get_activation"]


class ReLU(Cell):
    """``max(x, 0)`` elementwise.

    >>> import gpucell as ms
    >>> ms.nn.ReLU()(ms.Tensor([-1.0, 2.0])).asnumpy()
    array([0., 2.], dtype=float32)
    """

    def construct(self, x):
        return _act.relu(x)


class Sigmoid(Cell):
    """``1 / (1 + exp(-x))`` elementwise."""

    def construct(self, x):
        return _act.sigmoid(x)


class Tanh(Cell):
    """``tanh(x)`` elementwise."""

    def construct(self, x):
        return _act.tanh(x)


class GELU(Cell):
    """GeLU; ``approximate=True`` (MindSpore's default) uses the tanh approximation, False erf."""

    def __init__(self, approximate=True):
        super().__init__()
        self.approximate = check_bool("GELU", "approximate", approximate)

    def construct(self, x):
        return _act.gelu(x, "tanh" if self.approximate else "none")


class SiLU(Cell):
    """``x * sigmoid(x)`` elementwise."""

    def construct(self, x):
        return _act.silu(x)


class Softmax(Cell):
    """Softmax along ``axis``, computed stably."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = check_int("Softmax", "axis", axis)

    def construct(self, x):
        return _act.softmax(x, self.axis)


class LogSoftmax(Cell):
    """``log(softmax(x))`` along ``axis``, computed stably."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = check_int("LogSoftmax", "axis", axis)

    def construct(self, x):
        return _act.log_softmax(x, self.axis)


_ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "gelu": GELU, "silu": SiLU,
                "softmax": Softmax, "logsoftmax": LogSoftmax}


def get_activation(name: str, prim_name: str | None = None) -> Cell:
    """The activation Cell called ``name`` ('relu', 'sigmoid', 'tanh', 'gelu', 'silu', 'softmax',
    'logsoftmax'; case-insensitive)."""
    where = prim_name or "get_activation"
    if not isinstance(name, str):
        raise TypeError(f"For '{where}', the activation name must be a str, but got {name!r}.")
    cls = _ACTIVATIONS.get(name.lower())
    if cls is None:
        raise ValueError(f"For '{where}', the activation must be one of {sorted(_ACTIVATIONS)}, but got "
                         f"{name!r}.")
    return cls()
