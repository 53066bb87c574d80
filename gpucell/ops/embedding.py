"""embedding: rows of a table gathered by integer ids; the backward scatter-adds rows back.

On the CPU an id outside [0, vocab) raises; on the GPU (where checking would synchronise) such ids
read zeros and receive no gradient, as MindSpore's GPU Gather does.
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module, kernel_ops
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_bool, check_int, check_tensor, type_name

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


def _row_counts(ids, vocab: int, like):
    """How often each row is looked up, (vocab, 1), on the device (EmbeddingGrad of ones)."""
    from gpucell.ops.creation import ones_like

    ones = ones_like(like[0, :1])  # (1,): the table's dtype and device
    return apply(EMBEDDING_GRAD, ones.broadcast_to(ids.shape + (1,)), ids, vocab=vocab)


def _renorm(ids, weight, max_norm: float, norm_type: float) -> None:
    """Rows that ``ids`` look up and whose ``norm_type``-norm exceeds ``max_norm`` are scaled in
    place to norm max_norm / (norm + 1e-7) * norm, as MindSpore (and PyTorch) do."""
    from gpucell.autograd import no_grad
    from gpucell.ops.assign import assign
    from gpucell.ops.elementwise import maximum
    from gpucell.ops.reduction import sum as sum_op
    from gpucell.ops.selection import select

    with no_grad():
        norms = sum_op(weight.abs() ** norm_type, 1, keepdim=True) ** (1.0 / norm_type)
        used = _row_counts(ids, weight.shape[0], weight) > 0
        shrink = select(used & (norms > max_norm), max_norm / (maximum(norms, 0.0) + 1e-7), 1.0)
        assign(weight, weight * shrink)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False):
    """Rows of ``weight`` (vocab, dim) picked by the integer ids ``input``: shape ``input.shape + (dim,)``.

    ``padding_idx`` (in [-vocab, vocab)): that row gets no gradient. ``max_norm``: the rows looked up
    whose ``norm_type``-norm exceeds it are first scaled down to it, in place (``weight`` must then be
    a Parameter). ``scale_grad_by_freq``: each row's gradient is divided by how often ``input``
    looks it up.

    >>> import gpucell as ms
    >>> ms.ops.embedding(ms.Tensor([1, 0]), ms.Tensor([[0.0, 1.0], [2.0, 3.0]])).asnumpy()
    array([[2., 3.],
           [0., 1.]], dtype=float32)
    """
    from gpucell.parameter import Parameter

    check_tensor("Embedding", "input", input)
    check_tensor("Embedding", "weight", weight)
    if input.dtype.kind != _dt._INT:
        raise TypeError(f"For 'Embedding', the dtype of 'input' must be an int type, but got {input.dtype}.")
    if weight.ndim != 2:
        raise ValueError(f"For 'Embedding', the 'weight' must be 2-D (vocab_size, embedding_size), but got "
                         f"shape {weight.shape}.")
    vocab = weight.shape[0]
    if padding_idx is not None:
        padding_idx = check_int("Embedding", "padding_idx", padding_idx)
        if not -vocab <= padding_idx < vocab:
            raise ValueError(f"For 'Embedding', the 'padding_idx' must be in range [{-vocab}, {vocab}), but got "
                             f"{padding_idx}.")
    if max_norm is not None:
        if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real):
            raise TypeError(f"For 'Embedding', the 'max_norm' must be a float or None, but got {max_norm!r}.")
        if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real) or norm_type <= 0:
            raise ValueError(f"For 'Embedding', the 'norm_type' must be a positive float, but got {norm_type!r}.")
        if not isinstance(weight, Parameter):
            raise TypeError(f"For 'Embedding', the 'weight' must be a Parameter when 'max_norm' is set (it is "
                            f"renormalised in place), but got {type_name(weight)}.")
        _renorm(input, weight, float(max_norm), float(norm_type))
    scale_grad_by_freq = check_bool("Embedding", "scale_grad_by_freq", scale_grad_by_freq)
    if padding_idx is None and not scale_grad_by_freq:
        return apply(EMBEDDING, weight, input)
    # The gradient is the lookup's, scaled per row by ``keep``; the forward is the plain lookup,
    # bit for bit (s - s is exactly 0): stop_gradient(lookup(w)) + (s - stop_gradient(s)),
    # s = lookup(w * keep).
    from gpucell.ops.conversion import stop_gradient
    from gpucell.ops.creation import ones_like
    from gpucell.ops.elementwise import maximum

    keep = ones_like(weight[:, :1])
    if scale_grad_by_freq:
        keep = keep / maximum(_row_counts(input, vocab, weight), 1.0)
    if padding_idx is not None:
        keep[padding_idx % vocab] = 0.0
    keep = stop_gradient(keep)
    scaled = apply(EMBEDDING, weight * keep, input)
    return stop_gradient(apply(EMBEDDING, weight, input)) + (scaled - stop_gradient(scaled))
