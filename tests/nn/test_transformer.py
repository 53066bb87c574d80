"""MultiheadAttention, TransformerEncoderLayer / TransformerEncoder and the ops they use (masked_fill,
tril, triu, bmm, swapaxes): float64 NumPy references, finite-difference gradients, jit, errors, and
PyTorch from the same weights where it is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops
from gpucell.jit import clear_cache, function

RNG = np.random.default_rng(17)


def _move(cell, device):
    if device != "CPU":
        for p in cell.get_parameters():
            p.move_to(device)
    return cell


def _params(cell) -> dict:
    return {p.name: p.asnumpy().astype(np.float64) for p in cell.get_parameters()}


# -- the NumPy references ------------------------------------------------------------------------
def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _additive(mask, shape):
    """A Bool mask (True: masked) as -inf / 0, a float mask as it is, broadcast to ``shape``."""
    mask = np.where(mask, -np.inf, 0.0) if mask.dtype == np.bool_ else mask
    return np.broadcast_to(mask, shape)


def mha_reference(p: dict, q, k, v, heads: int, *, prefix="", batch_first=False, attn_mask=None, kpm=None,
                  zero_attn=False, average=True):
    """Multi-head attention in float64 NumPy from the Parameters ``p`` (names as the Cell's)."""
    unbatched = q.ndim == 2
    if unbatched:
        q, k, v = q[:, None], k[:, None], v[:, None]
        kpm = None if kpm is None else kpm[None]
    elif batch_first:
        q, k, v = (t.transpose(1, 0, 2) for t in (q, k, v))
    w_out = p[prefix + "out_proj.weight"]
    e = w_out.shape[0]
    d = e // heads
    if prefix + "in_proj_weight" in p:
        w_q, w_k, w_v = np.split(p[prefix + "in_proj_weight"], 3)
    else:
        w_q, w_k, w_v = (p[prefix + f"{n}_proj_weight"] for n in "qkv")
    b_q, b_k, b_v = np.split(p.get(prefix + "in_proj_bias", np.zeros(3 * e)), 3)
    big_q, big_k, big_v = q @ w_q.T + b_q, k @ w_k.T + b_k, v @ w_v.T + b_v
    length, n, _ = big_q.shape
    src = big_k.shape[0]
    if prefix + "bias_k" in p:
        big_k = np.concatenate([big_k, np.tile(p[prefix + "bias_k"], (1, n, 1))])
        big_v = np.concatenate([big_v, np.tile(p[prefix + "bias_v"], (1, n, 1))])
    split = lambda t: t.reshape(t.shape[0], n, heads, d).transpose(1, 2, 0, 3)  # noqa: E731
    hq, hk, hv = split(big_q), split(big_k), split(big_v)
    if zero_attn:
        hk = np.concatenate([hk, np.zeros((n, heads, 1, d))], axis=2)
        hv = np.concatenate([hv, np.zeros((n, heads, 1, d))], axis=2)
    scores = hq @ hk.transpose(0, 1, 3, 2) / math.sqrt(d)
    add = np.zeros(scores.shape)
    if attn_mask is not None:
        m = attn_mask if attn_mask.ndim == 2 else attn_mask.reshape(n, heads, length, src)
        add[..., :src] += _additive(m, (n, heads, length, src))
    if kpm is not None:
        add[..., :src] += _additive(kpm[:, None, None, :], (n, heads, length, src))
    weights = _softmax(scores + add)
    out = (weights @ hv).transpose(2, 0, 1, 3).reshape(length, n, e) @ w_out.T
    out = out + p.get(prefix + "out_proj.bias", 0.0)
    weights = weights.mean(1) if average else weights
    if unbatched:
        return out[:, 0], weights[0]
    return (out.transpose(1, 0, 2) if batch_first else out), weights


def _layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(-1, keepdims=True) + eps) * gamma + beta


def _gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def residual_blocks_reference(p: dict, x, blocks: list, prefix="", *, norm_first=False, activation="relu",
                              eps=1e-5):
    """``x`` through ``blocks`` (attention, functions of x) and the feedforward block, block i with
    a residual connection and LayerNorm ``norm{i}`` (before the block with ``norm_first``)."""
    def ff(h):
        h = h @ p[prefix + "dense1.weight"].T + p[prefix + "dense1.bias"]
        h = np.maximum(h, 0) if activation == "relu" else _gelu(h)
        return h @ p[prefix + "dense2.weight"].T + p[prefix + "dense2.bias"]

    for i, block in enumerate(list(blocks) + [ff], start=1):
        gamma, beta = p[prefix + f"norm{i}.gamma"], p[prefix + f"norm{i}.beta"]
        x = x + block(_layer_norm(x, gamma, beta, eps)) if norm_first else _layer_norm(x + block(x), gamma, beta, eps)
    return x


def encoder_layer_reference(p: dict, x, heads: int, prefix="", *, norm_first=False, activation="relu",
                            batch_first=False, src_mask=None, kpm=None, eps=1e-5):
    def sa(h):
        return mha_reference(p, h, h, h, heads, prefix=prefix + "self_attn.", batch_first=batch_first,
                             attn_mask=src_mask, kpm=kpm)[0]

    return residual_blocks_reference(p, x, [sa], prefix, norm_first=norm_first, activation=activation, eps=eps)


# -- MultiheadAttention forward ------------------------------------------------------------------
CASES = {
    "plain": {},
    "batch_first": {"batch_first": True},
    "kdim_vdim": {"kdim": 6, "vdim": 5},
    "bool_masks": {"attn_mask": "bool2d", "kpm": "bool"},
    "float_masks_3d": {"attn_mask": "float3d", "kpm": "float"},
    "per_head_weights": {"average": False, "attn_mask": "bool3d"},
    "no_weights": {"need_weights": False, "kpm": "bool"},
    "bias_kv_zero_attn": {"add_bias_kv": True, "add_zero_attn": True, "attn_mask": "bool2d", "kpm": "bool"},
    "no_bias": {"has_bias": False},
}


def _mask(kind, n, heads, length, src):
    if kind is None:
        return None
    if kind == "bool":
        m = RNG.random((n, src)) < 0.3
        m[:, 0] = False  # every mask keeps key 0: a fully masked row is NaN, as in MindSpore
        return m
    if kind == "float":
        return RNG.standard_normal((n, src))
    if kind == "bool2d":
        m = RNG.random((length, src)) < 0.3
        m[:, 0] = False
        return m
    if kind == "bool3d":
        m = RNG.random((n * heads, length, src)) < 0.3
        m[..., 0] = False
        return m
    return RNG.standard_normal((n * heads, length, src))  # float3d


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_multihead_attention_matches_numpy(device, case):
    opts = dict(CASES[case])
    e, heads, length, src, n = 8, 2, 5, 4, 3
    attn_kind, kpm_kind = opts.pop("attn_mask", None), opts.pop("kpm", None)
    need, average = opts.pop("need_weights", True), opts.pop("average", True)
    mha = _move(nn.MultiheadAttention(e, heads, dtype=ms.float64, **opts), device)
    bf = opts.get("batch_first", False)
    shape = lambda s, f: (n, s, f) if bf else (s, n, f)  # noqa: E731
    q = RNG.standard_normal(shape(length, e))
    k = RNG.standard_normal(shape(src, opts.get("kdim", e)))
    v = RNG.standard_normal(shape(src, opts.get("vdim", e)))
    attn_mask, kpm = _mask(attn_kind, n, heads, length, src), _mask(kpm_kind, n, heads, length, src)
    got = mha(on(device, q), on(device, k), on(device, v), key_padding_mask=None if kpm is None else on(device, kpm),
              need_weights=need, attn_mask=None if attn_mask is None else on(device, attn_mask),
              average_attn_weights=average)
    want_out, want_w = mha_reference(_params(mha), q, k, v, heads, batch_first=bf, attn_mask=attn_mask, kpm=kpm,
                                     zero_attn=opts.get("add_zero_attn", False), average=average)
    assert len(got) == (2 if need else 1)
    assert got[0].dtype == ms.float64 and got[0].shape == want_out.shape
    np.testing.assert_allclose(host(got[0]), want_out, rtol=1e-10, atol=1e-12)
    if need:
        assert got[1].shape == ((n, length, want_w.shape[-1]) if average else (n, heads, length, want_w.shape[-1]))
        np.testing.assert_allclose(host(got[1]), want_w, rtol=1e-10, atol=1e-12)


def test_self_attention_and_unbatched_input(device):
    e, heads, length = 8, 4, 6
    mha = _move(nn.MultiheadAttention(e, heads, dtype=ms.float64), device)
    x = RNG.standard_normal((length, e))
    kpm = np.zeros(length, bool)
    kpm[4:] = True
    t = on(device, x)
    out, weights = mha(t, t, t, key_padding_mask=on(device, kpm))  # one Dense for q, k and v
    want_out, want_w = mha_reference(_params(mha), x, x, x, heads, kpm=kpm)
    assert out.shape == (length, e) and weights.shape == (length, length)
    np.testing.assert_allclose(host(out), want_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(host(weights), want_w, rtol=1e-10, atol=1e-12)
    assert np.all(host(weights)[:, 4:] == 0)  # masked keys get no weight


def test_float32_attention_within_float32_tolerance(device):
    mha = _move(nn.MultiheadAttention(16, 4), device)
    x = RNG.standard_normal((7, 2, 16)).astype(np.float32)
    mask = np.triu(np.ones((7, 7), bool), 1)
    out, weights = mha(on(device, x), on(device, x), on(device, x), attn_mask=on(device, mask))
    want_out, want_w = mha_reference(_params(mha), x.astype(np.float64), x, x, 4, attn_mask=mask)
    assert out.dtype == ms.float32
    np.testing.assert_allclose(host(out), want_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(host(weights), want_w, rtol=1e-4, atol=1e-6)


def test_attention_dropout_drops_weights_while_training(device):
    ms.set_seed(3)
    mha = _move(nn.MultiheadAttention(8, 2, dropout=0.5, dtype=ms.float64), device)
    x = on(device, RNG.standard_normal((6, 2, 8)))
    _, eval_w = mha(x, x, x, average_attn_weights=False)
    mha.set_train()
    _, train_w = mha(x, x, x, average_attn_weights=False)
    kept = host(train_w) != 0
    assert 0.2 < kept.mean() < 0.8
    np.testing.assert_allclose(host(train_w)[kept], host(eval_w)[kept] / 0.5, rtol=1e-12)


def test_default_parameters_follow_mindspore():
    mha = nn.MultiheadAttention(8, 2)
    assert [p.name for p in mha.get_parameters()] == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                      "out_proj.bias"]
    assert mha.in_proj_weight.shape == (24, 8) and not host(mha.in_proj_bias).any()
    bound = math.sqrt(6 / (24 + 8))  # XavierUniform on (3E, E)
    assert np.abs(host(mha.in_proj_weight)).max() <= bound
    separate = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True, has_bias=False)
    assert {p.name: p.shape for p in separate.get_parameters()} == {
        "q_proj_weight": (8, 8), "k_proj_weight": (8, 3), "v_proj_weight": (8, 5), "out_proj.weight": (8, 8),
        "bias_k": (1, 1, 8), "bias_v": (1, 1, 8)}
    assert nn.MultiheadAttention(4, 2, dtype=ms.float16).out_proj.weight.dtype == ms.float16


# -- MultiheadAttention gradients ----------------------------------------------------------------
def test_multihead_attention_input_gradients(device):
    mha = _move(nn.MultiheadAttention(4, 2, add_zero_attn=True, dtype=ms.float64), device)
    kpm = on(device, np.array([[False, True, False], [False, False, True]]))
    attn_mask = on(device, np.array([[0.0, 0.5, -1.0]] * 2))
    q, k, v = RNG.standard_normal((2, 2, 4)), RNG.standard_normal((3, 2, 4)), RNG.standard_normal((3, 2, 4))
    gradcheck(lambda q, k, v: mha(q, k, v, attn_mask=attn_mask, key_padding_mask=kpm)[0], q, k, v,
              positions=(0, 1, 2), device=device, rtol=1e-5, atol=1e-7)


def _param_gradcheck(cell, loss_of, params, device, eps=1e-6):
    """ms.grad of ``loss_of()`` with respect to ``params`` against central differences."""
    grads = ms.grad(loss_of, None, params)()
    for param, grad in zip(params, grads):
        base = param.asnumpy().astype(np.float64)
        numeric = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            values = []
            for step in (eps, -eps):
                changed = base.copy()
                changed[i] += step
                param.set_data(on(device, changed))
                values.append(float(host(loss_of())))
            numeric[i] = (values[0] - values[1]) / (2 * eps)
        param.set_data(on(device, base))
        np.testing.assert_allclose(host(grad), numeric, rtol=1e-5, atol=1e-7, err_msg=param.name)


def test_multihead_attention_parameter_gradients(device):
    mha = _move(nn.MultiheadAttention(4, 2, add_bias_kv=True, kdim=3, dtype=ms.float64), device)
    q, k = on(device, RNG.standard_normal((2, 2, 4))), on(device, RNG.standard_normal((3, 2, 3)))
    v = on(device, RNG.standard_normal((3, 2, 4)))
    w = on(device, RNG.standard_normal((2, 2, 4)))

    def loss():
        return ops.sum(mha(q, k, v)[0] * w)

    _param_gradcheck(mha, loss, mha.trainable_params(), device)


# -- the encoder -------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_first,activation,batch_first", [(False, "relu", False), (True, "gelu", True)])
def test_encoder_matches_numpy(device, norm_first, activation, batch_first):
    d, heads, s, n = 8, 2, 5, 3
    layer = nn.TransformerEncoderLayer(d, heads, 16, dropout=0.0, activation=activation, batch_first=batch_first,
                                       norm_first=norm_first, dtype=ms.float64)
    encoder = _move(nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm((d,), epsilon=1e-5, dtype=ms.float64)),
                    device)
    x = RNG.standard_normal((n, s, d) if batch_first else (s, n, d))
    src_mask = np.triu(np.ones((s, s), bool), 1)
    kpm = np.zeros((n, s), bool)
    kpm[0, 3:] = True
    got = encoder(on(device, x), src_mask=on(device, src_mask), src_key_padding_mask=on(device, kpm))
    p = _params(encoder)
    want = x
    for i in range(2):
        want = encoder_layer_reference(p, want, heads, f"layers.{i}.", norm_first=norm_first, activation=activation,
                                       batch_first=batch_first, src_mask=src_mask, kpm=kpm)
    want = _layer_norm(want, p["norm.gamma"], p["norm.beta"], 1e-5)
    np.testing.assert_allclose(host(got), want, rtol=1e-9, atol=1e-10)


def test_encoder_layers_are_deep_copies():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    encoder = nn.TransformerEncoder(layer, 3)
    names = [p.name for p in encoder.get_parameters()]
    assert names[:4] == ["layers.0.self_attn.in_proj_weight", "layers.0.self_attn.in_proj_bias",
                         "layers.0.self_attn.out_proj.weight", "layers.0.self_attn.out_proj.bias"]
    assert len(names) == 3 * len(list(layer.get_parameters())) and len(set(names)) == len(names)
    first, second = encoder.layers[0].dense1.weight, encoder.layers[1].dense1.weight
    assert first is not second and first is not layer.dense1.weight
    np.testing.assert_array_equal(host(first), host(layer.dense1.weight))


def test_encoder_layer_gradients(device):
    ms.set_seed(1)
    layer = _move(nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, dtype=ms.float64), device)
    mask = on(device, np.array([[False, False, True], [False, False, False]]))
    gradcheck(lambda x: layer(x, src_key_padding_mask=mask), RNG.standard_normal((3, 2, 4)), device=device,
              rtol=1e-5, atol=1e-7)
    x, w = on(device, RNG.standard_normal((3, 2, 4))), on(device, RNG.standard_normal((3, 2, 4)))
    params = [layer.self_attn.in_proj_weight, layer.dense1.bias, layer.norm1.gamma]
    _param_gradcheck(layer, lambda: ops.sum(layer(x, src_key_padding_mask=mask) * w), params, device)


def test_jitted_train_step_matches_eager(device):
    def make():
        ms.set_seed(5)
        layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        body = nn.SequentialCell([nn.TransformerEncoder(layer, 2), nn.Flatten(), nn.Dense(4 * 8, 3)])
        net = _move(body, device)
        loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
        return nn.TrainOneStepCell(nn.WithLossCell(net, loss), nn.SGD(net.trainable_params(), 0.1))

    clear_cache()
    eager, jitted = make(), make()
    eager.set_train()
    jitted.set_train()
    step = ms.jit(jitted)
    for _ in range(3):
        x = on(device, RNG.standard_normal((5, 4, 8)).astype(np.float32))
        y = on(device, RNG.integers(0, 3, 5).astype(np.int32))
        np.testing.assert_allclose(host(step(x, y)), host(eager(x, y)), rtol=1e-5, atol=1e-6)
    for a, b in zip(jitted.network.trainable_params(), eager.network.trainable_params()):
        np.testing.assert_allclose(host(a), host(b), rtol=1e-5, atol=1e-6)
    (plan,) = function.PLANS._plans.values()
    if device == "GPU":
        assert plan.executor.kind == "cuda-graph" and not plan.executor.failed
        assert plan.executor.graph_breaks == 0
    clear_cache()


# -- errors ---------------------------------------------------------------------------------------
def test_constructor_errors():
    with pytest.raises(ValueError, match="For 'MultiheadAttention', the 'embed_dim' \\(10\\) must be divisible"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="For 'MultiheadAttention', the 'num_heads' must be a positive int"):
        nn.MultiheadAttention(8, 0)
    with pytest.raises(ValueError, match="'dropout' must be in range"):
        nn.MultiheadAttention(8, 2, dropout=1.0)
    with pytest.raises(TypeError, match="For 'MultiheadAttention', the 'dtype' must be a float type"):
        nn.MultiheadAttention(8, 2, dtype=ms.int32)
    with pytest.raises(ValueError, match="For 'TransformerEncoderLayer', the 'activation' must be 'relu' or 'gelu'"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match="an 'activation' Cell must be nn.ReLU or nn.GELU, but got Tanh"):
        nn.TransformerEncoderLayer(8, 2, activation=nn.Tanh())
    with pytest.raises(ValueError, match="For 'TransformerEncoderLayer', the 'd_model' \\(8\\) must be divisible"):
        nn.TransformerEncoderLayer(8, 3)
    with pytest.raises(TypeError, match="For 'TransformerEncoder', the 'encoder_layer' must be a "
                                        "TransformerEncoderLayer, but got Dense"):
        nn.TransformerEncoder(nn.Dense(2, 2), 2)
    with pytest.raises(ValueError, match="For 'TransformerEncoder', the 'num_layers' must be a positive int"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 0)
    assert nn.TransformerEncoderLayer(8, 2, 16, activation=ops.gelu).activation is ops.gelu
    assert isinstance(nn.TransformerEncoderLayer(8, 2, 16, activation=nn.GELU()).activation, nn.GELU)


def test_input_and_mask_errors_name_the_cell_and_argument():
    mha = nn.MultiheadAttention(8, 2)
    x = Tensor(np.zeros((5, 3, 8), np.float32))
    with pytest.raises(ValueError, match="For 'MultiheadAttention', the shape of 'key_padding_mask' must be "
                                         "\\(3, 5\\).*but got \\(5, 3\\)"):
        mha(x, x, x, key_padding_mask=Tensor(np.zeros((5, 3), bool)))
    with pytest.raises(ValueError, match="For 'MultiheadAttention', the shape of 'attn_mask' must be \\(5, 5\\) or "
                                         "\\(6, 5, 5\\).*but got \\(3, 5, 5\\)"):
        mha(x, x, x, attn_mask=Tensor(np.zeros((3, 5, 5), bool)))
    with pytest.raises(TypeError, match="For 'MultiheadAttention', the 'key_padding_mask' must be a bool or float "
                                        "Tensor, but got Int32"):
        mha(x, x, x, key_padding_mask=Tensor(np.zeros((3, 5), np.int32)))
    with pytest.raises(ValueError, match="the last dim of 'key' must equal kdim \\(8\\), but got shape \\(5, 3, 4\\)"):
        mha(x, Tensor(np.zeros((5, 3, 4), np.float32)), x)
    with pytest.raises(ValueError, match="the 'key' and 'value' must have the same length and batch size"):
        mha(x, x, Tensor(np.zeros((4, 3, 8), np.float32)))
    with pytest.raises(ValueError, match="the batch size of 'query' \\(5, 3, 8\\) and 'key' \\(5, 2, 8\\)"):
        mha(x, Tensor(np.zeros((5, 2, 8), np.float32)), Tensor(np.zeros((5, 2, 8), np.float32)))
    with pytest.raises(ValueError, match="must all be 3-D \\(batched\\) or all 2-D"):
        mha(x, x[0], x[0])
    with pytest.raises(TypeError, match="the dtype of 'query' must be Float32 \\(the dtype of the Parameters\\), "
                                        "but got Float64"):
        mha(x.astype(ms.float64), x, x)
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match="For 'TransformerEncoderLayer', the shape of 'src_mask' must be"):
        layer(x, src_mask=Tensor(np.zeros((3, 3), bool)))
    with pytest.raises(ValueError, match="For 'TransformerEncoderLayer', the shape of 'src_key_padding_mask'"):
        layer(x, src_key_padding_mask=Tensor(np.zeros((5, 3), bool)))
    with pytest.raises(TypeError, match="For 'TransformerEncoderLayer', the 'src_mask' must be a bool, uint8 or "
                                        "float Tensor, but got Int64"):
        layer(x, src_mask=Tensor(np.zeros((5, 5), np.int64)))
    with pytest.raises(ValueError, match="For 'TransformerEncoderLayer', the 'src' must be"):
        layer(Tensor(np.zeros((5, 3, 4), np.float32)))


def test_byte_attn_mask_is_a_bool_mask():
    mha = nn.MultiheadAttention(4, 1)
    x = Tensor(RNG.standard_normal((3, 1, 4)).astype(np.float32))
    mask = np.triu(np.ones((3, 3), np.uint8), 1)
    _, by_byte = mha(x, x, x, attn_mask=Tensor(mask))
    _, by_bool = mha(x, x, x, attn_mask=Tensor(mask.astype(bool)))
    np.testing.assert_array_equal(host(by_byte), host(by_bool))
    assert host(by_bool)[0, 0, 1:].tolist() == [0.0, 0.0]


# -- the ops --------------------------------------------------------------------------------------
def test_masked_fill_forward_and_gradients(device):
    x = RNG.standard_normal((3, 4))
    mask = RNG.random((1, 4)) < 0.5
    got = ops.masked_fill(on(device, x), on(device, mask), -2.5)
    np.testing.assert_array_equal(host(got), np.where(mask, -2.5, x))
    value = on(device, np.array(1.5, np.float32))
    got = ops.masked_fill(on(device, x.astype(np.float32)), on(device, mask), value)
    np.testing.assert_array_equal(host(got), np.where(mask, 1.5, x).astype(np.float32))
    gradcheck(lambda x, v: ops.masked_fill(x, on(device, mask), v), x, np.array(0.3), positions=(0, 1),
              device=device)


def test_triangles_bmm_and_swapaxes_forward_and_gradients(device):
    a = RNG.standard_normal((2, 3, 4))
    for diagonal in (-1, 0, 2):
        np.testing.assert_array_equal(host(ops.tril(on(device, a), diagonal)), np.tril(a, diagonal))
        np.testing.assert_array_equal(host(ops.triu(on(device, a), diagonal)), np.triu(a, diagonal))
    gradcheck(lambda t: ops.tril(t, 1), a, device=device)
    gradcheck(lambda t: ops.triu(t, -1), a, device=device)
    b = RNG.standard_normal((1, 4, 5))
    np.testing.assert_allclose(host(ops.bmm(on(device, a), on(device, b))), a @ b, rtol=1e-12)
    gradcheck(ops.bmm, a, b, positions=(0, 1), device=device)
    np.testing.assert_array_equal(host(ops.swapaxes(on(device, a), 0, -1)), np.swapaxes(a, 0, -1))
    gradcheck(lambda t: ops.swapaxes(t, 1, 2), a, device=device)


def test_op_errors():
    x = Tensor(np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match="For 'MaskedFill', the dtype of 'mask' must be Bool, but got Int32"):
        ops.masked_fill(x, Tensor(np.zeros((2, 3), np.int32)), 1.0)
    with pytest.raises(ValueError, match="For 'MaskedFill', the shape of 'mask' \\(4,\\) must broadcast"):
        ops.masked_fill(x, Tensor(np.zeros(4, bool)), 1.0)
    with pytest.raises(TypeError, match="For 'MaskedFill', a float 'value' \\(0.5\\) cannot fill a Int32"):
        ops.masked_fill(Tensor(np.zeros(2, np.int32)), Tensor(np.ones(2, bool)), 0.5)
    with pytest.raises(TypeError, match="For 'MaskedFill', a Float32 'value' cannot fill a Int32 'input_x'"):
        ops.masked_fill(Tensor(np.zeros(2, np.int32)), Tensor(np.ones(2, bool)), Tensor(np.float32(0.5)))
    with pytest.raises(ValueError, match="For 'MaskedFill', a Tensor 'value' must be 0-D, but got shape \\(2,\\)"):
        ops.masked_fill(x, Tensor(np.ones(3, bool)), Tensor(np.ones(2, np.float32)))
    with pytest.raises(TypeError, match="For 'MaskedFill', the 'value' must be a number or a 0-D Tensor"):
        ops.masked_fill(x, Tensor(np.ones(3, bool)), "1")
    with pytest.raises(ValueError, match="For 'Tril', the dimension of 'input' must be at least 2, but got 1"):
        ops.tril(Tensor(np.zeros(3, np.float32)))
    with pytest.raises(TypeError, match="For 'Triu', the 'diagonal' must be an int"):
        ops.triu(x, 0.5)
    with pytest.raises(ValueError, match="For 'BatchMatMul', the dimension of 'mat2' must be at least 3"):
        ops.bmm(Tensor(np.zeros((1, 2, 3), np.float32)), x)
    with pytest.raises(ValueError, match="For 'BatchMatMul', the input dimensions must be equal"):
        ops.bmm(Tensor(np.zeros((1, 2, 3), np.float32)), Tensor(np.zeros((1, 2, 3), np.float32)))
    with pytest.raises(ValueError, match="For 'swapaxes', the 'axis1' must be in range \\[-2, 2\\), but got 2"):
        ops.swapaxes(x, 0, 2)


# -- PyTorch from the same weights ----------------------------------------------------------------
def _torch_state(cell, torch):
    renames = (("dense1", "linear1"), ("dense2", "linear2"), ("gamma", "weight"), ("beta", "bias"))
    state = {}
    for p in cell.get_parameters():
        name = p.name
        for a, b in renames:
            name = name.replace(a, b)
        state[name] = torch.tensor(p.asnumpy().astype(np.float64))
    return state


def test_against_pytorch_from_the_same_weights():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, kdim=6, vdim=5, add_bias_kv=True, add_zero_attn=True, batch_first=True,
                                dtype=ms.float64)
    twin = torch.nn.MultiheadAttention(8, 2, kdim=6, vdim=5, add_bias_kv=True, add_zero_attn=True,
                                       batch_first=True, dtype=torch.float64)
    twin.load_state_dict(_torch_state(mha, torch))
    q, k, v = RNG.standard_normal((3, 5, 8)), RNG.standard_normal((3, 4, 6)), RNG.standard_normal((3, 4, 5))
    kpm = RNG.random((3, 4)) < 0.3
    kpm[:, 0] = False
    out, weights = mha(Tensor(q), Tensor(k), Tensor(v), key_padding_mask=Tensor(kpm), average_attn_weights=False)
    t_out, t_weights = twin(*(torch.tensor(a) for a in (q, k, v)), key_padding_mask=torch.tensor(kpm),
                            average_attn_weights=False)
    np.testing.assert_allclose(host(out), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(host(weights), t_weights.detach().numpy(), rtol=1e-10, atol=1e-12)

    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu", norm_first=True, dtype=ms.float64)
    encoder = nn.TransformerEncoder(layer, 2)
    t_layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu", norm_first=True,
                                               dtype=torch.float64)
    t_encoder = torch.nn.TransformerEncoder(t_layer, 2, enable_nested_tensor=False).eval()
    t_encoder.load_state_dict(_torch_state(encoder, torch))
    x, mask = RNG.standard_normal((6, 2, 8)), np.triu(np.ones((6, 6), bool), 1)
    got = encoder(Tensor(x), src_mask=Tensor(mask))
    want = t_encoder(torch.tensor(x), mask=torch.tensor(mask)).detach().numpy()
    np.testing.assert_allclose(host(got), want, rtol=1e-10, atol=1e-12)
