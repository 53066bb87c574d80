"""nn.RNN / LSTM / GRU and nn.RNNCell / LSTMCell / GRUCell: forward against a float64 NumPy reference
of MindSpore's equations (multi-layer, bidirectional, batch_first, seq_length, given hx), gradients
against finite differences, jit against eager, Parameters, init and MindSpore-style errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops
from gpucell.jit import cache_info, clear_cache
from gpucell.ops.recurrent import recurrent

RNG = np.random.default_rng(17)
LAYERS = {"RNN_TANH": nn.RNN, "RNN_RELU": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
CELLS = {"RNN_TANH": nn.RNNCell, "RNN_RELU": nn.RNNCell, "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}


# -- the NumPy reference: MindSpore's equations, one sequence at a time ----------------------------
def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def ref_step(mode, x, state, w_ih, w_hh, b_ih, b_hh):
    """One step on float64 arrays; ``state`` is h, or (h, c) for LSTM."""
    h = state[0] if mode == "LSTM" else state
    gi = x @ w_ih.T + (0 if b_ih is None else b_ih)
    gh = h @ w_hh.T + (0 if b_hh is None else b_hh)
    if mode == "RNN_TANH":
        return np.tanh(gi + gh)
    if mode == "RNN_RELU":
        return np.maximum(gi + gh, 0)
    if mode == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = _sigmoid(f) * state[1] + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c), c
    r, z, n = np.split(gi, 3, axis=-1)
    h_r, h_z, h_n = np.split(gh, 3, axis=-1)
    r, z = _sigmoid(r + h_r), _sigmoid(z + h_z)
    n = np.tanh(n + r * h_n)
    return (1 - z) * n + z * h


def ref_direction(mode, x, state, weights, lengths, reverse):
    """One layer, one direction over x (T, B, I): each batch row on its own valid prefix, reversed
    within that prefix for the backward direction (MindSpore's ReverseSequence)."""
    T, B = x.shape[:2]
    H = weights[1].shape[1]
    out = np.zeros((T, B, H))
    finals = []
    for b in range(B):
        s = tuple(p[b:b + 1] for p in state) if mode == "LSTM" else state[b:b + 1]
        order = range(lengths[b])
        for t in (reversed(order) if reverse else order):
            s = ref_step(mode, x[t, b:b + 1], s, *weights)
            out[t, b] = (s[0] if mode == "LSTM" else s)[0]
        finals.append(s)
    if mode == "LSTM":
        return out, (np.concatenate([f[0] for f in finals]), np.concatenate([f[1] for f in finals]))
    return out, np.concatenate(finals)


def ref_layers(mode, net, x, hx=None, lengths=None):
    """The stacked (bidirectional) layers of ``net`` on float64 copies of its Parameters."""
    D = 2 if net.bidirectional else 1
    if net.batch_first:
        x = x.transpose(1, 0, 2)
    T, B = x.shape[:2]
    lengths = [T] * B if lengths is None else list(lengths)
    count, H = net.num_layers * D, net.hidden_size
    if hx is None:
        hx = (np.zeros((count, B, H)),) * 2 if mode == "LSTM" else np.zeros((count, B, H))
    finals = []
    for layer in range(net.num_layers):
        outs = []
        for d in range(D):
            k = layer * D + d
            weights = [host(net.w_ih_list[k]).astype(np.float64), host(net.w_hh_list[k]).astype(np.float64)]
            weights += ([host(net.b_ih_list[k]).astype(np.float64), host(net.b_hh_list[k]).astype(np.float64)]
                        if net.has_bias else [None, None])
            state = (hx[0][k], hx[1][k]) if mode == "LSTM" else hx[k]
            out, final = ref_direction(mode, x, state, weights, lengths, reverse=d == 1)
            outs.append(out)
            finals.append(final)
        x = np.concatenate(outs, axis=2)
    if net.batch_first:
        x = x.transpose(1, 0, 2)
    if mode == "LSTM":
        return x, (np.stack([f[0] for f in finals]), np.stack([f[1] for f in finals]))
    return x, np.stack(finals)


def _layer(mode, *args, **kwargs):
    if mode.startswith("RNN"):
        kwargs["nonlinearity"] = mode[4:].lower()
    return LAYERS[mode](*args, **kwargs)


def _cell(mode, *args, **kwargs):
    if mode.startswith("RNN"):
        kwargs["nonlinearity"] = mode[4:].lower()
    return CELLS[mode](*args, **kwargs)


MODES = list(LAYERS)
# (num_layers, bidirectional, batch_first, given hx, seq_length, has_bias)
CONFIGS = [
    (1, False, False, False, False, True),
    (2, True, True, True, True, True),
    (2, False, False, True, False, False),
    (1, True, False, False, True, True),
    (3, False, True, False, True, True),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "L{}-bi{:d}-bf{:d}-hx{:d}-len{:d}-b{:d}".format(*c))
@pytest.mark.parametrize("mode", MODES)
def test_forward_matches_numpy(device, mode, config):
    num_layers, bidirectional, batch_first, with_hx, with_lengths, has_bias = config
    ms.set_seed(3)
    F, H, T, B = 3, 4, 5, 3
    net = _layer(mode, F, H, num_layers, has_bias=has_bias, batch_first=batch_first, bidirectional=bidirectional)
    x = RNG.standard_normal((B, T, F) if batch_first else (T, B, F)).astype(np.float32)
    count = num_layers * (2 if bidirectional else 1)
    hx = None
    if with_hx:
        hx = tuple(RNG.standard_normal((count, B, H)).astype(np.float32) for _ in range(2))
        hx = hx if mode == "LSTM" else hx[0]
    lengths = np.array([5, 2, 4], np.int32) if with_lengths else None
    args = [on(device, x)]
    if hx is not None:
        args.append(tuple(on(device, h) for h in hx) if mode == "LSTM" else on(device, hx))
    kwargs = {} if lengths is None else {"seq_length": on(device, lengths)}
    out, h_n = net(*args, **kwargs)
    ref_out, ref_h = ref_layers(mode, net, x.astype(np.float64), hx, lengths)
    assert out.shape == ref_out.shape and out.dtype == ms.float32
    np.testing.assert_allclose(host(out), ref_out, rtol=1e-5, atol=1e-5)
    if mode == "LSTM":
        for got, want in zip(h_n, ref_h):
            assert got.shape == (count, B, H)
            np.testing.assert_allclose(host(got), want, rtol=1e-5, atol=1e-5)
    else:
        assert h_n.shape == (count, B, H)
        np.testing.assert_allclose(host(h_n), ref_h, rtol=1e-5, atol=1e-5)


def test_seq_length_zeroes_the_padding_and_holds_the_last_valid_state(device):
    ms.set_seed(4)
    net = nn.GRU(2, 3, batch_first=True)
    x = RNG.standard_normal((3, 6, 2)).astype(np.float32)
    lengths = np.array([6, 1, 3], np.int64)
    out, h_n = net(on(device, x), seq_length=on(device, lengths))
    out, h_n = host(out), host(h_n)
    for b, n in enumerate(lengths):
        assert not out[b, n:].any()
        np.testing.assert_array_equal(h_n[0, b], out[b, n - 1])
    # padding values do not leak into the valid part
    x2 = x.copy()
    x2[1, 1:] = 100.0
    out2, _ = net(on(device, x2), seq_length=on(device, lengths))
    np.testing.assert_allclose(host(out2), out, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_float64_layer_matches_numpy_closely(device, mode):
    ms.set_seed(5)
    net = _layer(mode, 2, 3, 2, bidirectional=True, dtype=ms.float64)
    x = RNG.standard_normal((4, 2, 2))
    out, h_n = net(on(device, x), seq_length=on(device, np.array([4, 3], np.int32)))
    ref_out, ref_h = ref_layers(mode, net, x, None, [4, 3])
    assert out.dtype == ms.float64
    np.testing.assert_allclose(host(out), ref_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(host(h_n[0] if mode == "LSTM" else h_n), ref_h[0] if mode == "LSTM" else ref_h,
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("has_bias", [True, False])
def test_cells_match_numpy(device, mode, has_bias):
    ms.set_seed(6)
    cell = _cell(mode, 3, 4, has_bias=has_bias)
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    h = RNG.standard_normal((5, 4)).astype(np.float32)
    c = RNG.standard_normal((5, 4)).astype(np.float32)
    weights = [host(cell.weight_ih), host(cell.weight_hh)]
    weights += [host(cell.bias_ih), host(cell.bias_hh)] if has_bias else [None, None]
    weights = [None if w is None else w.astype(np.float64) for w in weights]
    if mode == "LSTM":
        got = cell(on(device, x), (on(device, h), on(device, c)))
        want = ref_step(mode, x.astype(np.float64), (h.astype(np.float64), c.astype(np.float64)), *weights)
        for g, w in zip(got, want):
            np.testing.assert_allclose(host(g), w, rtol=1e-5, atol=1e-5)
    else:
        got = cell(on(device, x), on(device, h))
        want = ref_step(mode, x.astype(np.float64), h.astype(np.float64), *weights)
        np.testing.assert_allclose(host(got), want, rtol=1e-5, atol=1e-5)
    assert cell.bias_ih is None if not has_bias else cell.bias_ih.shape == (GATES_OF[mode] * 4,)


GATES_OF = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# -- gradients ----------------------------------------------------------------------------------
def _flat(*tensors):
    return ops.concat([ops.reshape(t, (-1,)) for t in tensors])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reverse, with_lengths", [(False, False), (True, True), (False, True)])
def test_recurrent_gradients(device, mode, reverse, with_lengths):
    T, B, F, H = 3, 2, 2, 2
    G = GATES_OF[mode] * H
    x, h0, c0 = RNG.standard_normal((T, B, F)), RNG.standard_normal((B, H)), RNG.standard_normal((B, H))
    w_ih, w_hh = RNG.standard_normal((G, F)), RNG.standard_normal((G, H))
    b_ih, b_hh = RNG.standard_normal(G), RNG.standard_normal(G)
    lengths = on(device, np.array([3, 2], np.int32)) if with_lengths else None
    if mode == "RNN_RELU":  # keep pre-activations away from the kink at 0
        x, w_ih, b_ih = np.abs(x), np.abs(w_ih), np.abs(b_ih) + 0.5

    def fn(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        state = (h0, c0) if mode == "LSTM" else h0
        out, final = recurrent(mode, x, state, w_ih, w_hh, b_ih, b_hh, seq_length=lengths, reverse=reverse)
        return _flat(out, *(final if mode == "LSTM" else (final,)))

    positions = (0, 1, 2, 3, 4, 5, 6) if mode == "LSTM" else (0, 1, 3, 4, 5, 6)
    gradcheck(fn, x, h0, c0, w_ih, w_hh, b_ih, b_hh, positions=positions, device=device, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
def test_zero_state_gradients(device, mode):
    """hx=None: the first step runs without a recurrent matmul; its gradient is still the same."""
    T, B, F, H = 3, 2, 2, 2
    G = GATES_OF[mode] * H
    x, w_ih, w_hh, b_hh = (RNG.standard_normal(s) for s in ((T, B, F), (G, F), (G, H), (G,)))
    initial = (None, None) if mode == "LSTM" else None

    def fn(x, w_ih, w_hh, b_hh):
        out, final = recurrent(mode, x, initial, w_ih, w_hh, None, b_hh, reverse=True)
        return _flat(out, *(final if mode == "LSTM" else (final,)))

    gradcheck(fn, x, w_ih, w_hh, b_hh, positions=(0, 1, 2, 3), device=device, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_layer_gradients_against_finite_differences(device, mode):
    """The whole stacked bidirectional layer: gradients of x, hx and a sample of every Parameter."""
    ms.set_seed(8)
    net = _layer(mode, 2, 2, 2, bidirectional=True, batch_first=True, dtype=ms.float64)
    x, h = RNG.standard_normal((2, 3, 2)), RNG.standard_normal((4, 2, 2))
    lengths = on(device, np.array([3, 1], np.int64))

    def fn(x, h):
        hx = (h, ops.tanh(h)) if mode == "LSTM" else h
        out, h_n = net(x, hx, lengths)
        return _flat(out, *(h_n if mode == "LSTM" else (h_n,)))

    gradcheck(fn, x, h, positions=(0, 1), device=device, rtol=1e-5, atol=1e-6)

    weights = RNG.standard_normal(fn(on(device, x), on(device, h)).shape)
    loss = lambda: float(host(ops.sum(fn(on(device, x), on(device, h)) * on(device, weights))))  # noqa: E731
    params = net.trainable_params()
    grads = ms.grad(lambda x, h: ops.sum(fn(x, h) * on(device, weights)), None, params)(on(device, x),
                                                                                        on(device, h))
    eps = 1e-6
    for param, grad in zip(params, grads):
        values = host(param).copy()
        for k in RNG.choice(values.size, size=2, replace=False):
            probe = values.copy().reshape(-1)
            probe[k] += eps
            param.set_data(on(device, probe.reshape(values.shape)))
            plus = loss()
            probe[k] -= 2 * eps
            param.set_data(on(device, probe.reshape(values.shape)))
            minus = loss()
            param.set_data(on(device, values))
            np.testing.assert_allclose(host(grad).reshape(-1)[k], (plus - minus) / (2 * eps), rtol=1e-5,
                                       atol=1e-6, err_msg=param.name)


@pytest.mark.parametrize("mode", MODES)
def test_cell_gradients(device, mode):
    ms.set_seed(9)
    cell = _cell(mode, 2, 3, dtype=ms.float64)
    x, h, c = RNG.standard_normal((2, 2)), RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    if mode == "RNN_RELU":
        cell.weight_ih.set_data(on(device, np.abs(host(cell.weight_ih))))
        cell.bias_ih.set_data(on(device, np.abs(host(cell.bias_ih)) + 1.0))
        x = np.abs(x)
    if mode == "LSTM":
        gradcheck(lambda x, h, c: _flat(*cell(x, (h, c))), x, h, c, positions=(0, 1, 2), device=device)
    else:
        gradcheck(cell, x, h, positions=(0, 1), device=device)


# -- training, dropout, jit ---------------------------------------------------------------------
class _Classifier(nn.Cell):
    """A bidirectional 2-layer LSTM over padded sequences, classified from both final states."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(2, 4, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Dense(8, 2)
        self.loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")

    def construct(self, x, seq_length, label):
        _, (h_n, _) = self.lstm(x, None, seq_length)
        return self.loss(self.head(ops.concat([h_n[-2], h_n[-1]], 1)), label)


def test_jitted_train_step_matches_eager(device):
    clear_cache()
    rng = np.random.default_rng(1)
    batches = [(on(device, rng.standard_normal((3, 4, 2)).astype(np.float32)),
                on(device, rng.integers(1, 5, 3).astype(np.int32)),
                on(device, rng.integers(0, 2, 3).astype(np.int32))) for _ in range(4)]

    def make():
        ms.set_seed(2)
        net = _Classifier()
        step = nn.TrainOneStepCell(net, nn.Adam(net.trainable_params(), learning_rate=0.01))
        step.set_train()
        return net, step

    eager_net, eager_step = make()
    jit_net, jit_step = make()
    jitted = ms.jit(jit_step)
    for x, lengths, y in batches:  # one plan: the lengths are data, not part of the key
        want = eager_step(x, lengths, y).asnumpy()
        got = jitted(x, lengths, y).asnumpy()
        if device == "CPU":
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for a, b in zip(jit_net.trainable_params(), eager_net.trainable_params()):
        np.testing.assert_allclose(host(a), host(b), rtol=1e-5, atol=1e-6)
    info = cache_info()
    assert info.hits == len(batches) - 1 and info.plans == 1
    if device == "GPU":  # the whole unrolled step is one CUDA graph: every op in it is capturable
        assert info.captures == 1 and info.graph_breaks == 0


def test_dropout_between_layers_only_while_training(device):
    ms.set_seed(10)
    net = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = on(device, RNG.standard_normal((5, 2, 3)).astype(np.float32))
    net.set_train(False)
    ref_out, _ = ref_layers("LSTM", net, host(x).astype(np.float64))
    np.testing.assert_allclose(host(net(x)[0]), ref_out, rtol=1e-5, atol=1e-5)
    net.set_train(True)
    trained = host(net(x)[0])
    assert np.abs(trained - ref_out).max() > 1e-3
    with pytest.warns(UserWarning, match="'GRU'.*dropout"):
        nn.GRU(3, 4, num_layers=1, dropout=0.5)


# -- Parameters, init, dtype, repr ---------------------------------------------------------------
def test_parameter_names_shapes_and_order_are_mindsporess():
    net = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    names = [n for n, _ in net.parameters_and_names()]
    per_kind = lambda kind: [f"{kind}_l{k}{s}" for k in range(2) for s in ("", "_reverse")]  # noqa: E731
    assert names == per_kind("weight_ih") + per_kind("weight_hh") + per_kind("bias_ih") + per_kind("bias_hh")
    assert net.weight_ih_l0.shape == (20, 3) and net.weight_ih_l1_reverse.shape == (20, 10)
    assert net.weight_hh_l1.shape == (20, 5) and net.bias_hh_l0_reverse.shape == (20,)
    assert net.w_ih_list[1] is net.weight_ih_l0_reverse
    assert [n for n, _ in nn.GRU(2, 3, has_bias=False).parameters_and_names()] == ["weight_ih_l0", "weight_hh_l0"]
    assert nn.GRU(2, 3).weight_ih_l0.shape == (9, 2) and nn.RNN(2, 3).weight_hh_l0.shape == (3, 3)

    class Wrapper(nn.Cell):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(2, 3)

    assert [p.name for p in Wrapper().get_parameters()][:2] == ["rnn.weight_ih_l0", "rnn.weight_hh_l0"]
    assert [n for n, _ in nn.LSTMCell(2, 3).parameters_and_names()] == ["weight_ih", "weight_hh", "bias_ih",
                                                                        "bias_hh"]


def test_default_init_is_uniform_within_one_over_sqrt_hidden():
    ms.set_seed(1)
    hidden = 64
    bound = 1 / math.sqrt(hidden)
    for net in (nn.LSTM(50, hidden), nn.GRUCell(50, hidden)):
        for p in net.get_parameters():
            values = host(p)
            assert values.min() >= -bound and values.max() <= bound, p.name
            assert values.max() > 0.9 * bound and values.min() < -0.9 * bound, p.name
            assert p.dtype == ms.float32


def test_dtype_argument_and_input_casting(device):
    net = nn.GRU(2, 3, dtype=ms.float16)
    assert all(p.dtype == ms.float16 for p in net.get_parameters())
    ms.set_seed(12)
    net = nn.RNN(2, 3)
    x = RNG.standard_normal((4, 1, 2))
    out, h_n = net(on(device, x))  # float64 input: the float32 weights are cast to it, as MindSpore does
    assert out.dtype == ms.float64 and h_n.dtype == ms.float64
    np.testing.assert_allclose(host(out), ref_layers("RNN_TANH", net, x)[0], rtol=1e-6)


def test_repr():
    assert repr(nn.GRU(2, 3)) == (
        "GRU(\n  input_size=2, hidden_size=3, num_layers=1, has_bias=True, batch_first=False, dropout=0.0, "
        "bidirectional=False\n  (dropout_op): Dropout(p=0.0)\n)")
    assert repr(nn.RNNCell(2, 3, nonlinearity="relu")) == (
        "RNNCell(input_size=2, hidden_size=3, has_bias=True, nonlinearity=relu)")


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_constructor_errors(cls):
    name = cls.__name__
    with pytest.raises(TypeError, match=f"'{name}'.*'input_size'.*3.0"):
        cls(3.0, 4)
    with pytest.raises(ValueError, match=f"'{name}'.*'hidden_size'.*positive int.*0"):
        cls(3, 0)
    with pytest.raises(ValueError, match=f"'{name}'.*'num_layers'.*-1"):
        cls(3, 4, -1)
    with pytest.raises(TypeError, match=f"'{name}'.*'has_bias'"):
        cls(3, 4, has_bias=1)
    with pytest.raises(TypeError, match=f"'{name}'.*'batch_first'"):
        cls(3, 4, batch_first="yes")
    with pytest.raises(TypeError, match=f"'{name}'.*'bidirectional'"):
        cls(3, 4, bidirectional=None)
    with pytest.raises(TypeError, match=f"'{name}'.*'dropout'.*float"):
        cls(3, 4, dropout=1)
    with pytest.raises(ValueError, match=rf"'{name}'.*'dropout'.*\[0.0, 1.0\).*1.0"):
        cls(3, 4, dropout=1.0)
    with pytest.raises(TypeError, match=f"'{name}'.*'dtype'.*Int32"):
        cls(3, 4, dtype=ms.int32)
    with pytest.raises(ValueError, match=r"'RNN'.*'nonlinearity'.*\['tanh', 'relu'\].*'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(TypeError):
        nn.RNN(3, 4, 1, True, False, 0.0, False, ms.float32, "relu")  # keyword-only, as in MindSpore


def test_construct_errors():
    lstm, gru = nn.LSTM(3, 4, num_layers=2), nn.GRU(3, 4, batch_first=True)
    x = Tensor(np.ones((5, 2, 3), np.float32))
    h = Tensor(np.zeros((2, 2, 4), np.float32))
    with pytest.raises(TypeError, match="'LSTM'.*'x'.*Tensor.*ndarray"):
        lstm(np.ones((5, 2, 3), np.float32))
    with pytest.raises(ValueError, match=r"'LSTM'.*'x'.*\(seq_len, batch_size, input_size\).*\(5, 3\)"):
        lstm(Tensor(np.ones((5, 3), np.float32)))
    with pytest.raises(ValueError, match=r"'GRU'.*'x'.*\(batch_size, seq_len, input_size\).*input_size 3.*\(2, 5, 4\)"):
        gru(Tensor(np.ones((2, 5, 4), np.float32)))
    with pytest.raises(ValueError, match=r"'GRU'.*'x'.*\(2, 0, 3\)"):
        gru(Tensor(np.ones((2, 0, 3), np.float32)))
    with pytest.raises(TypeError, match="'LSTM'.*dtype of 'x'.*Int32"):
        lstm(Tensor(np.ones((5, 2, 3), np.int32)))
    with pytest.raises(TypeError, match="'LSTM'.*'hx'.*tuple.*Tensor"):
        lstm(x, h)
    with pytest.raises(TypeError, match="'LSTM'.*length of 'hx'.*2.*3"):
        lstm(x, (h, h, h))
    with pytest.raises(ValueError, match=r"'LSTM'.*'hx\[1\]'.*\(2, 2, 4\).*\(1, 2, 4\)"):
        lstm(x, (h, Tensor(np.zeros((1, 2, 4), np.float32))))
    with pytest.raises(TypeError, match=r"'LSTM'.*dtype of 'hx\[0\]'.*Float64.*Float32"):
        lstm(x, (Tensor(np.zeros((2, 2, 4))), h))
    with pytest.raises(ValueError, match=r"'GRU'.*'hx'.*\(1, 5, 4\).*\(2, 2, 4\)"):
        gru(Tensor(np.ones((5, 2, 3), np.float32)), h)
    with pytest.raises(TypeError, match="'GRU'.*'hx'.*Tensor.*tuple"):
        gru(Tensor(np.ones((5, 2, 3), np.float32)), (h,))
    with pytest.raises(TypeError, match="'LSTM'.*dtype of 'seq_length'.*Int32 or Int64.*Float32"):
        lstm(x, None, Tensor(np.ones(2, np.float32)))
    with pytest.raises(ValueError, match=r"'LSTM'.*'seq_length'.*\(2,\).*\(3,\)"):
        lstm(x, None, Tensor(np.ones(3, np.int32)))
    with pytest.raises(TypeError, match="'LSTM'.*'seq_length'.*Tensor.*list"):
        lstm(x, None, [5, 5])


def test_cell_errors():
    with pytest.raises(ValueError, match="'RNNCell'.*'nonlinearity'.*'gelu'"):
        nn.RNNCell(2, 3, nonlinearity="gelu")
    with pytest.raises(TypeError, match="'GRUCell'.*'has_bias'"):
        nn.GRUCell(2, 3, has_bias="no")
    with pytest.raises(ValueError, match="'LSTMCell'.*'input_size'.*0"):
        nn.LSTMCell(0, 3)
    cell = nn.GRUCell(2, 3)
    with pytest.raises(ValueError, match=r"'GRUCell'.*'x'.*\(batch_size, input_size\).*\(1, 4, 2\)"):
        cell(Tensor(np.ones((1, 4, 2), np.float32)), Tensor(np.zeros((4, 3), np.float32)))
    with pytest.raises(ValueError, match=r"'GRUCell'.*'hx'.*\(4, 3\).*\(5, 3\)"):
        cell(Tensor(np.ones((4, 2), np.float32)), Tensor(np.zeros((5, 3), np.float32)))
    with pytest.raises(TypeError, match="'LSTMCell'.*'hx'.*tuple"):
        nn.LSTMCell(2, 3)(Tensor(np.ones((4, 2), np.float32)), Tensor(np.zeros((4, 3), np.float32)))
