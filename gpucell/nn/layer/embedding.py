"""Embedding: a (vocab_size, embedding_size) table looked up by integer ids."""

from __future__ import annotations

from gpucell import dtype as _dt
from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import check_bool, make_parameter, positive_int
from gpucell.ops._util import check_int, type_name
from gpucell.ops.embedding import embedding
from gpucell.tensor import Tensor

__all__ = ["Embedding"]


class Embedding(Cell):
    """Rows of ``embedding_table`` picked by the ids: output shape ``ids.shape + (embedding_size,)``.

    ``padding_idx``: that row starts at zero. ``use_one_hot`` is accepted for MindSpore
    compatibility; the lookup is a gather either way (the same numbers).

    >>> import gpucell as ms
    >>> ms.nn.Embedding(10, 3)(ms.Tensor([[1, 2]], ms.int32)).shape
    (1, 2, 3)
    """

    def __init__(self, vocab_size, embedding_size, use_one_hot=False, embedding_table="normal",
                 dtype=_dt.int32, padding_idx=None):
        super().__init__()
        self.vocab_size = positive_int("Embedding", "vocab_size", vocab_size)
        self.embedding_size = positive_int("Embedding", "embedding_size", embedding_size)
        self.use_one_hot = check_bool("Embedding", "use_one_hot", use_one_hot)
        self.dtype = _dt.to_dtype(dtype)
        if self.dtype.kind != _dt._INT:
            raise TypeError(f"For 'Embedding', the 'dtype' of the ids must be an int type, but got "
                            f"{self.dtype}.")
        if padding_idx is not None:
            padding_idx = check_int("Embedding", "padding_idx", padding_idx)
            if not 0 <= padding_idx < vocab_size:
                raise ValueError(f"For 'Embedding', the 'padding_idx' must be in [0, {vocab_size}), but got "
                                 f"{padding_idx}.")
        self.padding_idx = padding_idx
        self.embedding_table = make_parameter("Embedding", "embedding_table", embedding_table,
                                              (vocab_size, embedding_size))
        if padding_idx is not None:
            self.embedding_table[padding_idx] = 0.0

    def construct(self, ids):
        if not isinstance(ids, Tensor):
            raise TypeError(f"For 'Embedding', the input must be a Tensor of ids, but got {type_name(ids)}.")
        return embedding(ids, self.embedding_table)

    def extend_repr(self) -> str:
        return (f"vocab_size={self.vocab_size}, embedding_size={self.embedding_size}, "
                f"use_one_hot={self.use_one_hot}, embedding_table={self.embedding_table!r}, "
                f"dtype={self.dtype}, padding_idx={self.padding_idx}")
