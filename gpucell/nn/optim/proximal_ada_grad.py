"""ProximalAdagrad as MindSpore computes it (ApplyProximalAdagrad)."""

from __future__ import annotations

from gpucell.nn.optim._for_each import ForEachOptimizer
from gpucell.nn.optim.optimizer import _check_number
from gpucell.ops._util import check_bool
from gpucell.ops.optim_more import PROXIMAL_ADAGRAD_UPDATE

__all__ = ["ProximalAdagrad"]


class ProximalAdagrad(ForEachOptimizer):
    """Adagrad with an L1/L2 proximal step (MindSpore's ``nn.ProximalAdagrad``, Duchi & Singer 2009):

    ``accum += g^2``, ``r = lr / sqrt(accum)``, ``v = p - r * g``, then
    ``p = sign(v) * max(|v| - r * l1, 0) / (1 + r * l2)``: the shrinkage scales with the adaptive
    rate ``r``, as MindSpore's kernel computes it (its documentation writes ``lr``). ``g`` is the
    gradient divided by ``loss_scale`` plus ``weight_decay * p``. State: ``accum.<name>``, starting
    at ``accum``.

    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> w = ms.Parameter(ms.Tensor([1.0, 0.25]), name="w")
    >>> opt = nn.ProximalAdagrad([w], accum=0.0, learning_rate=0.1, l1=2.0)
    >>> _ = opt((ms.Tensor([1.0, 1.0]),))
    >>> w.asnumpy().round(4)  # r = 0.1 and r * l1 = 0.2: v = 0.9 shrinks to 0.7, v = 0.15 to zero
    array([0.7, 0. ], dtype=float32)
    """

    def __init__(self, params, accum: float = 0.1, learning_rate=0.001, l1: float = 0.0, l2: float = 0.0,
                 use_locking: bool = False, loss_scale: float = 1.0, weight_decay: float = 0.0):
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        where = type(self).__name__
        initial = _check_number(where, "accum", accum)
        self.l1 = _check_number(where, "l1", l1)
        self.l2 = _check_number(where, "l2", l2)
        self.use_locking = check_bool(where, "use_locking", use_locking)
        self.accum = self.parameters.clone(prefix="accum", init=initial)
        self._prepare(PROXIMAL_ADAGRAD_UPDATE, (self.accum,), l1=self.l1, l2=self.l2)
