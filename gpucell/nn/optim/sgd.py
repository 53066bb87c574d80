"""SGD (momentum, dampening, Nesterov, weight decay) and Momentum, as MindSpore defines them."""

from __future__ import annotations

from gpucell.nn.optim._for_each import ForEachOptimizer
from gpucell.nn.optim.optimizer import _check_number
from gpucell.ops._util import check_bool
from gpucell.ops.optim import SGD_UPDATE

__all__ = ["SGD", "Momentum"]


class _MomentumUpdate(ForEachOptimizer):
    """Shared construct: one fused in-place SGD op for all the Parameters."""

    def _prepare_momentum(self, momentum: float, dampening: float, nesterov: bool, state: tuple) -> None:
        self._prepare(SGD_UPDATE, state, momentum=momentum, dampening=dampening, nesterov=nesterov)


class SGD(_MomentumUpdate):
    """Stochastic gradient descent, optionally with momentum (MindSpore's ``nn.SGD``).

    ``v = momentum * v + (1 - dampening) * g`` (``v = g`` on the first step), then
    ``p -= lr * (g + momentum * v)`` with ``nesterov``, else ``p -= lr * v``; without momentum
    ``p -= lr * g``. ``g`` includes ``weight_decay * p``. State: ``accum.<name>`` and ``stat.<name>``.
    A group's ``grad_centralization`` centralizes the gradient before the weight decay is added, as
    MindSpore's SGD kernel adds it.

    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> w = ms.Parameter(ms.Tensor([1.0, 2.0]), name="w")
    >>> opt = nn.SGD([w], learning_rate=0.1)
    >>> _ = opt((ms.Tensor([1.0, -1.0]),))
    >>> w.asnumpy()
    array([0.9, 2.1], dtype=float32)
    """

    _centralize_at = "before_decay"

    def __init__(self, params, learning_rate=0.1, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, loss_scale: float = 1.0):
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        where = type(self).__name__
        self.momentum = _check_number(where, "momentum", momentum)
        self.dampening = _check_number(where, "dampening", dampening)
        self.nesterov = check_bool(where, "nesterov", nesterov)
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError(f"For '{where}', nesterov needs momentum > 0 and dampening 0, but got "
                             f"momentum={self.momentum} and dampening={self.dampening}.")
        self.accum = self.parameters.clone(prefix="accum", init="zeros")
        self.stat = self.parameters.clone(prefix="stat", init="ones")
        # stat only matters with dampening: v starts at zero, so v = momentum * v + g is already g
        # on the first step when dampening is 0.
        state = () if self.momentum == 0.0 else (
            (self.accum, self.stat) if self.dampening else (self.accum,))
        self._prepare_momentum(self.momentum, self.dampening, self.nesterov, state)


class Momentum(_MomentumUpdate):
    """Momentum SGD (MindSpore's ``nn.Momentum``): ``v = momentum * v + g``, then
    ``p -= lr * (g + momentum * v)`` with ``use_nesterov``, else ``p -= lr * v``.

    ``g`` includes ``weight_decay * p``. State: ``moments.<name>``.
    """

    def __init__(self, params, learning_rate, momentum: float, weight_decay: float = 0.0,
                 loss_scale: float = 1.0, use_nesterov: bool = False):
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        where = type(self).__name__
        self.momentum = _check_number(where, "momentum", momentum)
        self.use_nesterov = check_bool(where, "use_nesterov", use_nesterov)
        self.moments = self.parameters.clone(prefix="moments", init="zeros")
        self._prepare_momentum(self.momentum, 0.0, self.use_nesterov, (self.moments,))
