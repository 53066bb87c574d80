"""Adagrad as MindSpore computes it (ApplyAdagrad)."""

from __future__ import annotations

from gpucell.nn.optim._for_each import ForEachOptimizer
from gpucell.nn.optim.optimizer import _check_number
from gpucell.ops._util import check_bool
from gpucell.ops.optim_adaptive import ADAGRAD_UPDATE

__all__ = ["Adagrad"]


class Adagrad(ForEachOptimizer):
    """Adagrad (MindSpore's ``nn.Adagrad``): ``h += g^2`` (when ``update_slots``), then
    ``p -= lr * g / sqrt(h)``, with ``h`` starting at ``accum`` and no epsilon, as ApplyAdagrad.

    ``g`` is the gradient divided by ``loss_scale`` plus ``weight_decay * p``. State:
    ``accum.<name>``.

    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> w = ms.Parameter(ms.Tensor([1.0, 2.0]), name="w")
    >>> opt = nn.Adagrad([w], accum=0.0, learning_rate=0.1)
    >>> _ = opt((ms.Tensor([2.0, -4.0]),))
    >>> w.asnumpy()
    array([0.9, 2.1], dtype=float32)
    """

    def __init__(self, params, accum: float = 0.1, learning_rate=0.001, update_slots: bool = True,
                 loss_scale: float = 1.0, weight_decay: float = 0.0):
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        where = type(self).__name__
        initial = _check_number(where, "accum", accum)
        self.update_slots = check_bool(where, "update_slots", update_slots)
        self.accum = self.parameters.clone(prefix="accum", init=initial)
        self._prepare(ADAGRAD_UPDATE, (self.accum,), update_slots=self.update_slots)
