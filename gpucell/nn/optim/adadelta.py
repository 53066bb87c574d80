"""Adadelta as MindSpore computes it (ApplyAdadelta)."""

from __future__ import annotations

from gpucell.nn.optim._for_each import ForEachOptimizer
from gpucell.nn.optim.optimizer import _check_number
from gpucell.ops.optim_adaptive import ADADELTA_UPDATE

__all__ = ["Adadelta"]


class Adadelta(ForEachOptimizer):
    """Adadelta (MindSpore's ``nn.Adadelta``, Zeiler 2012):

    ``a = rho * a + (1 - rho) * g^2``, ``u = sqrt(d + epsilon) / sqrt(a + epsilon) * g``,
    ``d = rho * d + (1 - rho) * u^2``, ``p -= lr * u``. ``g`` is the gradient divided by
    ``loss_scale`` plus ``weight_decay * p``. State: ``accum.<name>`` (``a``) and
    ``accum_update.<name>`` (``d``), both starting at zero.

    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> w = ms.Parameter(ms.Tensor([1.0]), name="w")
    >>> opt = nn.Adadelta([w], rho=0.0, epsilon=0.0)
    >>> _ = opt((ms.Tensor([2.0]),))
    >>> w.asnumpy()  # with rho 0 and no accumulated update, the first step is zero
    array([1.], dtype=float32)
    """

    def __init__(self, params, learning_rate=1.0, rho: float = 0.9, epsilon: float = 1e-6,
                 loss_scale: float = 1.0, weight_decay: float = 0.0):
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        where = type(self).__name__
        self.rho = _check_number(where, "rho", rho)
        if self.rho > 1.0:
            raise ValueError(f"For '{where}', the 'rho' must be in range [0.0, 1.0], but got {self.rho}.")
        self.epsilon = _check_number(where, "epsilon", epsilon)
        self.accum = self.parameters.clone(prefix="accum", init="zeros")
        self.accum_update = self.parameters.clone(prefix="accum_update", init="zeros")
        self._prepare(ADADELTA_UPDATE, (self.accum, self.accum_update), rho=self.rho, epsilon=self.epsilon)
