"""embedding: rows of a table gathered by integer ids; the backward scatter-adds rows back.

On the CPU an id outside [0, vocab) raises; on the GPU (where checking would synchronise) such ids
read zeros and receive no gradient, as MindSpore's GPU Gather does.
"""

from __future__ import annotations

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module, kernel_ops
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_tensor

__all__ = ["EMBEDDING", "embedding"]


def _check_ids_cpu(ids, vocab: int) -> None:
    if ids.size and (ids.min() < 0 or ids.max() >= vocab):
        bad = ids[(ids < 0) | (ids >= vocab)].ravel()[0]
        raise ValueError(f"For 'Embedding', every id must be in [0, {vocab}), but got {int(bad)}.")


def _embedding(table, ids):
    if isinstance(ids, np.ndarray):
        _check_ids_cpu(ids, table.shape[0])
        return table[ids]
    xp = array_module(table)
    valid = (ids >= 0) & (ids < table.shape[0])
    rows = table[xp.where(valid, ids, 0)]
    return xp.where(valid[..., None], rows, table.dtype.type(0))


def _embedding_grad(g, ids, *, vocab):
    # kernel_ops skips out-of-range ids on both backends; on the CPU the forward has refused them.
    return kernel_ops.scatter_add_rows(ids, g, vocab)


EMBEDDING = Op("Embedding", _embedding, saves="inputs",
               backward=lambda ctx, g: (apply(EMBEDDING_GRAD, g, ctx.input(1), vocab=ctx.shape(0)[0]), None))
# EmbeddingGrad is the adjoint of Embedding (linear in g), so its gradient is Embedding again.
EMBEDDING_GRAD = Op("EmbeddingGrad", _embedding_grad,
                    backward=lambda ctx, gg: (apply(EMBEDDING, gg, ctx.input(1)), None))


def embedding(input, weight):
    """Rows of ``weight`` (vocab, dim) picked by the integer ids ``input``: shape ``input.shape + (dim,)``.

    >>> import gpucell as ms
    >>> ms.ops.embedding(ms.Tensor([1, 0]), ms.Tensor([[0.0, 1.0], [2.0, 3.0]])).asnumpy()
    array([[2., 3.],
           [0., 1.]], dtype=float32)
    """
    check_tensor("Embedding", "input", input)
    check_tensor("Embedding", "weight", weight)
    if input.dtype.kind != _dt._INT:
        raise TypeError(f"For 'Embedding', the dtype of 'input' must be an int type, but got {input.dtype}.")
    if weight.ndim != 2:
        raise ValueError(f"For 'Embedding', the 'weight' must be 2-D (vocab_size, embedding_size), but got "
                         f"shape {weight.shape}.")
    return apply(EMBEDDING, weight, input)
