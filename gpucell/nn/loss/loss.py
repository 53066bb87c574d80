"""Loss Cells: MSELoss, L1Loss, SoftmaxCrossEntropyWithLogits, CrossEntropyLoss, BCEWithLogitsLoss.

Each takes ``reduction`` 'mean', 'sum' or 'none' and calls the functional loss in gpucell/ops/loss.py
(the cross-entropies and BCE-with-logits are one fused, log-sum-exp-stable op each).
"""

from __future__ import annotations

from gpucell import dtype as _dt
from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import float_in
from gpucell.ops import arithmetic as _ar
from gpucell.ops import loss as _loss
from gpucell.ops._layer_util import check_reduction
from gpucell.ops._util import check_bool, check_float, check_int, check_tensor

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "L1Loss",
    "LossBase",
    "MSELoss",
    "SoftmaxCrossEntropyWithLogits",
]


class LossBase(Cell):
    """Base of the losses: ``reduction`` and ``get_loss(x, weights=1.0)``, which weights and reduces."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = check_reduction(type(self).__name__, reduction)

    def get_loss(self, x, weights=1.0):
        if not (isinstance(weights, (int, float)) and weights == 1.0):
            x = _ar.mul(x, weights)
        return _loss.reduce_loss(x, self.reduction)

    def construct(self, logits, labels):
        raise NotImplementedError(f"For '{type(self).__name__}', construct() must be defined by the loss.")


class MSELoss(LossBase):
    """Mean (or sum, or each) of ``(logits - labels) ** 2``, broadcasting the two.

    >>> import gpucell as ms
    >>> float(ms.nn.MSELoss()(ms.Tensor([1.0, 2.0]), ms.Tensor([1.0, 4.0])))
    2.0
    """

    def construct(self, logits, labels):
        return _loss.mse_loss(logits, labels, self.reduction, where="MSELoss")


class L1Loss(LossBase):
    """Mean (or sum, or each) of ``|logits - labels|``, broadcasting the two."""

    def construct(self, logits, labels):
        return _loss.l1_loss(logits, labels, self.reduction, where="L1Loss")


class SoftmaxCrossEntropyWithLogits(LossBase):
    """Cross-entropy of ``softmax(logits)`` (N, C) against ``labels``: class ids (N,) when
    ``sparse``, else probabilities (N, C). MindSpore's defaults: ``sparse=False``,
    ``reduction='none'`` (one loss per row).

    >>> import gpucell as ms
    >>> loss = ms.nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    >>> round(float(loss(ms.Tensor([[0.0, 0.0]]), ms.Tensor([1], ms.int32))), 6)
    0.693147
    """

    def __init__(self, sparse=False, reduction="none"):
        super().__init__(reduction)
        self.sparse = check_bool("SoftmaxCrossEntropyWithLogits", "sparse", sparse)

    def construct(self, logits, labels):
        where = "SoftmaxCrossEntropyWithLogits"
        check_tensor(where, "logits", logits)
        check_float(where, "logits", logits)
        check_tensor(where, "labels", labels)
        if logits.ndim != 2:
            raise ValueError(f"For '{where}', the 'logits' must be 2-D (N, C), but got shape {logits.shape}.")
        _loss.check_class_labels(where, logits, labels, self.sparse)
        return _loss.softmax_cross_entropy(logits, labels, sparse=self.sparse, reduction=self.reduction,
                                          where=where)


class CrossEntropyLoss(LossBase):
    """Cross-entropy of ``softmax(logits)`` along dim 1 of (N, C, ...) or (C,) logits against class
    ids (``ignore_index`` entries count for nothing) or class probabilities (see ops.cross_entropy).

    >>> import gpucell as ms
    >>> round(float(ms.nn.CrossEntropyLoss()(ms.Tensor([[0.0, 0.0]]), ms.Tensor([1]))), 6)
    0.693147
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        where = "CrossEntropyLoss"
        if weight is not None:
            check_tensor(where, "weight", weight)
            if weight.ndim != 1 or weight.dtype.kind != _dt._FLOAT:
                raise ValueError(f"For '{where}', the 'weight' must be a 1-D float Tensor (C,), but got "
                                 f"shape {weight.shape} and dtype {weight.dtype}.")
        self.weight = weight
        self.ignore_index = check_int(where, "ignore_index", ignore_index)
        self.label_smoothing = float_in(where, "label_smoothing", label_smoothing, 0.0, 1.0)

    def construct(self, logits, labels):
        return _loss.cross_entropy(logits, labels, self.weight, self.ignore_index, self.reduction,
                                   self.label_smoothing, where="CrossEntropyLoss")


class BCEWithLogitsLoss(LossBase):
    """Binary cross-entropy of ``sigmoid(logits)`` against ``labels`` in [0, 1], computed stably;
    ``weight`` scales each element, ``pos_weight`` the positive term of each class (last dim)."""

    def __init__(self, reduction="mean", weight=None, pos_weight=None):
        super().__init__(reduction)
        for name, value in (("weight", weight), ("pos_weight", pos_weight)):
            if value is not None:
                check_tensor("BCEWithLogitsLoss", name, value)
                check_float("BCEWithLogitsLoss", name, value)
        self.weight = weight
        self.pos_weight = pos_weight

    def construct(self, logits, labels):
        return _loss.binary_cross_entropy_with_logits(logits, labels, self.weight, self.pos_weight,
                                                      self.reduction, where="BCEWithLogitsLoss")
