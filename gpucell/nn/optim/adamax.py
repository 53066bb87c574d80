"""AdaMax as MindSpore computes it (ApplyAdaMax), bias-corrected through ``beta1_power`` on the device."""

from __future__ import annotations

import numpy as np

from gpucell.nn.optim._for_each import ForEachOptimizer
from gpucell.nn.optim.adam import _check_beta
from gpucell.nn.optim.optimizer import _check_number
from gpucell.ops._dispatch import apply
from gpucell.ops.optim_more import ADAMAX_UPDATE, BIAS_CORRECTED_RATE, POWER_STEP
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["AdaMax"]


class AdaMax(ForEachOptimizer):
    """AdaMax, Adam's infinity-norm variant (MindSpore's ``nn.AdaMax``, Kingma & Ba 2015):

    ``m = beta1 * m + (1 - beta1) * g``, ``v = max(beta2 * v, |g|)``,
    ``p -= lr / (1 - beta1^t) * m / (v + eps)``. ``g`` is the gradient divided by ``loss_scale``
    plus ``weight_decay * p`` (not for ``beta`` / ``gamma`` Parameters unless grouped). State:
    ``moment1.<name>``, ``moment2.<name>`` and ``beta1_power`` (``beta1^t``, on the device).

    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> w = ms.Parameter(ms.Tensor([1.0, 2.0]), name="w")
    >>> opt = nn.AdaMax([w], learning_rate=0.1)
    >>> _ = opt((ms.Tensor([2.0, -4.0]),))
    >>> w.asnumpy().round(4)  # the first step moves each coordinate by lr against the gradient's sign
    array([0.9, 2.1], dtype=float32)
    """

    def __init__(self, params, learning_rate=0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-08,
                 weight_decay: float = 0.0, loss_scale: float = 1.0):
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        where = type(self).__name__
        self.beta1 = _check_beta(where, "beta1", beta1)
        self.beta2 = _check_beta(where, "beta2", beta2)
        self.eps = _check_number(where, "eps", eps, strict=True)
        self.beta1_power = Parameter(Tensor(np.ones(1, np.float32), device=self.parameters[0].device),
                                     name="beta1_power", requires_grad=False)
        self.__dict__["_power"] = self.beta1_power
        self.moment1 = self.parameters.clone(prefix="moment1", init="zeros")
        self.moment2 = self.parameters.clone(prefix="moment2", init="zeros")
        self._prepare(ADAMAX_UPDATE, (self.moment1, self.moment2), beta1=self.beta1, beta2=self.beta2, eps=self.eps)

    def _step_lrs(self) -> list:
        """Each group's step size for this step, ``lr / (1 - beta1^t)``; advances ``global_step`` and
        ``beta1_power`` (after the gradients were checked, so a refused call changes nothing)."""
        lrs = super()._step_lrs()
        power = self._power
        apply(POWER_STEP, power, base=self.beta1)
        return [apply(BIAS_CORRECTED_RATE, lr, power) for lr in lrs]
