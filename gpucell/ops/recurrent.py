"""Recurrent steps (Elman RNN, LSTM, GRU) and the time loop of one layer, composed of existing ops.

A layer projects the input of all time steps at once (one Dense over (T, B, I): one matmul), then
each step adds only the recurrent matmul ``h @ w_hh.T``. Everything is an existing op (dense, split,
sigmoid, tanh, relu, select, stack), so both backends, autograd of any order and jit come for free:
under jit the Python loop unrolls into the trace and the plan is keyed by the shapes, as any other.

Gate order and equations are MindSpore's (``mindspore.nn.layer.rnn_cells``): LSTM ``i, f, g, o``;
GRU ``r, z, n`` with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``. A state of None stands for the
zero state: the first step then skips the recurrent matmul (and needs no zeros made on some device).
"""

from __future__ import annotations

from gpucell.ops.activation import relu, sigmoid, tanh
from gpucell.ops.dense import dense
from gpucell.ops.selection import select
from gpucell.ops.shape import reshape, split, squeeze, stack

__all__ = ["GATES", "cell_step", "recurrent"]

# Gate blocks stacked in w_ih / w_hh per mode: weights are (GATES[mode] * hidden_size, in_features).
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _plus(a, b):
    return a if b is None else a + b


def _hidden_gates(h, w_hh, b_hh):
    """``h @ w_hh.T + b_hh``; for the zero state (h None) only the bias, or nothing."""
    return b_hh if h is None else dense(h, w_hh, b_hh)


def _rnn(gi, h, w_hh, b_hh, activation):
    return activation(_plus(gi, _hidden_gates(h, w_hh, b_hh)))


def _lstm(gi, state, w_hh, b_hh):
    h, c = state
    gates = _plus(gi, _hidden_gates(h, w_hh, b_hh))
    i, f, g, o = split(gates, w_hh.shape[1], -1)
    i, f, g, o = sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
    c = i * g if c is None else f * c + i * g
    return o * tanh(c), c


def _gru(gi, h, w_hh, b_hh):
    hidden = w_hh.shape[1]
    i_r, i_z, i_n = split(gi, hidden, -1)
    gh = _hidden_gates(h, w_hh, b_hh)
    h_r, h_z, h_n = (None, None, None) if gh is None else split(gh, hidden, -1)
    r = sigmoid(_plus(i_r, h_r))
    z = sigmoid(_plus(i_z, h_z))
    n = tanh(i_n if h_n is None else i_n + r * h_n)
    return n - z * n if h is None else n + z * (h - n)  # (1 - z) * n + z * h


def cell_step(mode: str, gi, state, w_hh, b_hh=None):
    """One step of ``mode`` from the input gates ``gi = x @ w_ih.T + b_ih`` (B, G) and ``state``
    (h, or (h, c) for LSTM; None parts: zeros). Returns the new state in the same form."""
    if mode == "LSTM":
        return _lstm(gi, state, w_hh, b_hh)
    if mode == "GRU":
        return _gru(gi, state, w_hh, b_hh)
    return _rnn(gi, state, w_hh, b_hh, tanh if mode == "RNN_TANH" else relu)


def _keep_where(valid, new, old):
    """``new`` in the rows still inside their sequence, ``old`` (None: zeros) elsewhere."""
    return select(valid, new, 0.0 if old is None else old)


def recurrent(mode: str, x, state, w_ih, w_hh, b_ih=None, b_hh=None, seq_length=None, reverse: bool = False):
    """One layer in one direction over ``x`` (T, B, I), time-major: ``(outputs (T, B, H), final state)``.

    ``seq_length`` (B,) ints: past a row's length its output is zero and its state is held, so the
    final state is the one at the last valid step, as MindSpore's; ``reverse`` runs from the last
    valid step back to the first (MindSpore's ReverseSequence, without moving the data).
    """
    steps = [squeeze(g, 0) for g in split(dense(x, w_ih, b_ih), 1, 0)]
    lengths = None if seq_length is None else reshape(seq_length, (-1, 1))
    outputs = [None] * len(steps)
    for t in (reversed(range(len(steps))) if reverse else range(len(steps))):
        new = cell_step(mode, steps[t], state, w_hh, b_hh)
        h = new[0] if mode == "LSTM" else new
        if lengths is None:
            state, outputs[t] = new, h
            continue
        valid = lengths > t
        outputs[t] = select(valid, h, 0.0)
        if mode == "LSTM":
            state = (_keep_where(valid, new[0], state[0]), _keep_where(valid, new[1], state[1]))
        else:
            state = _keep_where(valid, new, state)
    return stack(outputs, 0), state
