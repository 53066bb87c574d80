"""RMSProp as MindSpore computes it (ApplyRMSProp / ApplyCenteredRMSProp)."""

from __future__ import annotations

from gpucell.nn.optim._for_each import ForEachOptimizer
from gpucell.nn.optim.optimizer import _check_number
from gpucell.ops._util import check_bool
from gpucell.ops.optim_adaptive import RMSPROP_UPDATE

__all__ = ["RMSProp"]


class RMSProp(ForEachOptimizer):
    """Root Mean Squared Propagation (MindSpore's ``nn.RMSProp``).

    ``s = decay * s + (1 - decay) * g^2``, ``m = momentum * m + lr * g / sqrt(s + epsilon)``,
    ``p -= m``: epsilon sits inside the square root, unlike PyTorch's ``sqrt(s) + eps``. With
    ``centered``, ``mg = decay * mg + (1 - decay) * g`` and the root is ``sqrt(s - mg^2 + epsilon)``.
    ``g`` is the gradient divided by ``loss_scale`` plus ``weight_decay * p``. State:
    ``mean_square.<name>`` (starts at one, as in MindSpore), ``moment.<name>`` and, when centered,
    ``mean_grad.<name>``.

    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> w = ms.Parameter(ms.Tensor([1.0, 2.0]), name="w")
    >>> opt = nn.RMSProp([w], learning_rate=0.1)
    >>> _ = opt((ms.Tensor([1.0, -1.0]),))
    >>> w.asnumpy().round(4)
    array([0.9, 2.1], dtype=float32)
    """

    def __init__(self, params, learning_rate=0.1, decay: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-10, use_locking: bool = False, centered: bool = False,
                 loss_scale: float = 1.0, weight_decay: float = 0.0):
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        where = type(self).__name__
        self.decay = _check_number(where, "decay", decay)
        self.momentum = _check_number(where, "momentum", momentum)
        self.epsilon = _check_number(where, "epsilon", epsilon, strict=True)
        self.use_locking = check_bool(where, "use_locking", use_locking)
        self.centered = check_bool(where, "centered", centered)
        self.ms = self.parameters.clone(prefix="mean_square", init="ones")
        self.moment = self.parameters.clone(prefix="moment", init="zeros")
        state = (self.ms, self.moment)
        if self.centered:
            self.mg = self.parameters.clone(prefix="mean_grad", init="zeros")
            state = (self.mg, *state)
        self._prepare(RMSPROP_UPDATE, state, decay=self.decay, momentum=self.momentum, epsilon=self.epsilon,
                      centered=self.centered)
