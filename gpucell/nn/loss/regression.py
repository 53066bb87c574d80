"""Robust regression losses: SmoothL1Loss and HuberLoss (quadratic near zero, linear beyond)."""

from __future__ import annotations

from gpucell.nn.loss.loss import LossBase
from gpucell.ops import loss_extra as _more

__all__ = ["HuberLoss", "SmoothL1Loss"]


class SmoothL1Loss(LossBase):
    """``0.5 * d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta``, for ``d = logits -
    labels`` (same shape and dtype). MindSpore's default ``reduction`` here is 'none'.

    >>> import gpucell as ms
    >>> ms.nn.SmoothL1Loss()(ms.Tensor([1.0, 2.0, 3.0]), ms.Tensor([1.0, 2.0, 2.0])).asnumpy()
    array([0. , 0. , 0.5], dtype=float32)
    """

    def __init__(self, beta=1.0, reduction="none"):
        super().__init__(reduction)
        self.beta = _more._positive("SmoothL1Loss", "beta", beta)

    def construct(self, logits, labels):
        return _more.smooth_l1(logits, labels, self.beta, self.reduction, "SmoothL1Loss")


class HuberLoss(LossBase):
    """``0.5 * d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``, for the broadcast
    ``d = logits - labels``.

    >>> import gpucell as ms
    >>> round(float(ms.nn.HuberLoss()(ms.Tensor([1.0, 2.0, 3.0]), ms.Tensor([1.0, 2.0, 2.0]))), 6)
    0.166667
    """

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = _more._positive("HuberLoss", "delta", delta)

    def construct(self, logits, labels):
        return _more.huber(logits, labels, self.reduction, self.delta, "HuberLoss")
