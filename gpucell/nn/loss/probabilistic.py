"""Loss Cells over probabilities and log-probabilities: BCELoss, NLLLoss, KLDivLoss and FocalLoss.

Each calls a composition of ops in gpucell/ops/loss_extra.py (or, for FocalLoss, composes ops here,
following MindSpore's formula step by step), so the two backends, higher-order gradients and CUDA-graph
capture come from the ops.
"""

from __future__ import annotations

from gpucell import dtype as _dt
from gpucell.nn.loss.loss import LossBase
from gpucell.ops import loss_extra as _more
from gpucell.ops import reduction as _red
from gpucell.ops import shape as _shape
from gpucell.ops._util import check_float, check_int, check_tensor, type_name
from gpucell.ops.activation import log_softmax
from gpucell.ops.conversion import cast
from gpucell.ops.elementwise import exp
from gpucell.tensor import Tensor

__all__ = ["BCELoss", "FocalLoss", "KLDivLoss", "NLLLoss"]


def _optional_tensor(where: str, name: str, value):
    if value is not None and not isinstance(value, Tensor):
        raise TypeError(f"For '{where}', the '{name}' must be a Tensor or None, but got {type_name(value)}.")
    return value


class BCELoss(LossBase):
    """Binary cross-entropy of probabilities ``logits`` against ``labels`` (same shape and dtype):
    ``-weight * (labels * log(logits) + (1 - labels) * log(1 - logits))``.

    >>> import gpucell as ms
    >>> round(float(ms.nn.BCELoss()(ms.Tensor([0.5]), ms.Tensor([1.0]))), 6)
    0.693147
    """

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.weight = _optional_tensor("BCELoss", "weight", weight)

    def construct(self, logits, labels):
        return _more.bce_loss(logits, labels, self.weight, self.reduction, "BCELoss")


class NLLLoss(LossBase):
    """Negative log-likelihood of log-probabilities ``logits`` (N, C, ...) at int class ids ``labels``
    (N, ...); ``weight`` (C,) weights the classes ('mean' divides by the counted weight), labels equal
    to ``ignore_index`` count for nothing.

    >>> import gpucell as ms
    >>> float(ms.nn.NLLLoss()(ms.Tensor([[-1.0, -2.0]]), ms.Tensor([1])))
    2.0
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        where = "NLLLoss"
        if _optional_tensor(where, "weight", weight) is not None:
            check_float(where, "weight", weight)
        self.weight = weight
        self.ignore_index = check_int(where, "ignore_index", ignore_index)

    def construct(self, logits, labels):
        return _more.nll(logits, labels, self.weight, self.ignore_index, self.reduction, 0.0, "NLLLoss")


class KLDivLoss(LossBase):
    """``labels * (log(labels) - logits)`` for log-probabilities ``logits``. MindSpore's 'mean' (the
    default) averages over every element; 'batchmean' divides the sum by the batch size, which is the
    Kullback-Leibler divergence itself; 'sum' and 'none' as usual."""

    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in _more._KL_REDUCTIONS:
            raise ValueError(f"For 'KLDivLoss', the 'reduction' must be one of {list(_more._KL_REDUCTIONS)}, but "
                             f"got {reduction!r}.")
        self.reduction = reduction

    def construct(self, logits, labels):
        return _more.kl_divergence(logits, labels, self.reduction, False, "KLDivLoss")


class FocalLoss(LossBase):
    """``-(1 - p_t) ** gamma * log(p_t)`` with ``p_t`` the softmax probability (over dim 1 of the
    (N, C), (N, C, H) or (N, C, H, W) ``logits``) of the target class, averaged over the positions.

    ``labels`` with one channel (dim 1 of size 1) hold class ids (int, or float holding ints): one
    loss per sample, (N,). Otherwise ``labels`` has the shape of ``logits`` (one-hot or soft targets)
    and the loss is kept per class, (N, C), before ``reduction``, as MindSpore computes it.
    ``weight`` (C,) scales each class's log-probability (not ``p_t``).

    >>> import gpucell as ms
    >>> loss = ms.nn.FocalLoss(weight=ms.Tensor([1.0, 2.0]))
    >>> logits = ms.Tensor([[0.8, 1.4], [0.5, 0.9], [1.2, 0.9]])
    >>> round(float(loss(logits, ms.Tensor([[1], [1], [0]], ms.int32))), 6)
    0.125166
    """

    def __init__(self, weight=None, gamma=2.0, reduction="mean"):
        super().__init__(reduction)
        where = "FocalLoss"
        if not isinstance(gamma, float):
            raise TypeError(f"For '{where}', the 'gamma' must be a float, but got {gamma!r} with type "
                            f"'{type_name(gamma)}'.")
        if weight is not None and not isinstance(weight, Tensor):
            raise TypeError(f"For '{where}', the type of 'weight' must be a Tensor, but got {type_name(weight)}.")
        if weight is not None and weight.ndim != 1:
            raise ValueError(f"For '{where}', the dimension of 'weight' must be 1, but got {weight.ndim}.")
        self.gamma = gamma
        self.weight = weight

    def _check(self, logits, labels) -> bool:
        """Whether ``labels`` are class ids (one channel); raises for anything MindSpore refuses."""
        where = "FocalLoss"
        check_tensor(where, "logits", logits)
        check_float(where, "logits", logits)
        check_tensor(where, "labels", labels)
        if labels.dtype not in (_dt.int32, _dt.int64, _dt.float16, _dt.float32, _dt.float64):
            raise TypeError(f"For '{where}', the dtype of 'labels' must be Int32, Int64, Float16, Float32 or "
                            f"Float64, but got {labels.dtype}.")
        if logits.ndim not in (2, 3, 4):
            raise ValueError(f"For '{where}', the 'logits' must be (N, C), (N, C, H) or (N, C, H, W), but got "
                             f"shape {logits.shape}.")
        if labels.ndim != logits.ndim:
            raise ValueError(f"For '{where}', the 'labels' must have the rank of 'logits' ({logits.ndim}), but got "
                             f"shape {labels.shape}.")
        ids = labels.shape[1] == 1
        expected = logits.shape[:1] + (1,) + logits.shape[2:] if ids else logits.shape
        if labels.shape != expected:
            raise ValueError(f"For '{where}', the 'labels' shape must be {expected} (class ids in one channel, or "
                             f"the shape of 'logits'), but got {labels.shape}.")
        if self.weight is not None and self.weight.shape != (logits.shape[1],):
            raise ValueError(f"For '{where}', the 'weight' must have one value per class ({logits.shape[1]}), but "
                             f"got shape {self.weight.shape}.")
        return ids

    def construct(self, logits, labels):
        ids = self._check(logits, labels)
        n, c = logits.shape[:2]
        log_p = log_softmax(_shape.reshape(logits, (n, c, -1)), 1)            # (N, C, L)
        class_weight = None if self.weight is None else _shape.reshape(self.weight, (1, c, 1))
        if ids:
            labels = _shape.reshape(labels, (n, -1))
            if labels.dtype.kind == _dt._FLOAT:
                labels = cast(labels, _dt.int32)
            one_hot, _ = _more.class_targets(log_p, labels, where="FocalLoss")
            log_p = _red.sum(one_hot * log_p, 1)                             # (N, L)
            p = exp(log_p)
            if class_weight is not None:
                log_p = log_p * _red.sum(one_hot * class_weight, 1)
            loss = _red.mean(-((1 - p) ** self.gamma) * log_p, 1)              # (N,)
        else:
            labels = _shape.reshape(labels, (n, c, -1))
            p = exp(log_p)
            if class_weight is not None:
                log_p = log_p * class_weight
            loss = _red.mean(-((1 - p) ** self.gamma) * labels * log_p, -1)    # (N, C)
        return self.get_loss(loss)
