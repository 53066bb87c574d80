"""Resilient backpropagation as MindSpore's ``nn.Rprop`` computes it."""

from __future__ import annotations

from gpucell.nn.optim._for_each import ForEachOptimizer
from gpucell.nn.optim.optimizer import _check_number
from gpucell.ops.optim_more import RPROP_UPDATE

__all__ = ["Rprop"]


def _pair(where: str, arg: str, value) -> tuple:
    if not isinstance(value, tuple):
        raise TypeError(f"For '{where}', the '{arg}' must be a tuple, but got {type(value).__name__}.")
    if len(value) != 2:
        raise ValueError(f"For '{where}', the '{arg}' must be a tuple of 2 floats, but got {len(value)} elements.")
    return value


class Rprop(ForEachOptimizer):
    """Resilient backpropagation (MindSpore's ``nn.Rprop``, Riedmiller & Braun 1993).

    Each coordinate has its own step size, ``lr`` at the first step. Where the gradient kept its
    sign since the last step the size grows by ``etaplus``, where it flipped it shrinks by
    ``etaminus`` (and that coordinate does not move this step), clipped to ``step_sizes``; then
    ``p -= sign(g) * size``. ``g`` includes ``weight_decay * p``; no ``loss_scale``, as in MindSpore.
    State: ``prev.<name>`` (the last gradient, zero where it flipped) and ``step_size.<name>``.

    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> w = ms.Parameter(ms.Tensor([0.0, 0.0]), name="w")
    >>> opt = nn.Rprop([w], learning_rate=0.1)
    >>> for g in ([1.0, 1.0], [3.0, -1.0]):
    ...     _ = opt((ms.Tensor(g),))
    >>> w.asnumpy().round(4)  # the second step: 0.12 where the sign held, no move where it flipped
    array([-0.22, -0.1 ], dtype=float32)
    """

    def __init__(self, params, learning_rate=0.1, etas: tuple = (0.5, 1.2), step_sizes: tuple = (1e-6, 50.0),
                 weight_decay: float = 0.0):
        super().__init__(learning_rate, params, weight_decay)
        where = type(self).__name__
        etaminus, etaplus = _pair(where, "etas", etas)
        low, high = _pair(where, "step_sizes", step_sizes)
        free = float("-inf")
        self.etaminus = _check_number(where, "etaminus", etaminus, minimum=free)
        self.etaplus = _check_number(where, "etaplus", etaplus, minimum=free)
        self.step_size_min = _check_number(where, "min_step_sizes", low, minimum=free)
        self.step_size_max = _check_number(where, "max_step_sizes", high, minimum=free)
        if not 0.0 < self.etaminus < 1.0:
            raise ValueError(f"For '{where}', the 'etaminus' must be in range (0.0, 1.0), but got {self.etaminus}.")
        if self.etaplus <= 1.0:
            raise ValueError(f"For '{where}', the 'etaplus' must be greater than 1.0, but got {self.etaplus}.")
        if self.step_size_min > self.step_size_max:
            raise ValueError(f"For '{where}', the maximal step size must not be less than the minimal step size, "
                             f"but got step_sizes {step_sizes}.")
        self.prev = self.parameters.clone(prefix="prev", init="zeros")
        self.step_size = self.parameters.clone(prefix="step_size", init="zeros")
        step = (self.global_step,) * self.param_length  # the first step starts every size at lr
        self._prepare(RPROP_UPDATE, (self.prev, self.step_size, step), etaminus=self.etaminus, etaplus=self.etaplus,
                      min_step=self.step_size_min, max_step=self.step_size_max)
