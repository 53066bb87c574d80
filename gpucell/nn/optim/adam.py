"""Adam (MindSpore's, bias-corrected through beta powers on the device), AdamWeightDecay and AdamW."""

from __future__ import annotations

import numpy as np

from gpucell.nn.optim.optimizer import Optimizer, _check_number
from gpucell.ops._dispatch import apply
from gpucell.ops._util import check_bool
from gpucell.ops.optim import (
    ADAM_COEFFICIENTS,
    ADAM_UPDATE,
    ADAM_WEIGHT_DECAY_UPDATE,
    ADAMW_UPDATE,
    BETA_POWERS,
)
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["Adam", "AdamWeightDecay", "AdamW"]


def _check_beta(where: str, arg: str, value) -> float:
    value = _check_number(where, arg, value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"For '{where}', the '{arg}' must be in range (0.0, 1.0), but got {value}.")
    return value


class _AdamBase(Optimizer):
    """Two moments per Parameter and one fused update op for all the Parameters per step."""

    def _setup(self, beta1, beta2, eps, names: tuple, op, kind: str | None, amsgrad: bool = False,
               **extra) -> None:
        """``names``: (attribute, prefix) of the first and second moments; ``amsgrad`` adds the
        running maximum of the second moment, ``vhat.<name>``."""
        where = type(self).__name__
        self.beta1 = _check_beta(where, "beta1", beta1)
        self.beta2 = _check_beta(where, "beta2", beta2)
        self.eps = _check_number(where, "eps", eps, strict=True)
        (m_attr, m_prefix), (v_attr, v_prefix) = names
        m = self.parameters.clone(prefix=m_prefix, init="zeros")
        v = self.parameters.clone(prefix=v_prefix, init="zeros")
        setattr(self, m_attr, m)
        setattr(self, v_attr, v)
        self._op, self._kind = op, kind
        if kind is not None:
            # beta1 ** t and beta2 ** t, advanced in place each step: the bias correction never
            # reads the step count on the host.
            device = self.parameters[0].device
            self.beta1_power = Parameter(Tensor(np.ones(1, np.float32), device=device), name="beta1_power",
                                         requires_grad=False)
            self.beta2_power = Parameter(Tensor(np.ones(1, np.float32), device=device), name="beta2_power",
                                         requires_grad=False)
            self._powers_attrs = {"beta1": self.beta1, "beta2": self.beta2}
            self.__dict__["_powers"] = (self.beta1_power, self.beta2_power)
        self._moments = tuple(zip(m, v))
        if amsgrad:
            self.vhat = self.parameters.clone(prefix="vhat", init="zeros")
            self._extra_state = tuple((h,) for h in self.vhat)
        else:
            self._extra_state = ((),) * len(self._param_list)
        wds = self._update_weight_decay()
        per_param = tuple({"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps, "weight_decay": wds[i],
                           "scale": self.reciprocal_scale, **extra} for i in range(len(self._param_list)))
        self._attrs = {"width": 5 + int(amsgrad), "per_param": per_param}

    def _coefficients(self, lrs: list) -> list:
        """The per-step scalars each group's update reads (its learning rate when there is no bias
        correction); advances the beta powers."""
        kind = self._kind
        if kind is None:
            return lrs
        b1, b2 = self._powers
        apply(BETA_POWERS, b1, b2, **self._powers_attrs)
        return [apply(ADAM_COEFFICIENTS, lr, b1, b2, kind=kind) for lr in lrs]

    def construct(self, gradients):
        grads = self._gradients(gradients)
        lrs = self._coefficients(self._step_lrs())
        inputs = []
        for p, g, (m, v), lr, state in zip(self._param_list, grads, self._moments, self._lr_index,
                                           self._extra_state):
            inputs += (p, g, m, v, lrs[lr], *state)
        apply(self._op, *inputs, **self._attrs)
        return self._success


class Adam(_AdamBase):
    """Adam as MindSpore's ``nn.Adam`` computes it (``ApplyAdam``):

    ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g^2``,
    ``p -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)``; ``g`` includes
    ``weight_decay * p``. State: ``moment1.<name>``, ``moment2.<name>``, ``beta1_power``,
    ``beta2_power`` (``beta^t``, on the device). ``use_amsgrad``: ``vhat = max(vhat, v)`` divides
    instead of ``v`` (state ``vhat.<name>``; ``use_nesterov`` then has no effect, as in MindSpore).
    """

    def __init__(self, params, learning_rate=1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, use_locking: bool = False, use_nesterov: bool = False,
                 weight_decay: float = 0.0, loss_scale: float = 1.0, use_amsgrad: bool = False, **kwargs):
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        where = type(self).__name__
        self.use_locking = check_bool(where, "use_locking", use_locking)
        self.use_nesterov = check_bool(where, "use_nesterov", use_nesterov)
        self.use_amsgrad = check_bool(where, "use_amsgrad", use_amsgrad)
        unknown = sorted(set(kwargs) - {"use_lazy", "use_offload"})
        if unknown or any(kwargs.values()):
            raise ValueError(f"For '{where}', only use_lazy=False and use_offload=False are supported, but "
                             f"got {kwargs}.")
        # As in MindSpore, amsgrad runs ApplyAdamWithAmsgrad, which has no Nesterov variant.
        self._setup(beta1, beta2, eps, (("moment1", "moment1"), ("moment2", "moment2")), ADAM_UPDATE, "adam",
                    amsgrad=self.use_amsgrad, nesterov=self.use_nesterov and not self.use_amsgrad)


class AdamWeightDecay(_AdamBase):
    """MindSpore's ``nn.AdamWeightDecay``: Adam without bias correction and with decoupled decay,
    ``p -= lr * (m / (sqrt(v) + eps) + weight_decay * p)``. State: ``adam_m.<name>``, ``adam_v.<name>``.
    A group's ``grad_centralization`` is accepted and has no effect, as in MindSpore (whose
    AdamWeightDecay never calls gradients_centralization).
    """

    _centralize_at = None

    def __init__(self, params, learning_rate=1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-6, weight_decay: float = 0.0):
        super().__init__(learning_rate, params, weight_decay)
        self._setup(beta1, beta2, eps, (("moments1", "adam_m"), ("moments2", "adam_v")),
                    ADAM_WEIGHT_DECAY_UPDATE, None)


class AdamW(_AdamBase):
    """Adam with decoupled weight decay (Loshchilov & Hutter; ``torch.optim.AdamW``'s update):

    ``p *= 1 - lr * weight_decay``, then ``p -= lr * m_hat / (sqrt(v_hat) + eps)`` with the bias
    corrected ``m_hat = m / (1 - beta1^t)``, ``v_hat = v / (1 - beta2^t)``. State: ``moment1.<name>``,
    ``moment2.<name>``, ``beta1_power``, ``beta2_power``. With a group's ``grad_centralization``
    the gradient alone is centralized (the decay is decoupled from it, as in Lamb).
    """

    _centralize_at = "before_decay"

    def __init__(self, params, learning_rate=1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 1e-2, loss_scale: float = 1.0):
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        self._setup(beta1, beta2, eps, (("moment1", "moment1"), ("moment2", "moment2")), ADAMW_UPDATE,
                    "adamw")
