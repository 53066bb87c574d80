"""RNNCell, LSTMCell and GRUCell: one recurrent step on a batch, MindSpore 2.x's single cells.

The argument checks shared with the stacked layers (gpucell.nn.layer.rnns) live here too.
"""

from __future__ import annotations

import math

from gpucell import dtype as _dt
from gpucell.initializer import Uniform
from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import check_bool, make_parameter, positive_int
from gpucell.ops._util import type_name
from gpucell.ops.conversion import cast
from gpucell.ops.dense import dense
from gpucell.ops.recurrent import GATES, cell_step
from gpucell.tensor import Tensor

__all__ = ["GRUCell", "LSTMCell", "RNNCell"]

NONLINEARITIES = ("tanh", "relu")


def check_nonlinearity(where: str, nonlinearity) -> str:
    if not isinstance(nonlinearity, str):
        raise TypeError(f"For '{where}', the 'nonlinearity' must be a str, but got {nonlinearity!r} with type "
                        f"'{type_name(nonlinearity)}'.")
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"For '{where}', the 'nonlinearity' must be in {list(NONLINEARITIES)}, but got "
                         f"{nonlinearity!r}.")
    return nonlinearity


def check_param_dtype(where: str, dtype) -> _dt.DType:
    target = _dt.to_dtype(dtype)
    if target.kind != _dt._FLOAT:
        raise TypeError(f"For '{where}', the 'dtype' of the Parameters must be a float type, but got {target}.")
    return target


def check_input(where: str, x, ndim: int, features: int, layout: str):
    """``x`` a float Tensor of ``ndim`` dims whose last dim is ``features`` (input_size)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"For '{where}', the 'x' must be a Tensor, but got {type_name(x)}.")
    if x.ndim != ndim or x.shape[-1] != features or 0 in x.shape:
        raise ValueError(f"For '{where}', the 'x' must have shape {layout} with input_size {features} and no "
                         f"empty dim, but got {x.shape}.")
    if x.dtype.kind != _dt._FLOAT:
        raise TypeError(f"For '{where}', the dtype of 'x' must be float16, float32 or float64, but got "
                        f"{x.dtype}.")
    return x


def check_state(where: str, name: str, h, shape: tuple, dtype) -> None:
    """A state Tensor ``h`` of ``shape`` and the dtype of 'x'."""
    if not isinstance(h, Tensor):
        raise TypeError(f"For '{where}', the '{name}' must be a Tensor, but got {type_name(h)}.")
    if h.dtype is not dtype:
        raise TypeError(f"For '{where}', the dtype of '{name}' ({h.dtype}) must equal the dtype of 'x' "
                        f"({dtype}).")
    if h.shape != shape:
        raise ValueError(f"For '{where}', the '{name}' must have shape {shape}, but got {h.shape}.")


def check_pair(where: str, hx) -> None:
    """LSTM's state: a tuple of two Tensors (h, c)."""
    if not isinstance(hx, tuple):
        raise TypeError(f"For '{where}', the 'hx' must be a tuple of two Tensors (h, c), but got "
                        f"{type_name(hx)}.")
    if len(hx) != 2:
        raise TypeError(f"For '{where}', the length of 'hx' must be 2, but got {len(hx)}.")


def weights_as(dtype, *weights) -> tuple:
    """The weights cast to the input's dtype where they differ (as MindSpore's RNNs do)."""
    return tuple(w if w is None or w.dtype is dtype else cast(w, dtype) for w in weights)


class _RNNCellBase(Cell):
    """The weights of one step: ``weight_ih`` (G*hidden, input), ``weight_hh`` (G*hidden, hidden) and
    the biases ``bias_ih``, ``bias_hh`` (G*hidden,), all U(-1/sqrt(hidden), 1/sqrt(hidden))."""

    def __init__(self, mode, input_size, hidden_size, has_bias, dtype):
        super().__init__()
        where = type(self).__name__
        self._mode = mode
        self.input_size = positive_int(where, "input_size", input_size)
        self.hidden_size = positive_int(where, "hidden_size", hidden_size)
        self.has_bias = check_bool(where, "has_bias", has_bias)
        dtype = check_param_dtype(where, dtype)
        rows = GATES[self._mode] * hidden_size
        init = Uniform(1 / math.sqrt(hidden_size))
        self.weight_ih = make_parameter(where, "weight_ih", init, (rows, input_size), dtype)
        self.weight_hh = make_parameter(where, "weight_hh", init, (rows, hidden_size), dtype)
        self.bias_ih = make_parameter(where, "bias_ih", init, (rows,), dtype) if has_bias else None
        self.bias_hh = make_parameter(where, "bias_hh", init, (rows,), dtype) if has_bias else None

    def _step(self, x, state):
        w_ih, w_hh, b_ih, b_hh = weights_as(x.dtype, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return cell_step(self._mode, dense(x, w_ih, b_ih), state, w_hh, b_hh)

    def _check(self, x, states: dict) -> None:
        where = type(self).__name__
        check_input(where, x, 2, self.input_size, "(batch_size, input_size)")
        for name, h in states.items():
            check_state(where, name, h, (x.shape[0], self.hidden_size), x.dtype)

    def extend_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}, has_bias={self.has_bias}"


class RNNCell(_RNNCellBase):
    """An Elman RNN step: ``h' = tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)`` (or relu).

    ``x`` (batch_size, input_size), ``hx`` (batch_size, hidden_size) -> ``h'`` (batch_size, hidden_size).

    >>> import gpucell as ms
    >>> net = ms.nn.RNNCell(10, 16)
    >>> net(ms.ops.ones((3, 10)), ms.ops.zeros((3, 16))).shape
    (3, 16)
    """

    def __init__(self, input_size, hidden_size, has_bias=True, nonlinearity="tanh", dtype=_dt.float32):
        mode = "RNN_" + check_nonlinearity("RNNCell", nonlinearity).upper()
        super().__init__(mode, input_size, hidden_size, has_bias, dtype)
        self.nonlinearity = nonlinearity

    def construct(self, x, hx):
        self._check(x, {"hx": hx})
        return self._step(x, hx)

    def extend_repr(self) -> str:
        return f"{super().extend_repr()}, nonlinearity={self.nonlinearity}"


class LSTMCell(_RNNCellBase):
    """An LSTM step (gate order i, f, g, o): ``c' = f * c + i * g``, ``h' = o * tanh(c')``.

    ``x`` (batch_size, input_size), ``hx`` a tuple (h, c) of (batch_size, hidden_size) -> ``(h', c')``.

    >>> import gpucell as ms
    >>> net = ms.nn.LSTMCell(10, 16)
    >>> h, c = net(ms.ops.ones((3, 10)), (ms.ops.zeros((3, 16)), ms.ops.zeros((3, 16))))
    >>> h.shape, c.shape
    ((3, 16), (3, 16))
    """

    def __init__(self, input_size, hidden_size, has_bias=True, dtype=_dt.float32):
        super().__init__("LSTM", input_size, hidden_size, has_bias, dtype)

    def construct(self, x, hx):
        check_pair("LSTMCell", hx)
        self._check(x, {"hx[0]": hx[0], "hx[1]": hx[1]})
        return self._step(x, tuple(hx))


class GRUCell(_RNNCellBase):
    """A GRU step (gate order r, z, n): ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h' = (1 - z) * n + z * h``.

    >>> import gpucell as ms
    >>> net = ms.nn.GRUCell(10, 16)
    >>> net(ms.ops.ones((3, 10)), ms.ops.zeros((3, 16))).shape
    (3, 16)
    """

    def __init__(self, input_size, hidden_size, has_bias=True, dtype=_dt.float32):
        super().__init__("GRU", input_size, hidden_size, has_bias, dtype)

    def construct(self, x, hx):
        self._check(x, {"hx": hx})
        return self._step(x, hx)
