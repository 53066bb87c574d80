"""Loss Cells: MSELoss, L1Loss, SoftmaxCrossEntropyWithLogits, CrossEntropyLoss, BCEWithLogitsLoss.

Each takes ``reduction`` 'mean', 'sum' or 'none'. The cross-entropies and BCE-with-logits are one
fused, log-sum-exp-stable op each (gpucell/ops/loss.py); MSE and L1 are built from elementwise ops.
"""

from __future__ import annotations

import numpy as np

from gpucell import dtype as _dt
from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import float_in
from gpucell.ops import arithmetic as _ar
from gpucell.ops import reduction as _red
from gpucell.ops import shape as _shape
from gpucell.ops._layer_util import check_reduction
from gpucell.ops._util import check_bool, check_int, type_name
from gpucell.ops.loss import binary_cross_entropy_with_logits, softmax_cross_entropy
from gpucell.tensor import Tensor

__all__ = ["LossBase", "MSELoss", "L1Loss", "SoftmaxCrossEntropyWithLogits", "CrossEntropyLoss",
           "BCEWithLogitsLoss"]


def _tensor(where: str, name: str, value, float_only: bool = True) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"For '{where}', the '{name}' must be a Tensor, but got {type_name(value)}.")
    if float_only and value.dtype.kind != _dt._FLOAT:
        raise TypeError(f"For '{where}', the dtype of '{name}' must be float16, float32 or float64, but got "
                        f"{value.dtype}.")
    return value


class LossBase(Cell):
    """Base of the losses: ``reduction`` and ``get_loss(x, weights=1.0)``, which weights and reduces."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = check_reduction(type(self).__name__, reduction)

    def get_loss(self, x, weights=1.0):
        if not (isinstance(weights, (int, float)) and weights == 1.0):
            x = _ar.mul(x, weights)
        if self.reduction == "mean":
            return _red.mean(x)
        if self.reduction == "sum":
            return _red.sum(x)
        return x

    def construct(self, logits, labels):
        raise NotImplementedError(f"For '{type(self).__name__}', construct() must be defined by the loss.")


class _Elementwise(LossBase):
    def _diff(self, logits, labels):
        where = type(self).__name__
        _tensor(where, "logits", logits)
        _tensor(where, "labels", labels)
        try:
            np.broadcast_shapes(logits.shape, labels.shape)
        except ValueError:
            raise ValueError(f"For '{where}', the shapes of 'logits' {logits.shape} and 'labels' "
                             f"{labels.shape} must broadcast.") from None
        return _ar.sub(logits, labels)


class MSELoss(_Elementwise):
    """Mean (or sum, or each) of ``(logits - labels) ** 2``.

    >>> import gpucell as ms
    >>> float(ms.nn.MSELoss()(ms.Tensor([1.0, 2.0]), ms.Tensor([1.0, 4.0])))
    2.0
    """

    def construct(self, logits, labels):
        d = self._diff(logits, labels)
        return self.get_loss(_ar.mul(d, d))


class L1Loss(_Elementwise):
    """Mean (or sum, or each) of ``|logits - labels|``."""

    def construct(self, logits, labels):
        return self.get_loss(_ar.abs(self._diff(logits, labels)))


def _check_class_labels(where: str, logits: Tensor, labels: Tensor, sparse: bool) -> None:
    if sparse:
        if labels.dtype.kind != _dt._INT:
            raise TypeError(f"For '{where}', sparse 'labels' must be int class ids, but got {labels.dtype}.")
        if labels.shape != logits.shape[:1] + logits.shape[2:]:
            raise ValueError(f"For '{where}', the 'labels' shape must be "
                             f"{logits.shape[:1] + logits.shape[2:]} for 'logits' of shape {logits.shape}, "
                             f"but got {labels.shape}.")
    else:
        _tensor(where, "labels", labels)
        if labels.shape != logits.shape or labels.dtype is not logits.dtype:
            raise ValueError(f"For '{where}', dense 'labels' must have the shape and dtype of 'logits' "
                             f"({logits.shape}, {logits.dtype}), but got {labels.shape}, {labels.dtype}.")


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
        _tensor(where, "logits", logits)
        _tensor(where, "labels", labels, float_only=False)
        if logits.ndim != 2:
            raise ValueError(f"For '{where}', the 'logits' must be 2-D (N, C), but got shape {logits.shape}.")
        _check_class_labels(where, logits, labels, self.sparse)
        return softmax_cross_entropy(logits, labels, sparse=self.sparse, reduction=self.reduction)


class CrossEntropyLoss(LossBase):
    """Cross-entropy of ``softmax(logits)`` along dim 1 of (N, C, ...) or (C,) logits against class
    ids (``ignore_index`` rows count for nothing) or class probabilities of the logits' shape.

    ``weight``: per-class weights (C,); 'mean' then divides by the summed weight of the counted
    rows. ``label_smoothing`` mixes the targets with the uniform distribution.
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        where = "CrossEntropyLoss"
        if weight is not None:
            _tensor(where, "weight", weight)
            if weight.ndim != 1:
                raise ValueError(f"For '{where}', the 'weight' must be 1-D (C,), but got shape {weight.shape}.")
        self.weight = weight
        self.ignore_index = check_int(where, "ignore_index", ignore_index)
        self.label_smoothing = float_in(where, "label_smoothing", label_smoothing, 0.0, 1.0)

    def construct(self, logits, labels):
        where = "CrossEntropyLoss"
        _tensor(where, "logits", logits)
        _tensor(where, "labels", labels, float_only=False)
        sparse = labels.dtype.kind != _dt._FLOAT
        single = logits.ndim == 1
        if single:
            logits = _shape.expand_dims(logits, 0)
            labels = _shape.expand_dims(labels, 0)
        _check_class_labels(where, logits, labels, sparse)
        classes = logits.shape[1]
        weight = self.weight
        if weight is not None and (weight.shape != (classes,) or weight.dtype is not logits.dtype):
            raise ValueError(f"For '{where}', the 'weight' must have shape ({classes},) and dtype "
                             f"{logits.dtype}, but got {weight.shape} and {weight.dtype}.")
        spatial = logits.shape[2:]
        if spatial:  # classes last, one row per position
            perm = (0,) + tuple(range(2, logits.ndim)) + (1,)
            logits = _shape.reshape(_shape.transpose(logits, perm), (-1, classes))
            labels = _shape.reshape(labels if sparse else _shape.transpose(labels, perm),
                                    (-1,) if sparse else (-1, classes))
        loss = softmax_cross_entropy(logits, labels, weight, sparse=sparse, reduction=self.reduction,
                                     ignore_index=self.ignore_index if sparse else None,
                                     label_smoothing=self.label_smoothing)
        if self.reduction == "none":
            if spatial:
                loss = _shape.reshape(loss, (-1,) + spatial)
            elif single:
                loss = _shape.reshape(loss, ())
        return loss


class BCEWithLogitsLoss(LossBase):
    """Binary cross-entropy of ``sigmoid(logits)`` against ``labels`` in [0, 1], computed stably;
    ``weight`` scales each element, ``pos_weight`` the positive term of each class (last dim)."""

    def __init__(self, reduction="mean", weight=None, pos_weight=None):
        super().__init__(reduction)
        for name, value in (("weight", weight), ("pos_weight", pos_weight)):
            if value is not None:
                _tensor("BCEWithLogitsLoss", name, value)
        self.weight = weight
        self.pos_weight = pos_weight

    def construct(self, logits, labels):
        return binary_cross_entropy_with_logits(logits, labels, self.weight, self.pos_weight, self.reduction)
