"""MultiheadAttention with MindSpore 2.x's parameters, defaults, masks and outputs.

The attention is composed of existing ops (dense, reshape, transpose, the matmul kernel, softmax,
masked_fill, dropout), so it runs on both backends, differentiates to any order and is captured
whole inside a jit plan. Heads are laid out (N, num_heads, length, head_dim): one transpose takes
the projected (L, N, E) or (N, L, E) input there and one takes the result back.

Masks follow MindSpore (and PyTorch): a Bool mask is True where attention is NOT allowed (filled
with -inf before the softmax); a float mask is added to the scores. A query row whose keys are all
masked therefore gets NaN weights, as in MindSpore.
"""

from __future__ import annotations

import math

from gpucell import dtype as _dt
from gpucell.initializer import XavierNormal, XavierUniform
from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import check_bool, float_in, make_parameter, positive_int
from gpucell.nn.layer.basic import Dense
from gpucell.ops import reduction
from gpucell.ops import shape as _shape
from gpucell.ops.activation import softmax
from gpucell.ops.attention import masked_fill
from gpucell.ops.creation import zeros_like
from gpucell.ops.dense import dense
from gpucell.ops.dropout import DROPOUT, run_dropout
from gpucell.ops.linalg import matmul, matmul_transposed
from gpucell.ops.shape import concat, reshape, split, transpose
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["MultiheadAttention", "check_float_dtype", "check_masks", "typed_dense"]

_NAME = "MultiheadAttention"


def check_float_dtype(where: str, dtype) -> _dt.DType:
    """``dtype`` as a float DType (the dtype of a layer's Parameters)."""
    if not isinstance(dtype, _dt.DType) or dtype.kind != _dt._FLOAT:
        raise TypeError(f"For '{where}', the 'dtype' must be a float type (e.g. mstype.float32), but got "
                        f"{dtype!r}.")
    return dtype


def typed_dense(in_channels: int, out_channels: int, has_bias: bool, dtype: _dt.DType) -> Dense:
    """An nn.Dense (MindSpore's default init) whose Parameters have ``dtype``."""
    layer = Dense(in_channels, out_channels, has_bias=has_bias)
    if dtype is not _dt.float32:
        # Before the layer is attached to a parent, so the new Parameters get the parent's prefix.
        layer.weight = Parameter(layer.weight.astype(dtype), name="weight")
        if has_bias:
            layer.bias = Parameter(layer.bias.astype(dtype), name="bias")
    return layer


def _mask_dtype(where: str, name: str, mask, allow_uint8: bool) -> Tensor:
    if not isinstance(mask, Tensor):
        raise TypeError(f"For '{where}', the '{name}' must be a Tensor or None, but got {type(mask).__name__}.")
    if allow_uint8 and mask.dtype is _dt.uint8:
        return mask.astype(_dt.bool_)  # a byte mask: nonzero means masked, as MindSpore
    if mask.dtype is not _dt.bool_ and mask.dtype.kind != _dt._FLOAT:
        kinds = "bool, uint8 or float" if allow_uint8 else "bool or float"
        raise TypeError(f"For '{where}', the '{name}' must be a {kinds} Tensor, but got {mask.dtype}.")
    return mask


def check_masks(where: str, attn_mask, key_padding_mask, batch: int | None, tgt_len: int, src_len: int,
                num_heads: int, names: tuple = ("attn_mask", "key_padding_mask")) -> tuple:
    """Checks the masks' dtypes and shapes (``batch`` None: unbatched input) and returns them, a
    byte ``attn_mask`` as Bool."""
    attn_name, kpm_name = names
    if attn_mask is not None:
        attn_mask = _mask_dtype(where, attn_name, attn_mask, allow_uint8=True)
        expected = [(tgt_len, src_len), ((batch or 1) * num_heads, tgt_len, src_len)]
        if attn_mask.shape not in expected:
            raise ValueError(f"For '{where}', the shape of '{attn_name}' must be {expected[0]} or {expected[1]} "
                             f"((batch * num_heads, target length, source length)), but got {attn_mask.shape}.")
    if key_padding_mask is not None:
        key_padding_mask = _mask_dtype(where, kpm_name, key_padding_mask, allow_uint8=False)
        expected = (src_len,) if batch is None else (batch, src_len)
        if key_padding_mask.shape != expected:
            raise ValueError(f"For '{where}', the shape of '{kpm_name}' must be {expected} ((batch, source "
                             f"length), or (source length,) for unbatched input), but got "
                             f"{key_padding_mask.shape}.")
    return attn_mask, key_padding_mask


class MultiheadAttention(Cell):
    """Multi-head attention ("Attention Is All You Need"): ``Concat(head_1..head_h) W_O`` with
    ``head_i = softmax(Q W_Q^i (K W_K^i)^T / sqrt(head_dim) + mask) V W_V^i``.

    Parameters as MindSpore: ``in_proj_weight`` (3 * embed_dim, embed_dim) when ``kdim`` and ``vdim``
    equal ``embed_dim``, else ``q_proj_weight`` / ``k_proj_weight`` / ``v_proj_weight``;
    ``in_proj_bias`` (3 * embed_dim,) zeros; ``out_proj`` a Dense; ``bias_k`` / ``bias_v`` (1, 1,
    embed_dim) with ``add_bias_kv``. Inputs are (L, N, E), or (N, L, E) with ``batch_first``, or
    unbatched (L, E). Returns ``(attn_output, attn_weights)``; with ``need_weights=False`` the
    one-tuple ``(attn_output,)``, as MindSpore. ``attn_weights`` is (N, L, S) averaged over the
    heads, or (N, num_heads, L, S) with ``average_attn_weights=False``. ``dropout`` drops
    attention weights while training.

    >>> import gpucell as ms
    >>> mha = ms.nn.MultiheadAttention(8, 2)
    >>> out, weights = mha(ms.ops.ones((5, 3, 8)), ms.ops.ones((4, 3, 8)), ms.ops.ones((4, 3, 8)))
    >>> out.shape, weights.shape
    ((5, 3, 8), (3, 5, 4))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, has_bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, dtype=_dt.float32):
        super().__init__()
        self.embed_dim = positive_int(_NAME, "embed_dim", embed_dim)
        self.num_heads = positive_int(_NAME, "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"For '{_NAME}', the 'embed_dim' ({embed_dim}) must be divisible by 'num_heads' "
                             f"({num_heads}).")
        self.head_dim = embed_dim // num_heads
        self.dropout = float_in(_NAME, "dropout", dropout, 0.0, 1.0, high_open=True)
        self.has_bias = check_bool(_NAME, "has_bias", has_bias)
        self.add_zero_attn = check_bool(_NAME, "add_zero_attn", add_zero_attn)
        self.batch_first = check_bool(_NAME, "batch_first", batch_first)
        check_bool(_NAME, "add_bias_kv", add_bias_kv)
        self.kdim = embed_dim if kdim is None else positive_int(_NAME, "kdim", kdim)
        self.vdim = embed_dim if vdim is None else positive_int(_NAME, "vdim", vdim)
        self.dtype = check_float_dtype(_NAME, dtype)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = make_parameter(_NAME, "in_proj_weight", XavierUniform(),
                                                 (3 * embed_dim, embed_dim), dtype)
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = make_parameter(_NAME, "q_proj_weight", XavierUniform(), (embed_dim, embed_dim), dtype)
            self.k_proj_weight = make_parameter(_NAME, "k_proj_weight", XavierUniform(), (embed_dim, self.kdim),
                                                dtype)
            self.v_proj_weight = make_parameter(_NAME, "v_proj_weight", XavierUniform(), (embed_dim, self.vdim),
                                                dtype)
        self.in_proj_bias = (make_parameter(_NAME, "in_proj_bias", "zeros", (3 * embed_dim,), dtype)
                             if has_bias else None)
        self.out_proj = typed_dense(embed_dim, embed_dim, has_bias, dtype)
        if add_bias_kv:
            self.bias_k = make_parameter(_NAME, "bias_k", XavierNormal(), (1, 1, embed_dim), dtype)
            self.bias_v = make_parameter(_NAME, "bias_v", XavierNormal(), (1, 1, embed_dim), dtype)
        else:
            self.bias_k = self.bias_v = None

    def construct(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                  average_attn_weights=True):
        need_weights = check_bool(_NAME, "need_weights", need_weights)
        average_attn_weights = check_bool(_NAME, "average_attn_weights", average_attn_weights)
        batched = self._check_inputs(query, key, value)
        batch_first = self.batch_first and batched
        seq, bat = (1, 0) if batch_first else (0, 1)
        tgt_len, src_len = query.shape[seq if batched else 0], key.shape[seq if batched else 0]
        batch = query.shape[bat] if batched else None
        attn_mask, key_padding_mask = check_masks(_NAME, attn_mask, key_padding_mask, batch, tgt_len, src_len,
                                                  self.num_heads)
        if not batched:  # as one batch of one, sequence first
            query, key, value = (_shape.expand_dims(t, 1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = reshape(key_padding_mask, (1, src_len))
            batch = 1
        q, k, v = (self._heads(t, batch_first) for t in self._project(query, key, value))
        k, v, extra = self._extend_keys(k, v, batch)
        scores = matmul_transposed(q * (1.0 / math.sqrt(self.head_dim)), k, False, True)  # (N, H, L, S)
        if attn_mask is not None:
            if attn_mask.ndim == 3:
                attn_mask = reshape(attn_mask, (batch, self.num_heads, tgt_len, src_len))
            scores = _apply_mask(scores, _pad_columns(attn_mask, extra))
        if key_padding_mask is not None:
            scores = _apply_mask(scores, reshape(_pad_columns(key_padding_mask, extra),
                                                 (batch, 1, 1, src_len + extra)))
        weights = softmax(scores, -1)
        if self.training and self.dropout > 0.0:
            weights = run_dropout(DROPOUT, weights, 1.0 - self.dropout)[0]
        out = self.out_proj(self._merge_heads(matmul(weights, v), batch_first))
        if not batched:
            out = _shape.squeeze(out, 1)
        if not need_weights:
            return (out,)
        if average_attn_weights:
            weights = reduction.mean(weights, 1)
        if not batched:
            weights = _shape.squeeze(weights, 0)
        return out, weights

    def _check_inputs(self, query, key, value) -> bool:
        """Checks types, ranks, feature sizes and lengths; returns whether the input is batched."""
        for name, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim),
                              ("value", value, self.vdim)):
            if not isinstance(t, Tensor):
                raise TypeError(f"For '{_NAME}', the '{name}' must be a Tensor, but got {type(t).__name__}.")
            if t.dtype is not self.dtype:
                raise TypeError(f"For '{_NAME}', the dtype of '{name}' must be {self.dtype} (the dtype of the "
                                f"Parameters), but got {t.dtype}.")
            if t.ndim not in (2, 3) or t.ndim != query.ndim:
                raise ValueError(f"For '{_NAME}', the 'query', 'key' and 'value' must all be 3-D (batched) or "
                                 f"all 2-D (unbatched), but got shapes {query.shape}, {key.shape} and "
                                 f"{value.shape}.")
            if t.shape[-1] != size:
                what = {"query": "embed_dim", "key": "kdim", "value": "vdim"}[name]
                raise ValueError(f"For '{_NAME}', the last dim of '{name}' must equal {what} ({size}), but got "
                                 f"shape {t.shape}.")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"For '{_NAME}', the 'key' and 'value' must have the same length and batch size, "
                             f"but got shapes {key.shape} and {value.shape}.")
        batched = query.ndim == 3
        bat = 0 if self.batch_first else 1
        if batched and query.shape[bat] != key.shape[bat]:
            raise ValueError(f"For '{_NAME}', the batch size of 'query' {query.shape} and 'key' {key.shape} must "
                             f"be equal (dim {bat}, batch_first={self.batch_first}).")
        return batched

    def _project(self, query, key, value) -> tuple:
        """The input projections: one Dense for self-attention, the packed weight split otherwise."""
        bias = self.in_proj_bias
        b_q = b_k = b_v = None
        if bias is not None:
            b_q, b_k, b_v = split(bias, self.embed_dim)
        if self._qkv_same_embed_dim:
            if query is key and key is value:
                return split(dense(query, self.in_proj_weight, bias), self.embed_dim, axis=-1)
            w_q, w_k, w_v = split(self.in_proj_weight, self.embed_dim)
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return dense(query, w_q, b_q), dense(key, w_k, b_k), dense(value, w_v, b_v)

    def _heads(self, x, batch_first: bool):
        """(L, N, E) or (N, L, E) -> (N, num_heads, L, head_dim)."""
        a, b = x.shape[0], x.shape[1]
        x = reshape(x, (a, b, self.num_heads, self.head_dim))
        return transpose(x, (0, 2, 1, 3) if batch_first else (1, 2, 0, 3))

    def _merge_heads(self, x, batch_first: bool):
        """(N, num_heads, L, head_dim) -> (L, N, E), or (N, L, E) with ``batch_first``."""
        n, _, length, _ = x.shape
        x = transpose(x, (0, 2, 1, 3) if batch_first else (2, 0, 1, 3))
        return reshape(x, (n, length, self.embed_dim) if batch_first else (length, n, self.embed_dim))

    def _extend_keys(self, k, v, batch: int) -> tuple:
        """``bias_k`` / ``bias_v`` and a zero key / value appended along the source length, as asked;
        returns (k, v, number of columns added)."""
        extra = 0
        if self.bias_k is not None:
            heads = (batch, self.num_heads, 1, self.head_dim)
            k = concat([k, _shape.broadcast_to(_as_head(self.bias_k, self), heads)], axis=2)
            v = concat([v, _shape.broadcast_to(_as_head(self.bias_v, self), heads)], axis=2)
            extra += 1
        if self.add_zero_attn:
            k = concat([k, zeros_like(k[:, :, :1])], axis=2)
            v = concat([v, zeros_like(v[:, :, :1])], axis=2)
            extra += 1
        return k, v, extra

    def extend_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")


def _as_head(bias, cell: MultiheadAttention):
    """A (1, 1, E) key or value bias as (1, num_heads, 1, head_dim)."""
    return transpose(reshape(bias, (1, 1, cell.num_heads, cell.head_dim)), (0, 2, 1, 3))


def _pad_columns(mask, extra: int):
    """``mask`` with ``extra`` unmasked columns (False, or 0.0) appended on its last dim."""
    if not extra:
        return mask
    pad = _shape.broadcast_to(zeros_like(mask[..., :1]), mask.shape[:-1] + (extra,))
    return concat([mask, pad], axis=-1)


def _apply_mask(scores, mask):
    """``scores`` with a Bool mask's True positions at -inf, or a float mask added."""
    if mask.dtype is _dt.bool_:
        return masked_fill(scores, mask, float("-inf"))
    if mask.dtype is not scores.dtype:
        mask = mask.astype(scores.dtype)
    return scores + mask
