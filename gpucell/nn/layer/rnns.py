"""RNN, LSTM and GRU: stacked, optionally bidirectional recurrent layers over a whole sequence.

MindSpore 2.x's layers: the same constructor, ``construct(x, hx=None, seq_length=None)``, Parameter
names (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``_reverse`` for the
backward direction; held in the ParameterTuples ``w_ih_list``, ``w_hh_list``, ``b_ih_list`` and
``b_hh_list``), gate order and ``seq_length`` semantics. The time loop is gpucell.ops.recurrent's,
built of existing ops, so the layers run on both backends and under jit.
"""

from __future__ import annotations

import math
import warnings

from gpucell import dtype as _dt
from gpucell.initializer import Uniform
from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import check_bool, float_in, make_parameter, positive_int
from gpucell.nn.layer.basic import Dropout
from gpucell.nn.layer.rnn_cells import (
    check_input,
    check_nonlinearity,
    check_pair,
    check_param_dtype,
    check_state,
    weights_as,
)
from gpucell.ops._util import type_name
from gpucell.ops.recurrent import GATES, recurrent
from gpucell.ops.shape import concat, split, squeeze, stack, transpose
from gpucell.parameter import ParameterTuple
from gpucell.tensor import Tensor

__all__ = ["GRU", "LSTM", "RNN"]


class _RNNBase(Cell):
    """Shared by RNN, LSTM and GRU: Parameters, argument checks and the stacked, bidirectional loop."""

    def __init__(self, mode, input_size, hidden_size, num_layers, has_bias, batch_first, dropout,
                 bidirectional, dtype):
        super().__init__()
        where = type(self).__name__
        self.input_size = positive_int(where, "input_size", input_size)
        self.hidden_size = positive_int(where, "hidden_size", hidden_size)
        self.num_layers = positive_int(where, "num_layers", num_layers)
        self.has_bias = check_bool(where, "has_bias", has_bias)
        self.batch_first = check_bool(where, "batch_first", batch_first)
        self.bidirectional = check_bool(where, "bidirectional", bidirectional)
        self.dropout = float_in(where, "dropout", dropout, 0.0, 1.0, high_open=True, ints=False)
        dtype = check_param_dtype(where, dtype)
        if self.dropout > 0 and num_layers == 1:
            warnings.warn(f"For '{where}', dropout applies between recurrent layers, so dropout={dropout} with "
                          f"num_layers=1 has no effect.", UserWarning, stacklevel=3)
        self.mode = mode
        self.dropout_op = Dropout(p=self.dropout)
        num_directions = 2 if bidirectional else 1
        rows = GATES[mode] * hidden_size
        init = Uniform(1 / math.sqrt(hidden_size))
        lists = {"weight_ih": [], "weight_hh": [], "bias_ih": [], "bias_hh": []}
        for layer in range(num_layers):
            features = input_size if layer == 0 else hidden_size * num_directions
            for direction in range(num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = {"weight_ih": (rows, features), "weight_hh": (rows, hidden_size)}
                if has_bias:
                    shapes.update(bias_ih=(rows,), bias_hh=(rows,))
                for kind, shape in shapes.items():
                    lists[kind].append(make_parameter(where, kind + suffix, init, shape, dtype))
        self.w_ih_list = ParameterTuple(lists["weight_ih"])
        self.w_hh_list = ParameterTuple(lists["weight_hh"])
        self.b_ih_list = ParameterTuple(lists["bias_ih"])
        self.b_hh_list = ParameterTuple(lists["bias_hh"])

    # -- checks ----------------------------------------------------------------------------------
    def _initial_states(self, x, hx, batch: int) -> list:
        """The state of each (layer, direction) from ``hx``: None (zeros), h, or (h, c) for LSTM."""
        where = type(self).__name__
        count = self.num_layers * (2 if self.bidirectional else 1)
        shape = (count, batch, self.hidden_size)
        if self.mode == "LSTM":
            if hx is None:
                return [(None, None)] * count
            check_pair(where, hx)
            for i, h in enumerate(hx):
                check_state(where, f"hx[{i}]", h, shape, x.dtype)
            return list(zip(_unstack(hx[0]), _unstack(hx[1])))
        if hx is None:
            return [None] * count
        check_state(where, "hx", hx, shape, x.dtype)
        return _unstack(hx)

    def _check_seq_length(self, seq_length, batch: int) -> None:
        where = type(self).__name__
        if not isinstance(seq_length, Tensor):
            raise TypeError(f"For '{where}', the 'seq_length' must be a Tensor, but got {type_name(seq_length)}.")
        if seq_length.dtype not in (_dt.int32, _dt.int64):
            raise TypeError(f"For '{where}', the dtype of 'seq_length' must be Int32 or Int64, but got "
                            f"{seq_length.dtype}.")
        if seq_length.shape != (batch,):
            raise ValueError(f"For '{where}', the 'seq_length' must have shape (batch_size,) = ({batch},), but "
                             f"got {seq_length.shape}.")

    # -- forward ---------------------------------------------------------------------------------
    def construct(self, x, hx=None, seq_length=None):
        layout = "(batch_size, seq_len, input_size)" if self.batch_first else "(seq_len, batch_size, input_size)"
        check_input(type(self).__name__, x, 3, self.input_size, layout)
        if self.batch_first:
            x = transpose(x, (1, 0, 2))
        batch = x.shape[1]
        states = self._initial_states(x, hx, batch)
        if seq_length is not None:
            self._check_seq_length(seq_length, batch)
        num_directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                k = layer * num_directions + direction
                weights = weights_as(x.dtype, self.w_ih_list[k], self.w_hh_list[k],
                                     *((self.b_ih_list[k], self.b_hh_list[k]) if self.has_bias else (None, None)))
                out, final = recurrent(self.mode, x, states[k], *weights, seq_length=seq_length,
                                       reverse=direction == 1)
                outputs.append(out)
                finals.append(final)
            x = outputs[0] if num_directions == 1 else concat(outputs, 2)
            if layer < self.num_layers - 1 and self.dropout > 0:
                x = self.dropout_op(x)  # the identity unless training
        if self.batch_first:
            x = transpose(x, (1, 0, 2))
        if self.mode == "LSTM":
            return x, (stack([h for h, _ in finals], 0), stack([c for _, c in finals], 0))
        return x, stack(finals, 0)

    def extend_repr(self) -> str:
        return (f"input_size={self.input_size}, hidden_size={self.hidden_size}, num_layers={self.num_layers}, "
                f"has_bias={self.has_bias}, batch_first={self.batch_first}, dropout={self.dropout}, "
                f"bidirectional={self.bidirectional}")


def _unstack(h) -> list:
    """(N, B, H) -> N tensors (B, H)."""
    return [squeeze(p, 0) for p in split(h, 1, 0)]


class RNN(_RNNBase):
    """Stacked Elman RNN layers: ``h_t = tanh(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh)`` (or relu).

    ``x`` (seq_len, batch_size, input_size) (batch first when ``batch_first``), ``hx`` (num_directions *
    num_layers, batch_size, hidden_size) or None for zeros, ``seq_length`` (batch_size,) ints or None.
    Returns ``(output, h_n)``: output (seq_len, batch_size, num_directions * hidden_size), zero past each
    sequence's length; h_n the state at each sequence's last valid step. ``nonlinearity`` is keyword-only,
    as in MindSpore (which takes it from ``**kwargs``).

    >>> import gpucell as ms
    >>> net = ms.nn.RNN(10, 16, 2, batch_first=True)
    >>> output, h_n = net(ms.ops.ones((3, 5, 10)))
    >>> output.shape, h_n.shape
    ((3, 5, 16), (2, 3, 16))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, has_bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=_dt.float32, *, nonlinearity="tanh"):
        mode = "RNN_" + check_nonlinearity("RNN", nonlinearity).upper()
        super().__init__(mode, input_size, hidden_size, num_layers, has_bias, batch_first, dropout, bidirectional,
                         dtype)
        self.nonlinearity = nonlinearity


class LSTM(_RNNBase):
    """Stacked LSTM layers (gate order i, f, g, o): ``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``.

    ``hx``: a tuple (h_0, c_0), each (num_directions * num_layers, batch_size, hidden_size), or None for
    zeros. Returns ``(output, (h_n, c_n))``; otherwise as :class:`RNN`.

    >>> import gpucell as ms
    >>> net = ms.nn.LSTM(10, 16, 2, batch_first=True)
    >>> output, (h_n, c_n) = net(ms.ops.ones((3, 5, 10)))
    >>> output.shape, h_n.shape, c_n.shape
    ((3, 5, 16), (2, 3, 16), (2, 3, 16))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, has_bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=_dt.float32):
        super().__init__("LSTM", input_size, hidden_size, num_layers, has_bias, batch_first, dropout,
                         bidirectional, dtype)


class GRU(_RNNBase):
    """Stacked GRU layers (gate order r, z, n): ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h_t = (1 - z) * n + z * h_{t-1}``. Inputs and outputs as :class:`RNN`.

    >>> import gpucell as ms
    >>> net = ms.nn.GRU(10, 16, bidirectional=True)
    >>> output, h_n = net(ms.ops.ones((5, 3, 10)))
    >>> output.shape, h_n.shape
    ((5, 3, 32), (2, 3, 16))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, has_bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=_dt.float32):
        super().__init__("GRU", input_size, hidden_size, num_layers, has_bias, batch_first, dropout,
                         bidirectional, dtype)
