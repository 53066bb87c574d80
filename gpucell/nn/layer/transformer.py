"""TransformerEncoderLayer and TransformerEncoder with MindSpore 2.x's parameters and defaults,
and what the decoder (transformer_decoder.py) shares with them.

A layer is self-attention and a two-Dense feedforward block, each with a residual connection and a
LayerNorm (after the block, or before it with ``norm_first``). Cell and Parameter names follow
MindSpore: ``self_attn``, ``dense1``, ``dense2``, ``norm1``, ``norm2``; the encoder's layers are
``layers.0``, ``layers.1`` ...
"""

from __future__ import annotations

import copy

from gpucell import dtype as _dt
from gpucell.nn.cell import Cell
from gpucell.nn.container import CellList
from gpucell.nn.layer._checks import check_bool, float_in, positive_int
from gpucell.nn.layer.activation import GELU, ReLU
from gpucell.nn.layer.attention import MultiheadAttention, check_float_dtype, check_masks, typed_dense
from gpucell.nn.layer.basic import Dropout
from gpucell.nn.layer.normalization import LayerNorm
from gpucell.ops._util import type_name
from gpucell.ops.activation import gelu, relu
from gpucell.tensor import Tensor

__all__ = ["TransformerEncoder", "TransformerEncoderLayer", "sequence_shape", "stacked_layers"]

_ACTIVATIONS = {"relu": relu, "gelu": gelu}


def _activation(where: str, activation):
    """MindSpore's choices: 'relu' / 'gelu', an nn.ReLU / nn.GELU Cell, or ops.relu / ops.gelu."""
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"For '{where}', the 'activation' must be 'relu' or 'gelu', but got {activation!r}.")
        return _ACTIVATIONS[activation]
    if isinstance(activation, Cell):
        if not isinstance(activation, (ReLU, GELU)):
            raise ValueError(f"For '{where}', an 'activation' Cell must be nn.ReLU or nn.GELU, but got "
                             f"{type_name(activation)}.")
        return activation
    if activation is relu or activation is gelu:
        return activation
    raise ValueError(f"For '{where}', the 'activation' must be 'relu', 'gelu', nn.ReLU, nn.GELU, ops.relu or "
                     f"ops.gelu, but got {activation!r}.")


def sequence_shape(where: str, name: str, x, d_model: int, batch_first: bool) -> tuple:
    """(batch, length) of a sequence: (L, N, d_model), (N, L, d_model) with ``batch_first``, or
    unbatched (L, d_model) with batch None."""
    if not isinstance(x, Tensor):
        raise TypeError(f"For '{where}', the '{name}' must be a Tensor, but got {type_name(x)}.")
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        raise ValueError(f"For '{where}', the '{name}' must be (L, N, d_model), (N, L, d_model) with batch_first, "
                         f"or (L, d_model) with d_model {d_model}, but got shape {x.shape}.")
    if x.ndim == 2:
        return None, x.shape[0]
    return (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])


class _TransformerLayer(Cell):
    """What the encoder and decoder layers share: their arguments, checked under the layer's name,
    and their sub-cells in MindSpore's order and names: ``self_attn``, ``multihead_attn`` (the
    decoder's cross-attention), ``dense1``, ``dropout``, ``dense2``, ``norm1`` .. ``norm{blocks}``,
    ``dropout1`` .. ``dropout{blocks}`` (one LayerNorm and one Dropout per residual block)."""

    def __init__(self, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                 norm_first, dtype, blocks: int):
        super().__init__()
        where = type(self).__name__
        self.d_model = positive_int(where, "d_model", d_model)
        self.nhead = positive_int(where, "nhead", nhead)
        self.dim_feedforward = positive_int(where, "dim_feedforward", dim_feedforward)
        self.dropout_num = float_in(where, "dropout", dropout, 0.0, 1.0, high_open=True)
        self.layernorm_eps = float_in(where, "layer_norm_eps", layer_norm_eps, 0.0, float("inf"), low_open=True)
        self.batch_first = check_bool(where, "batch_first", batch_first)
        self.norm_first = check_bool(where, "norm_first", norm_first)
        self.dtype = check_float_dtype(where, dtype)
        if d_model % nhead:
            raise ValueError(f"For '{where}', the 'd_model' ({d_model}) must be divisible by 'nhead' ({nhead}).")
        self.activation1 = activation  # as given, as MindSpore keeps it
        self.activation = _activation(where, activation)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, dtype=dtype)
        if blocks == 3:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first,
                                                     dtype=dtype)
        self.dense1 = typed_dense(d_model, dim_feedforward, True, dtype)
        self.dropout = Dropout(p=dropout)
        self.dense2 = typed_dense(dim_feedforward, d_model, True, dtype)
        for i in range(1, blocks + 1):
            setattr(self, f"norm{i}", LayerNorm((d_model,), epsilon=layer_norm_eps, dtype=dtype))
        for i in range(1, blocks + 1):
            setattr(self, f"dropout{i}", Dropout(p=dropout))
        self._blocks = blocks

    def _sa_block(self, x, attn_mask, key_padding_mask):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.dense2(self.dropout(self.activation(self.dense1(x))))
        return getattr(self, f"dropout{self._blocks}")(x)


class TransformerEncoderLayer(_TransformerLayer):
    """One Transformer encoder layer: self-attention and a feedforward block (``dense1``,
    activation, dropout, ``dense2``), each with dropout, a residual connection and a LayerNorm.

    ``norm_first=False``: ``x = norm1(x + sa(x)); x = norm2(x + ff(x))``; ``norm_first=True``:
    ``x = x + sa(norm1(x)); x = x + ff(norm2(x))``. ``src`` is (S, N, E), (N, S, E) with
    ``batch_first``, or unbatched (S, E); ``src_mask`` (S, S) or (N * nhead, S, S) and
    ``src_key_padding_mask`` (N, S), Bool (True: masked) or float (added), as in MultiheadAttention.

    >>> import gpucell as ms
    >>> layer = ms.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)
    >>> layer(ms.ops.ones((5, 3, 8))).shape
    (5, 3, 8)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, dtype=_dt.float32):
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                         norm_first, dtype, blocks=2)

    def construct(self, src, src_mask=None, src_key_padding_mask=None):
        self._check_masks(src, src_mask, src_key_padding_mask)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask))
        return self.norm2(x + self._ff_block(x))

    def _check_masks(self, src, src_mask, src_key_padding_mask) -> None:
        """The masks checked under their names here (MultiheadAttention knows them by its own)."""
        where = type(self).__name__
        batch, length = sequence_shape(where, "src", src, self.d_model, self.batch_first)
        check_masks(where, src_mask, src_key_padding_mask, batch, length, length, self.nhead,
                    names=("src_mask", "src_key_padding_mask"))


def stacked_layers(where: str, layer, layer_type: type, num_layers, norm) -> CellList:
    """``num_layers`` deep copies of ``layer`` (a ``layer_type``) after checking the arguments of
    a stack (TransformerEncoder, TransformerDecoder)."""
    name = "encoder_layer" if layer_type is TransformerEncoderLayer else "decoder_layer"
    if not isinstance(layer, layer_type):
        raise TypeError(f"For '{where}', the '{name}' must be a {layer_type.__name__}, but got {type_name(layer)}.")
    positive_int(where, "num_layers", num_layers)
    if norm is not None and not isinstance(norm, Cell):
        raise TypeError(f"For '{where}', the 'norm' must be a Cell or None, but got {type_name(norm)}.")
    return CellList([copy.deepcopy(layer) for _ in range(num_layers)])


class TransformerEncoder(Cell):
    """``num_layers`` copies of ``encoder_layer`` applied in turn, then ``norm`` (when given).

    Each layer is a deep copy of ``encoder_layer`` (its own Parameters, starting from the same
    values), as PyTorch builds it.

    >>> import gpucell as ms
    >>> layer = ms.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)
    >>> encoder = ms.nn.TransformerEncoder(layer, num_layers=2)
    >>> encoder(ms.ops.ones((5, 3, 8))).shape
    (5, 3, 8)
    """

    def __init__(self, encoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = stacked_layers("TransformerEncoder", encoder_layer, TransformerEncoderLayer, num_layers, norm)
        self.num_layers = num_layers
        self.norm = norm

    def construct(self, src, src_mask=None, src_key_padding_mask=None):
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=src_mask, src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output
