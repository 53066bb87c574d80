"""FTRL-Proximal as MindSpore computes it (ApplyFtrl)."""

from __future__ import annotations

from gpucell.nn.optim._for_each import ForEachOptimizer
from gpucell.nn.optim.optimizer import _check_number
from gpucell.ops._util import check_bool
from gpucell.ops.optim_adaptive import FTRL_UPDATE

__all__ = ["FTRL"]


class FTRL(ForEachOptimizer):
    """Follow The Regularized Leader (MindSpore's ``nn.FTRL``, McMahan et al. 2013):

    ``m' = m + g^2``, ``u += g - (m'^-p - m^-p) / lr * w``, then
    ``w = (sign(u) * l1 - u) / (m'^-p / lr + 2 * l2)`` where ``|u| > l1`` and ``w = 0`` elsewhere;
    ``p`` is ``lr_power`` (0: a fixed rate). ``g`` is the gradient divided by ``loss_scale`` plus
    ``weight_decay * w``; without groups the decay applies to every Parameter (also ``beta`` and
    ``gamma``), as in MindSpore's FTRL. The learning rate is one fixed float (no schedule, no group
    rates). State: ``moments.<name>`` (``m``, starting at ``initial_accum``) and ``linear.<name>``.

    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> w = ms.Parameter(ms.Tensor([0.0, 0.0]), name="w")
    >>> opt = nn.FTRL([w], initial_accum=0.0, learning_rate=1.0, l1=0.5)
    >>> _ = opt((ms.Tensor([2.0, 0.25]),))
    >>> w.asnumpy()  # u = g; |u| <= l1 stays at zero
    array([-0.75,  0.  ], dtype=float32)
    """

    def __init__(self, params, initial_accum: float = 0.1, learning_rate: float = 0.001, lr_power: float = -0.5,
                 l1: float = 0.0, l2: float = 0.0, use_locking: bool = False, loss_scale: float = 1.0,
                 weight_decay: float = 0.0):
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        where = type(self).__name__
        if self.dynamic_lr or self.is_group_lr:
            raise ValueError(f"For '{where}', dynamic learning rate and group learning rate are not supported, "
                             f"but got dynamic learning rate {self.dynamic_lr} and group learning rate "
                             f"{self.is_group_lr}.")
        _check_number(where, "learning_rate", learning_rate, strict=True)
        initial = _check_number(where, "initial_accum", initial_accum)
        self.lr_power = _check_number(where, "lr_power", lr_power, minimum=float("-inf"))
        if self.lr_power > 0.0:
            raise ValueError(f"For '{where}', the 'lr_power' must be <= 0.0, but got {self.lr_power}.")
        self.l1 = _check_number(where, "l1", l1)
        self.l2 = _check_number(where, "l2", l2)
        self.use_locking = check_bool(where, "use_locking", use_locking)
        if not self.is_group:
            self.group_weight_decay = (self.weight_decay,) * self.param_length
            self.decay_flags = (True,) * self.param_length
            self.exec_weight_decay = self.weight_decay > 0
        self.moments = self.parameters.clone(prefix="moments", init=initial)
        self.linear = self.parameters.clone(prefix="linear", init="zeros")
        self._prepare(FTRL_UPDATE, (self.moments, self.linear), l1=self.l1, l2=self.l2, lr_power=self.lr_power)
