"""TransformerDecoderLayer, TransformerDecoder and Transformer: float64 NumPy references (built on
the attention reference of test_transformer.py), finite-difference gradients, masks, batch_first,
norm_first, unbatched input, MindSpore's names and initialisation, a jitted training step, errors,
and PyTorch from the same weights where it is installed."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from nn_testing import check_jitted_training, gradcheck, host, on
from test_transformer import (
    _layer_norm,
    _move,
    _param_gradcheck,
    _params,
    _torch_state,
    encoder_layer_reference,
    mha_reference,
    residual_blocks_reference,
)

import gpucell as ms
from gpucell import Tensor, nn, ops

RNG = np.random.default_rng(23)


# -- the NumPy references ------------------------------------------------------------------------
def decoder_layer_reference(p: dict, x, memory, heads: int, prefix="", *, norm_first=False, activation="relu",
                            batch_first=False, tgt_mask=None, memory_mask=None, tgt_kpm=None, memory_kpm=None,
                            eps=1e-5):
    def sa(h):
        return mha_reference(p, h, h, h, heads, prefix=prefix + "self_attn.", batch_first=batch_first,
                             attn_mask=tgt_mask, kpm=tgt_kpm)[0]

    def ca(h):
        return mha_reference(p, h, memory, memory, heads, prefix=prefix + "multihead_attn.",
                             batch_first=batch_first, attn_mask=memory_mask, kpm=memory_kpm)[0]

    return residual_blocks_reference(p, x, [sa, ca], prefix, norm_first=norm_first, activation=activation, eps=eps)


def transformer_reference(p: dict, src, tgt, heads: int, layers: tuple, *, src_mask=None, tgt_mask=None,
                          memory_mask=None, src_kpm=None, tgt_kpm=None, memory_kpm=None, **options):
    """Transformer in float64 NumPy: encoder layers, its LayerNorm, decoder layers, its LayerNorm."""
    memory = src
    for i in range(layers[0]):
        memory = encoder_layer_reference(p, memory, heads, f"encoder.layers.{i}.", src_mask=src_mask, kpm=src_kpm,
                                         **options)
    memory = _layer_norm(memory, p["encoder.norm.gamma"], p["encoder.norm.beta"], 1e-5)
    out = tgt
    for i in range(layers[1]):
        out = decoder_layer_reference(p, out, memory, heads, f"decoder.layers.{i}.", tgt_mask=tgt_mask,
                                      memory_mask=memory_mask, tgt_kpm=tgt_kpm, memory_kpm=memory_kpm, **options)
    return _layer_norm(out, p["decoder.norm.gamma"], p["decoder.norm.beta"], 1e-5)


def _padding(n, length, row, start):
    kpm = np.zeros((n, length), bool)
    kpm[row, start:] = True
    return kpm


def _optional(device, array):
    return None if array is None else on(device, array)


# -- forward --------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_first,activation,batch_first", [(False, "relu", False), (True, "gelu", True)])
def test_decoder_matches_numpy(device, norm_first, activation, batch_first):
    d, heads, t, s, n = 8, 2, 4, 5, 3
    layer = nn.TransformerDecoderLayer(d, heads, 16, dropout=0.0, activation=activation, batch_first=batch_first,
                                       norm_first=norm_first, dtype=ms.float64)
    decoder = _move(nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm((d,), epsilon=1e-5, dtype=ms.float64)),
                    device)
    x = RNG.standard_normal((n, t, d) if batch_first else (t, n, d))
    memory = RNG.standard_normal((n, s, d) if batch_first else (s, n, d))
    tgt_mask = np.triu(np.ones((t, t), bool), 1)  # causal
    memory_mask = RNG.standard_normal((n * heads, t, s))  # float, per batch and head
    tgt_kpm, memory_kpm = _padding(n, t, 1, 2), RNG.standard_normal((n, s))
    got = decoder(on(device, x), on(device, memory), tgt_mask=on(device, tgt_mask),
                  memory_mask=on(device, memory_mask), tgt_key_padding_mask=on(device, tgt_kpm),
                  memory_key_padding_mask=on(device, memory_kpm))
    p = _params(decoder)
    want = x
    for i in range(2):
        want = decoder_layer_reference(p, want, memory, heads, f"layers.{i}.", norm_first=norm_first,
                                       activation=activation, batch_first=batch_first, tgt_mask=tgt_mask,
                                       memory_mask=memory_mask, tgt_kpm=tgt_kpm, memory_kpm=memory_kpm)
    want = _layer_norm(want, p["norm.gamma"], p["norm.beta"], 1e-5)
    assert got.shape == want.shape and got.dtype == ms.float64
    np.testing.assert_allclose(host(got), want, rtol=1e-9, atol=1e-10)


def test_unbatched_decoder_layer_and_byte_mask(device):
    d, heads, t, s = 8, 4, 3, 6
    layer = _move(nn.TransformerDecoderLayer(d, heads, 12, dropout=0.0, dtype=ms.float64), device)
    x, memory = RNG.standard_normal((t, d)), RNG.standard_normal((s, d))
    memory_mask = np.zeros((t, s), np.uint8)
    memory_mask[:, 4:] = 1  # a byte mask: nonzero is masked
    memory_kpm = np.zeros(s, bool)
    memory_kpm[3] = True
    got = layer(on(device, x), on(device, memory), memory_mask=on(device, memory_mask),
                memory_key_padding_mask=on(device, memory_kpm))
    want = decoder_layer_reference(_params(layer), x, memory, heads, memory_mask=memory_mask.astype(bool),
                                   memory_kpm=memory_kpm)
    assert got.shape == (t, d)
    np.testing.assert_allclose(host(got), want, rtol=1e-9, atol=1e-10)


def test_float32_decoder_within_float32_tolerance(device):
    layer = _move(nn.TransformerDecoderLayer(16, 4, 32, dropout=0.0), device)
    x, memory = RNG.standard_normal((5, 2, 16)).astype(np.float32), RNG.standard_normal((7, 2, 16)).astype(np.float32)
    got = layer(on(device, x), on(device, memory), tgt_mask=on(device, np.triu(np.ones((5, 5), bool), 1)))
    want = decoder_layer_reference(_params(layer), x.astype(np.float64), memory.astype(np.float64), 4,
                                   tgt_mask=np.triu(np.ones((5, 5), bool), 1))
    assert got.dtype == ms.float32
    np.testing.assert_allclose(host(got), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_numpy(device, batch_first):
    d, heads, s, t, n = 8, 2, 5, 4, 2
    model = _move(nn.Transformer(d, heads, 2, 1, 16, dropout=0.0, activation="gelu", batch_first=batch_first,
                                 dtype=ms.float64), device)
    src = RNG.standard_normal((n, s, d) if batch_first else (s, n, d))
    tgt = RNG.standard_normal((n, t, d) if batch_first else (t, n, d))
    masks = {"src_mask": RNG.standard_normal((s, s)), "tgt_mask": np.triu(np.ones((t, t), bool), 1),
             "memory_mask": RNG.random((t, s)) < 0.3, "src_kpm": _padding(n, s, 0, 4), "tgt_kpm": None,
             "memory_kpm": _padding(n, s, 1, 3)}
    masks["memory_mask"][:, 0] = False  # every query keeps a key: a fully masked row is NaN
    got = model(on(device, src), on(device, tgt), src_mask=on(device, masks["src_mask"]),
                tgt_mask=on(device, masks["tgt_mask"]), memory_mask=on(device, masks["memory_mask"]),
                src_key_padding_mask=on(device, masks["src_kpm"]),
                memory_key_padding_mask=on(device, masks["memory_kpm"]))
    want = transformer_reference(_params(model), src, tgt, heads, (2, 1), activation="gelu",
                                 batch_first=batch_first, **masks)
    assert got.shape == want.shape
    np.testing.assert_allclose(host(got), want, rtol=1e-9, atol=1e-10)


def test_unbatched_transformer(device):
    model = _move(nn.Transformer(4, 2, 1, 1, 8, dropout=0.0, dtype=ms.float64), device)
    src, tgt = RNG.standard_normal((5, 4)), RNG.standard_normal((3, 4))
    kpm = np.array([False, False, False, True, True])
    got = model(on(device, src), on(device, tgt), src_key_padding_mask=on(device, kpm),
                memory_key_padding_mask=on(device, kpm))
    want = transformer_reference(_params(model), src, tgt, 2, (1, 1), src_kpm=kpm, memory_kpm=kpm)
    assert got.shape == (3, 4)
    np.testing.assert_allclose(host(got), want, rtol=1e-9, atol=1e-10)


def test_dropout_only_while_training(device):
    ms.set_seed(4)
    layer = _move(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.5, dtype=ms.float64), device)
    x, memory = on(device, RNG.standard_normal((4, 2, 8))), on(device, RNG.standard_normal((3, 2, 8)))
    want = decoder_layer_reference(_params(layer), host(x), host(memory), 2)
    np.testing.assert_allclose(host(layer(x, memory)), want, rtol=1e-9, atol=1e-10)
    layer.set_train()
    assert not np.allclose(host(layer(x, memory)), want)


# -- names, defaults, initialisation --------------------------------------------------------------
def test_signatures_and_defaults_follow_mindspore():
    def defaults(cls):
        return {k: v.default for k, v in inspect.signature(cls.__init__).parameters.items() if k != "self"}

    assert defaults(nn.TransformerDecoderLayer) == {
        "d_model": inspect.Parameter.empty, "nhead": inspect.Parameter.empty, "dim_feedforward": 2048,
        "dropout": 0.1, "activation": "relu", "layer_norm_eps": 1e-5, "batch_first": False, "norm_first": False,
        "dtype": ms.float32}
    assert defaults(nn.TransformerDecoder) == {"decoder_layer": inspect.Parameter.empty,
                                               "num_layers": inspect.Parameter.empty, "norm": None}
    assert defaults(nn.Transformer) == {
        "d_model": 512, "nhead": 8, "num_encoder_layers": 6, "num_decoder_layers": 6, "dim_feedforward": 2048,
        "dropout": 0.1, "activation": "relu", "custom_encoder": None, "custom_decoder": None,
        "layer_norm_eps": 1e-5, "batch_first": False, "norm_first": False, "dtype": ms.float32}
    assert list(inspect.signature(nn.Transformer.construct).parameters)[1:] == [
        "src", "tgt", "src_mask", "tgt_mask", "memory_mask", "src_key_padding_mask", "tgt_key_padding_mask",
        "memory_key_padding_mask"]
    assert list(inspect.signature(nn.TransformerDecoderLayer.construct).parameters)[1:] == [
        "tgt", "memory", "tgt_mask", "memory_mask", "tgt_key_padding_mask", "memory_key_padding_mask"]


def test_decoder_parameter_names_and_copies():
    layer = nn.TransformerDecoderLayer(8, 2, 16)
    assert [p.name for p in layer.get_parameters()] == [
        f"{block}.{name}" for block in ("self_attn", "multihead_attn")
        for name in ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")] + [
        "dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias", "norm1.gamma", "norm1.beta",
        "norm2.gamma", "norm2.beta", "norm3.gamma", "norm3.beta"]
    assert (layer.d_model, layer.nhead, layer.dim_feedforward, layer.dropout_num, layer.activation1,
            layer.layernorm_eps) == (8, 2, 16, 0.1, "relu", 1e-5)
    decoder = nn.TransformerDecoder(layer, 3)
    names = [p.name for p in decoder.get_parameters()]
    assert names[4] == "layers.0.multihead_attn.in_proj_weight" and names[-1] == "layers.2.norm3.beta"
    assert len(set(names)) == len(names) == 3 * 18
    first, second = decoder.layers[0].multihead_attn.in_proj_weight, decoder.layers[1].multihead_attn.in_proj_weight
    assert first is not second
    np.testing.assert_array_equal(host(first), host(layer.multihead_attn.in_proj_weight))


def test_transformer_initialises_matrices_xavier_uniform():
    ms.set_seed(0)
    model = nn.Transformer(16, 4, 1, 2, 32)
    params = {p.name: p for p in model.get_parameters()}
    assert len(params) == 12 + 2 + 2 * 18 + 2
    for name, p in params.items():
        values = host(p)
        if p.ndim > 1:
            fan_out, fan_in = p.shape
            bound = math.sqrt(6 / (fan_in + fan_out))
            assert np.abs(values).max() <= bound, name
            assert np.abs(values).max() > 0.8 * bound, name  # drawn from the whole range
            assert abs(values.std() - bound / math.sqrt(3)) < 0.25 * bound, name
        elif name.endswith("gamma"):
            assert np.all(values == 1), name
        elif "norm" in name or name.endswith("in_proj_bias"):
            assert np.all(values == 0), name
    # dense2 (32 -> 16) would be bounded by 1/sqrt(32) under Dense's own init; Xavier allows more.
    assert np.abs(host(params["decoder.layers.1.dense2.weight"])).max() > 1 / math.sqrt(32)


def test_custom_encoder_and_decoder_are_used_and_reinitialised():
    ms.set_seed(2)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=ms.float64), 1)
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, dtype=ms.float64), 1)
    before = host(encoder.layers[0].dense1.weight).copy()
    model = nn.Transformer(8, 2, custom_encoder=encoder, custom_decoder=decoder)
    assert model.encoder is encoder and model.decoder is decoder
    assert not np.array_equal(host(encoder.layers[0].dense1.weight), before)
    src, tgt = RNG.standard_normal((5, 2, 8)), RNG.standard_normal((3, 2, 8))
    p = _params(model)
    memory = encoder_layer_reference(p, src, 2, "encoder.layers.0.")
    want = decoder_layer_reference(p, tgt, memory, 2, "decoder.layers.0.")
    np.testing.assert_allclose(host(model(Tensor(src), Tensor(tgt))), want, rtol=1e-9, atol=1e-10)


# -- gradients ------------------------------------------------------------------------------------
def test_decoder_layer_gradients(device):
    ms.set_seed(1)
    layer = _move(nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, norm_first=True, dtype=ms.float64), device)
    tgt_mask = on(device, np.triu(np.ones((3, 3), bool), 1))
    memory_kpm = on(device, np.array([[False, True], [False, False]]))
    gradcheck(lambda x, m: layer(x, m, tgt_mask=tgt_mask, memory_key_padding_mask=memory_kpm),
              RNG.standard_normal((3, 2, 4)), RNG.standard_normal((2, 2, 4)), positions=(0, 1), device=device,
              rtol=1e-5, atol=1e-7)
    x, m = on(device, RNG.standard_normal((3, 2, 4))), on(device, RNG.standard_normal((2, 2, 4)))
    w = on(device, RNG.standard_normal((3, 2, 4)))
    params = [layer.multihead_attn.in_proj_weight, layer.multihead_attn.out_proj.bias, layer.norm3.gamma,
              layer.dense2.weight]
    _param_gradcheck(layer, lambda: ops.sum(layer(x, m, tgt_mask=tgt_mask, memory_key_padding_mask=memory_kpm) * w),
                     params, device)


def test_transformer_input_gradients(device):
    ms.set_seed(3)
    model = _move(nn.Transformer(4, 2, 1, 1, 6, dropout=0.0, batch_first=True, dtype=ms.float64), device)
    tgt_mask = on(device, np.triu(np.ones((2, 2), bool), 1))
    gradcheck(lambda s, t: model(s, t, tgt_mask=tgt_mask), RNG.standard_normal((2, 3, 4)),
              RNG.standard_normal((2, 2, 4)), positions=(0, 1), device=device, rtol=1e-5, atol=1e-7)


# -- jit ------------------------------------------------------------------------------------------
class _Seq2Seq(nn.Cell):
    """(N, S + T, E) -> logits: a Transformer over the first S steps (src) and the last T (tgt),
    with a causal tgt_mask, then Flatten and Dense."""

    def __init__(self, device, s=3, t=2, d=8):
        super().__init__()
        self.s = s
        self.model = nn.Transformer(d, 2, 1, 1, 16, dropout=0.0, batch_first=True)
        self.head = nn.Dense(t * d, 3)
        self.causal = on(device, np.triu(np.ones((t, t), bool), 1))
        _move(self, device)

    def construct(self, x):
        out = self.model(x[:, :self.s], x[:, self.s:], tgt_mask=self.causal)
        return self.head(ops.flatten(out))


def test_jitted_train_step_matches_eager(device):
    def make():
        ms.set_seed(5)
        return _Seq2Seq(device)

    batches = [(RNG.standard_normal((4, 5, 8)).astype(np.float32), RNG.integers(0, 3, 4).astype(np.int32))
               for _ in range(3)]
    check_jitted_training(make, batches, device)


# -- errors ---------------------------------------------------------------------------------------
def test_constructor_errors():
    with pytest.raises(ValueError, match="For 'TransformerDecoderLayer', the 'd_model' \\(8\\) must be divisible"):
        nn.TransformerDecoderLayer(8, 3)
    with pytest.raises(ValueError, match="For 'TransformerDecoderLayer', the 'activation' must be 'relu' or 'gelu'"):
        nn.TransformerDecoderLayer(8, 2, activation="swish")
    with pytest.raises(ValueError, match="For 'TransformerDecoderLayer', the 'dropout' must be in range"):
        nn.TransformerDecoderLayer(8, 2, dropout=1.5)
    with pytest.raises(TypeError, match="For 'TransformerDecoderLayer', the 'dtype' must be a float type"):
        nn.TransformerDecoderLayer(8, 2, dtype=ms.int32)
    with pytest.raises(TypeError, match="For 'TransformerDecoder', the 'decoder_layer' must be a "
                                        "TransformerDecoderLayer, but got TransformerEncoderLayer"):
        nn.TransformerDecoder(nn.TransformerEncoderLayer(8, 2, 16), 2)
    with pytest.raises(TypeError, match="For 'TransformerEncoder', the 'encoder_layer' must be a "
                                        "TransformerEncoderLayer, but got TransformerDecoderLayer"):
        nn.TransformerEncoder(nn.TransformerDecoderLayer(8, 2, 16), 2)
    with pytest.raises(ValueError, match="For 'TransformerDecoder', the 'num_layers' must be a positive int"):
        nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 0)
    with pytest.raises(TypeError, match="For 'TransformerDecoder', the 'norm' must be a Cell or None"):
        nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 1, norm="layernorm")
    with pytest.raises(TypeError, match="For 'Transformer', the 'custom_encoder' must be a Cell or None, but got "
                                        "str"):
        nn.Transformer(8, 2, custom_encoder="encoder")
    with pytest.raises(ValueError, match="For 'Transformer', the 'd_model' must be a positive int"):
        nn.Transformer(0, 2)
    with pytest.raises(ValueError, match="For 'TransformerEncoderLayer', the 'd_model' \\(8\\) must be divisible"):
        nn.Transformer(8, 3, 1, 1, 16)


def test_input_and_mask_errors_name_the_cell_and_argument():
    layer = nn.TransformerDecoderLayer(8, 2, 16)
    x, memory = Tensor(np.zeros((4, 3, 8), np.float32)), Tensor(np.zeros((5, 3, 8), np.float32))
    with pytest.raises(ValueError, match="For 'TransformerDecoderLayer', the 'tgt' must be \\(L, N, d_model\\).*"
                                         "but got shape \\(4, 3, 6\\)"):
        layer(Tensor(np.zeros((4, 3, 6), np.float32)), memory)
    with pytest.raises(TypeError, match="For 'TransformerDecoderLayer', the 'memory' must be a Tensor, but got "
                                        "ndarray"):
        layer(x, np.zeros((5, 3, 8), np.float32))
    with pytest.raises(ValueError, match="For 'TransformerDecoderLayer', the 'tgt' and 'memory' must both be "
                                         "batched with the same batch size"):
        layer(x, Tensor(np.zeros((5, 2, 8), np.float32)))
    with pytest.raises(ValueError, match="the 'tgt' and 'memory' must both be batched"):
        layer(x, memory[:, 0])
    with pytest.raises(ValueError, match="For 'TransformerDecoderLayer', the shape of 'tgt_mask' must be \\(4, 4\\)"):
        layer(x, memory, tgt_mask=Tensor(np.zeros((4, 5), bool)))
    with pytest.raises(ValueError, match="For 'TransformerDecoderLayer', the shape of 'memory_mask' must be "
                                         "\\(4, 5\\) or \\(6, 4, 5\\).*but got \\(4, 4\\)"):
        layer(x, memory, memory_mask=Tensor(np.zeros((4, 4), bool)))
    with pytest.raises(ValueError, match="the shape of 'tgt_key_padding_mask' must be \\(3, 4\\)"):
        layer(x, memory, tgt_key_padding_mask=Tensor(np.zeros((3, 5), bool)))
    with pytest.raises(ValueError, match="the shape of 'memory_key_padding_mask' must be \\(3, 5\\)"):
        layer(x, memory, memory_key_padding_mask=Tensor(np.zeros((3, 4), bool)))
    with pytest.raises(TypeError, match="For 'TransformerDecoderLayer', the 'memory_key_padding_mask' must be a "
                                        "bool or float Tensor, but got Int32"):
        layer(x, memory, memory_key_padding_mask=Tensor(np.zeros((3, 5), np.int32)))
    model = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(ValueError, match="For 'Transformer', the 'tgt' must be .*d_model 8, but got shape "
                                         "\\(4, 3, 7\\)"):
        model(memory, Tensor(np.zeros((4, 3, 7), np.float32)))
    with pytest.raises(ValueError, match="For 'Transformer', the 'src' and 'tgt' must both be batched with the same "
                                         "batch size.*\\(5, 3, 8\\) and \\(4, 2, 8\\)"):
        model(memory, Tensor(np.zeros((4, 2, 8), np.float32)))
    with pytest.raises(TypeError, match="For 'MultiheadAttention', the dtype of 'query' must be Float32"):
        model(memory.astype(ms.float64), x.astype(ms.float64))


# -- PyTorch from the same weights ----------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # PyTorch's fast-path note, about norm_first
def test_against_pytorch_from_the_same_weights():
    torch = pytest.importorskip("torch")
    model = nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, activation="gelu", norm_first=True, batch_first=True,
                           dtype=ms.float64)
    twin = torch.nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, activation="gelu", norm_first=True, batch_first=True,
                                dtype=torch.float64).eval()
    twin.load_state_dict(_torch_state(model, torch))
    src, tgt = RNG.standard_normal((2, 6, 8)), RNG.standard_normal((2, 4, 8))
    tgt_mask = np.triu(np.ones((4, 4), bool), 1)
    memory_kpm = _padding(2, 6, 1, 4)
    got = model(Tensor(src), Tensor(tgt), tgt_mask=Tensor(tgt_mask), memory_key_padding_mask=Tensor(memory_kpm))
    want = twin(torch.tensor(src), torch.tensor(tgt), tgt_mask=torch.tensor(tgt_mask),
                memory_key_padding_mask=torch.tensor(memory_kpm)).detach().numpy()
    np.testing.assert_allclose(host(got), want, rtol=1e-10, atol=1e-12)
