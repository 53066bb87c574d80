"""TransformerDecoderLayer, TransformerDecoder and Transformer with MindSpore 2.x's parameters,
defaults and sub-cell names.

A decoder layer is the encoder layer (transformer.py) with a cross-attention block between the
self-attention and the feedforward: ``multihead_attn`` reads the encoder's output (``memory``),
with its own LayerNorm ``norm3`` and Dropout ``dropout3``. Transformer is an encoder and a decoder,
each closed by a LayerNorm, whose matrices (every Parameter of rank 2 or more) start from
XavierUniform, as MindSpore initialises them.

Differences from MindSpore, on purpose: TransformerDecoder stacks deep copies of ``decoder_layer``
(independent Parameters, as TransformerEncoder and PyTorch do; MindSpore 2.3+ repeats one layer
object), and Transformer compares the batch size of ``src`` with that of ``tgt`` (MindSpore's check
compares ``src`` with itself).
"""

from __future__ import annotations

from gpucell import dtype as _dt
from gpucell.initializer import initializer
from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import check_bool, positive_int
from gpucell.nn.layer.attention import check_masks
from gpucell.nn.layer.normalization import LayerNorm
from gpucell.nn.layer.transformer import (
    TransformerEncoder,
    TransformerEncoderLayer,
    _TransformerLayer,
    sequence_shape,
    stacked_layers,
)
from gpucell.ops._util import type_name

__all__ = ["Transformer", "TransformerDecoder", "TransformerDecoderLayer"]


class TransformerDecoderLayer(_TransformerLayer):
    """One Transformer decoder layer: self-attention over ``tgt``, attention from ``tgt`` to
    ``memory`` (``multihead_attn``) and a feedforward block, each with dropout, a residual
    connection and a LayerNorm (``norm1`` .. ``norm3``; before each block with ``norm_first``).

    ``tgt`` is (T, N, E), (N, T, E) with ``batch_first``, or unbatched (T, E); ``memory`` likewise
    with length S. Masks as in MultiheadAttention (Bool: True is masked; float: added):
    ``tgt_mask`` (T, T) or (N * nhead, T, T), ``memory_mask`` (T, S) or (N * nhead, T, S),
    ``tgt_key_padding_mask`` (N, T) and ``memory_key_padding_mask`` (N, S).

    >>> import gpucell as ms
    >>> layer = ms.nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16)
    >>> layer(ms.ops.ones((4, 3, 8)), ms.ops.ones((5, 3, 8))).shape
    (4, 3, 8)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, dtype=_dt.float32):
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                         norm_first, dtype, blocks=3)

    def construct(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                  memory_key_padding_mask=None):
        self._check_inputs(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask)
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask))
        return self.norm3(x + self._ff_block(x))

    def _mha_block(self, x, memory, attn_mask, key_padding_mask):
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False)[0]
        return self.dropout2(x)

    def _check_inputs(self, tgt, memory, tgt_mask, memory_mask, tgt_kpm, memory_kpm) -> None:
        """Shapes and masks checked under this layer's argument names."""
        where = type(self).__name__
        batch, tgt_len = sequence_shape(where, "tgt", tgt, self.d_model, self.batch_first)
        memory_batch, memory_len = sequence_shape(where, "memory", memory, self.d_model, self.batch_first)
        if memory.ndim != tgt.ndim or memory_batch != batch:
            raise ValueError(f"For '{where}', the 'tgt' and 'memory' must both be batched with the same batch size "
                             f"or both unbatched (batch_first={self.batch_first}), but got shapes {tgt.shape} and "
                             f"{memory.shape}.")
        check_masks(where, tgt_mask, tgt_kpm, batch, tgt_len, tgt_len, self.nhead,
                    names=("tgt_mask", "tgt_key_padding_mask"))
        check_masks(where, memory_mask, memory_kpm, batch, tgt_len, memory_len, self.nhead,
                    names=("memory_mask", "memory_key_padding_mask"))


class TransformerDecoder(Cell):
    """``num_layers`` copies of ``decoder_layer`` applied in turn to ``tgt`` (each reading the same
    ``memory`` and masks), then ``norm`` (when given). Layers are ``layers.0``, ``layers.1`` ...

    >>> import gpucell as ms
    >>> layer = ms.nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16)
    >>> decoder = ms.nn.TransformerDecoder(layer, num_layers=2)
    >>> decoder(ms.ops.ones((4, 3, 8)), ms.ops.ones((5, 3, 8))).shape
    (4, 3, 8)
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = stacked_layers("TransformerDecoder", decoder_layer, TransformerDecoderLayer, num_layers, norm)
        self.num_layers = num_layers
        self.norm = norm

    def construct(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                  memory_key_padding_mask=None):
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Cell):
    """An encoder over ``src`` and a decoder over ``tgt`` that attends to the encoder's output:
    ``decoder(tgt, encoder(src))``. ``encoder`` is a TransformerEncoder of
    ``num_encoder_layers`` layers and a final LayerNorm (or ``custom_encoder``), ``decoder`` a
    TransformerDecoder likewise (or ``custom_decoder``). Every Parameter of rank 2 or more then
    starts from XavierUniform.

    ``src`` is (S, N, E), ``tgt`` (T, N, E) ((N, S, E) and (N, T, E) with ``batch_first``, or
    unbatched (S, E) and (T, E)); the masks are the encoder's (``src_mask``,
    ``src_key_padding_mask``) and the decoder's (``tgt_mask``, ``memory_mask``,
    ``tgt_key_padding_mask``, ``memory_key_padding_mask``). Returns the decoder's output.

    >>> import gpucell as ms
    >>> model = ms.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
    ...                           dim_feedforward=16)
    >>> model(ms.ops.ones((5, 3, 8)), ms.ops.ones((4, 3, 8))).shape
    (4, 3, 8)
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
                 dropout=0.1, activation="relu", custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, dtype=_dt.float32):
        super().__init__()
        where = "Transformer"
        self.d_model = positive_int(where, "d_model", d_model)
        self.nhead = positive_int(where, "nhead", nhead)
        for name, custom in (("custom_encoder", custom_encoder), ("custom_decoder", custom_decoder)):
            if custom is not None and not isinstance(custom, Cell):
                raise TypeError(f"For '{where}', the '{name}' must be a Cell or None, but got {type_name(custom)}.")
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first)
        if custom_encoder is None:
            layer = TransformerEncoderLayer(*layer_args, dtype=dtype)
            norm = LayerNorm((d_model,), epsilon=layer_norm_eps, dtype=dtype)
            custom_encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        self.encoder = custom_encoder
        if custom_decoder is None:
            layer = TransformerDecoderLayer(*layer_args, dtype=dtype)
            norm = LayerNorm((d_model,), epsilon=layer_norm_eps, dtype=dtype)
            custom_decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        self.decoder = custom_decoder
        self.batch_first = check_bool(where, "batch_first", batch_first)
        for _, param in self.parameters_and_names():
            if param.ndim > 1:
                param.set_data(initializer("xavier_uniform", param.shape, param.dtype))

    def construct(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                  tgt_key_padding_mask=None, memory_key_padding_mask=None):
        self._check_inputs(src, tgt)
        memory = self.encoder(src, src_mask=src_mask, src_key_padding_mask=src_key_padding_mask)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask)

    def _check_inputs(self, src, tgt) -> None:
        """MindSpore's checks: the feature sizes equal ``d_model`` and the batch sizes agree."""
        src_batch, _ = sequence_shape("Transformer", "src", src, self.d_model, self.batch_first)
        tgt_batch, _ = sequence_shape("Transformer", "tgt", tgt, self.d_model, self.batch_first)
        if src.ndim != tgt.ndim or src_batch != tgt_batch:
            raise ValueError(f"For 'Transformer', the 'src' and 'tgt' must both be batched with the same batch size "
                             f"or both unbatched (batch_first={self.batch_first}), but got shapes {src.shape} and "
                             f"{tgt.shape}.")
