"""Activation Cells: ReLU, Sigmoid, Tanh, GELU, SiLU, Softmax, LogSoftmax, LeakyReLU, PReLU, ELU,
Mish, HSwish, HSigmoid, Softplus, Softsign, Tanhshrink, and get_activation."""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import dtype as _dt
from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import positive_int
from gpucell.ops import activation as _act
from gpucell.ops import activation_extra as _more
from gpucell.ops._util import check_bool, check_int, type_name
from gpucell.ops.arithmetic import sub
from gpucell.ops.assign import assign
from gpucell.ops.conversion import cast
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["ELU", "GELU", "HSigmoid", "HSwish", "LeakyReLU", "LogSoftmax", "Mish", "PReLU", "ReLU", "SiLU",
           "Sigmoid", "Softmax", "Softplus", "Softsign", "Tanh", "Tanhshrink", "get_activation"]


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


_number = _more._number  # a float or an int, named in the error


class LeakyReLU(Cell):
    """``x`` where positive, else ``alpha * x``.

    >>> import gpucell as ms
    >>> ms.nn.LeakyReLU()(ms.Tensor([-1.0, 2.0])).asnumpy()
    array([-0.2,  2. ], dtype=float32)
    """

    def __init__(self, alpha=0.2):
        super().__init__()
        self.alpha = _number("LeakyReLU", "alpha", alpha)

    def construct(self, x):
        return _more.leaky_relu(x, self.alpha)


class PReLU(Cell):
    """LeakyReLU with a learnable slope per channel (dim 1 of the input): the Parameter ``w`` (named
    'a'), ``channel`` values initialised to ``w`` (a float, a list or a Tensor of shape (channel,)).

    As in MindSpore, the slope used is ``relu(w)`` (never negative), and in training mode that value
    is written back into ``w``.
    """

    def __init__(self, channel=1, w=0.25):
        super().__init__()
        where = "PReLU"
        channel = positive_int(where, "channel", channel)
        if isinstance(w, (float, np.floating)) or (isinstance(w, numbers.Integral) and not isinstance(w, bool)):
            w = Tensor(np.full((channel,), w, np.float32))
        elif isinstance(w, list):
            if len(w) != channel:
                raise ValueError(f"For '{where}', the 'w' list must hold 'channel' ({channel}) values, but got "
                                 f"{len(w)}.")
            w = Tensor(np.asarray(w, np.float32))
        elif not isinstance(w, Tensor):
            raise TypeError(f"For '{where}', the 'w' only supported float, list and tensor, but got "
                            f"{type_name(w)}.")
        if w.ndim != 1 or w.shape[0] != channel:
            raise ValueError(f"For '{where}', the dimension of 'w' should be 1, and the elements number should be "
                             f"equal to the 'channel' when the 'w' is a tensor, but got 'w' shape {w.shape}, the "
                             f"'channel' {channel}.")
        if w.dtype.kind != _dt._FLOAT:
            raise TypeError(f"For '{where}', the dtype of 'w' must be float16, float32 or float64, but got "
                            f"{w.dtype}.")
        self.channel = channel
        self.w = Parameter(w.copy(), name="a")

    def construct(self, x):
        u = _act.relu(self.w)
        out = _more.prelu(x, u if u.dtype is getattr(x, "dtype", None) else cast(u, x.dtype))
        if self.training:
            assign(self.w, u)
        return out


class ELU(Cell):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = _number("ELU", "alpha", alpha)
        if self.alpha <= 0:
            raise ValueError(f"For 'ELU', the 'alpha' must be > 0, but got {alpha}.")

    def construct(self, x):
        return _more.elu(x, self.alpha)


class Mish(Cell):
    """``x * tanh(softplus(x))`` elementwise."""

    def construct(self, x):
        return _more.mish(x)


class HSwish(Cell):
    """Hard swish: ``x * relu6(x + 3) / 6`` elementwise."""

    def construct(self, x):
        return _more.hardswish(x)


class HSigmoid(Cell):
    """Hard sigmoid: ``relu6(x + 3) / 6`` elementwise."""

    def construct(self, x):
        return _more.hardsigmoid(x)


class Softplus(Cell):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""

    def __init__(self, beta=1, threshold=20):
        super().__init__()
        self.beta = _number("Softplus", "beta", beta)
        if self.beta == 0:
            raise ValueError("For 'Softplus', the 'beta' must not be 0, but got 0.")
        self.threshold = _number("Softplus", "threshold", threshold)

    def construct(self, x):
        return _more.softplus(x, self.beta, self.threshold)


class Softsign(Cell):
    """``x / (1 + |x|)`` elementwise."""

    def construct(self, x):
        return _more.softsign(x)


class Tanhshrink(Cell):
    """``x - tanh(x)`` elementwise."""

    def construct(self, x):
        return sub(x, _act.tanh(x))


_ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "gelu": GELU, "silu": SiLU,
                "softmax": Softmax, "logsoftmax": LogSoftmax, "leakyrelu": LeakyReLU, "prelu": PReLU,
                "elu": ELU, "mish": Mish, "hswish": HSwish, "hsigmoid": HSigmoid, "softplus": Softplus,
                "softsign": Softsign, "tanhshrink": Tanhshrink}


def get_activation(name: str, prim_name: str | None = None) -> Cell:
    """The activation Cell called ``name`` (MindSpore's keys: 'relu', 'sigmoid', 'tanh', 'gelu', 'silu',
    'softmax', 'logsoftmax', 'leakyrelu', 'prelu', 'elu', 'mish', 'hswish', 'hsigmoid', 'softplus',
    'softsign', 'tanhshrink'; case-insensitive), with its default arguments."""
    where = prim_name or "get_activation"
    if not isinstance(name, str):
        raise TypeError(f"For '{where}', the activation name must be a str, but got {name!r}.")
    cls = _ACTIVATIONS.get(name.lower())
    if cls is None:
        raise ValueError(f"For '{where}', the activation must be one of {sorted(_ACTIVATIONS)}, but got "
                         f"{name!r}.")
    return cls()
