"""LAMB (You et al. 2019) as MindSpore's ``nn.Lamb`` computes it."""

from __future__ import annotations

from gpucell.nn.optim.adam import _AdamBase
from gpucell.ops._dispatch import apply
from gpucell.ops.optim_layerwise import LAMB_COEFFICIENTS, LAMB_UPDATE

__all__ = ["Lamb"]


class Lamb(_AdamBase):
    """Layer-wise Adaptive Moments (MindSpore's ``nn.Lamb``):

    ``m``, ``v`` as Adam; ``r = m_hat / (sqrt(v_hat) + eps) + weight_decay * p`` with the bias
    corrections ``m_hat = m / (1 - beta1^t)``, ``v_hat = v / (1 - beta2^t)`` (``t`` counts the steps,
    this one included, from ``global_step``); then ``p -= lr * trust * r`` per Parameter with
    ``trust = ||p|| / ||m_hat / sqrt(v_hat + eps) + weight_decay * p||`` (epsilon inside the root
    there, as MindSpore's kernel has it), 1 when either norm is zero, clipped to [0, 10]. Decay
    skips Parameters with ``beta`` or ``gamma`` in their names (without groups). No ``loss_scale``
    argument, as in MindSpore. State: ``lamb_m.<name>``, ``lamb_v.<name>``. A group's
    ``grad_centralization`` centralizes the raw gradient (MindSpore's Lamb decays inside the update).

    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> w = ms.Parameter(ms.Tensor([3.0, 4.0]), name="w")
    >>> opt = nn.Lamb([w], learning_rate=0.1)
    >>> _ = opt((ms.Tensor([1.0, 1.0]),))
    >>> w.asnumpy().round(4)  # r is about [1, 1]: the step is 0.1 * 5 / sqrt(2) per coordinate
    array([2.6464, 3.6464], dtype=float32)
    """

    _centralize_at = "before_decay"

    def __init__(self, params, learning_rate, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-6,
                 weight_decay: float = 0.0):
        super().__init__(learning_rate, params, weight_decay)
        self._setup(beta1, beta2, eps, (("moments1", "lamb_m"), ("moments2", "lamb_v")), LAMB_UPDATE, None)
        self._coefficient_attrs = {"beta1": self.beta1, "beta2": self.beta2}

    def _coefficients(self, lrs: list) -> list:
        step = self._global_step  # already advanced: t of this step
        return [apply(LAMB_COEFFICIENTS, lr, step, **self._coefficient_attrs) for lr in lrs]
