"""Averaged SGD as MindSpore's ``nn.ASGD`` computes it."""

from __future__ import annotations

import numpy as np

from gpucell.nn.optim._for_each import ForEachOptimizer
from gpucell.nn.optim.optimizer import _check_number
from gpucell.ops.optim_more import ASGD_UPDATE
from gpucell.parameter import Parameter, ParameterTuple
from gpucell.tensor import Tensor

__all__ = ["ASGD"]


def _scalars(params, prefix: str, value: float) -> ParameterTuple:
    """One float32 scalar Parameter per Parameter, named ``<prefix><name>`` as MindSpore names them."""
    return ParameterTuple(Parameter(Tensor(np.asarray(value, np.float32), device=p.device), name=f"{prefix}{p.name}",
                                    requires_grad=False) for p in params)


class ASGD(ForEachOptimizer):
    """Averaged Stochastic Gradient Descent (MindSpore's ``nn.ASGD``, Polyak & Juditsky 1992).

    With ``t`` the step (``global_step``, this step included) and ``eta`` starting at ``lr``:
    ``p = p * (1 - lambd * eta) - eta * g``; the average ``ax`` becomes ``p`` while ``mu`` is 1, else
    ``ax += (p - ax) * mu``; then ``eta = lr / (1 + lambd * lr * t)^alpha`` and
    ``mu = 1 / max(1, t - t0)`` for the next step. ``g`` includes ``weight_decay * p``; no
    ``loss_scale``, as in MindSpore. State: ``eta_<name>``, ``mu_<name>`` (float32 scalars) and
    ``ax_.<name>``, the averaged Parameter.

    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> w = ms.Parameter(ms.Tensor([1.0, 2.0]), name="w")
    >>> opt = nn.ASGD([w], learning_rate=0.1, lambd=0.0)
    >>> _ = opt((ms.Tensor([1.0, -1.0]),))
    >>> w.asnumpy(), opt.ax[0].asnumpy()  # the first step is plain SGD; the average follows (t0 ahead)
    (array([0.9, 2.1], dtype=float32), array([0.9, 2.1], dtype=float32))
    """

    def __init__(self, params, learning_rate=0.1, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0.0):
        super().__init__(learning_rate, params, weight_decay)
        where = type(self).__name__
        free = float("-inf")  # MindSpore checks only that these are floats
        self.lambd = _check_number(where, "lambd", lambd, minimum=free)
        self.alpha = _check_number(where, "alpha", alpha, minimum=free)
        self.t0 = _check_number(where, "t0", t0, minimum=free)
        self.eta = _scalars(self.parameters, "eta_", 0.0)
        self.mu = _scalars(self.parameters, "mu_", 1.0)
        self.ax = self.parameters.clone(prefix="ax_", init="zeros")
        step = (self.global_step,) * self.param_length  # read by every Parameter's update: t
        self._prepare(ASGD_UPDATE, (self.eta, self.mu, self.ax, step), lambd=self.lambd, alpha=self.alpha,
                      t0=self.t0)
