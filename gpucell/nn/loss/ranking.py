"""Losses over pairs: MarginRankingLoss (which of two scores should be larger) and
CosineEmbeddingLoss (whether two embeddings should point the same way)."""

from __future__ import annotations

from gpucell.nn.layer._checks import float_in
from gpucell.nn.loss.loss import LossBase
from gpucell.ops import loss_extra as _more
from gpucell.ops import reduction as _red
from gpucell.ops._util import check_tensor
from gpucell.ops.elementwise import maximum, sqrt
from gpucell.ops.selection import select

__all__ = ["CosineEmbeddingLoss", "MarginRankingLoss"]


class MarginRankingLoss(LossBase):
    """``max(0, -target * (input1 - input2) + margin)`` with ``target`` 1 (input1 should rank
    higher) or -1; all three of one shape and dtype.

    >>> import gpucell as ms
    >>> loss = ms.nn.MarginRankingLoss(reduction="none")
    >>> loss(ms.Tensor([1.0, 3.0]), ms.Tensor([2.0, 1.0]), ms.Tensor([1.0, 1.0])).asnumpy()
    array([1., 0.], dtype=float32)
    """

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = _more._number("MarginRankingLoss", "margin", margin)

    def construct(self, input1, input2, target):
        return _more.margin_ranking(input1, input2, target, self.margin, self.reduction, "MarginRankingLoss")


class CosineEmbeddingLoss(LossBase):
    """``1 - cos(x1, x2)`` where ``labels`` is 1 and ``max(0, cos(x1, x2) - margin)`` where it is -1
    (0 elsewhere), the cosine taken along dim 1 of ``logits_x1`` and ``logits_x2`` (same shape and
    dtype); ``labels`` has their shape without dim 1.

    >>> import gpucell as ms
    >>> x1 = ms.Tensor([[0.3, 0.8], [0.4, 0.3]])
    >>> x2 = ms.Tensor([[0.4, 1.2], [-0.4, -0.9]])
    >>> round(float(ms.nn.CosineEmbeddingLoss()(x1, x2, ms.Tensor([1, -1], ms.int32))), 7)
    0.0003425
    """

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = float_in("CosineEmbeddingLoss", "margin", margin, -1.0, 1.0, ints=False)

    def construct(self, logits_x1, logits_x2, labels):
        where = "CosineEmbeddingLoss"
        for name, value in (("logits_x1", logits_x1), ("logits_x2", logits_x2)):
            _more._float_tensor(where, name, value)
        _more._same_shape_and_dtype(where, ("logits_x1", logits_x1), ("logits_x2", logits_x2))
        check_tensor(where, "labels", labels)
        if logits_x1.ndim < 2 or labels.shape != logits_x1.shape[:1] + logits_x1.shape[2:]:
            raise ValueError(f"For '{where}', the 'labels' shape must be the shape of 'logits_x1' without dim 1, "
                             f"but got {labels.shape} for 'logits_x1' of shape {logits_x1.shape}.")
        dot = _red.sum(logits_x1 * logits_x2, 1)
        norms = sqrt(_red.sum(logits_x1 * logits_x1, 1)) * sqrt(_red.sum(logits_x2 * logits_x2, 1))
        cosine = dot / norms
        same = select(labels == 1, 1 - cosine, 0.0)
        apart = select(labels == -1, maximum(cosine - self.margin, 0.0), 0.0)
        return self.get_loss(same + apart)
