"""LARS (You et al. 2017): layer-wise rescaled gradients handed to another optimizer, as MindSpore's
``nn.LARS`` wraps one."""

from __future__ import annotations

import numpy as np

from gpucell.nn.optim.optimizer import Optimizer, _check_number
from gpucell.ops._dispatch import apply
from gpucell.ops._util import check_bool
from gpucell.ops.optim_layerwise import LARS_UPDATE
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["LARS"]


class _DefaultFilter:
    """MindSpore's default ``lars_filter``: no LARS for LayerNorm and bias Parameters (a class, so
    that the signature prints the same everywhere)."""

    def __call__(self, x: Parameter) -> bool:
        return "LayerNorm" not in x.name and "bias" not in x.name

    def __repr__(self) -> str:
        return "lambda x: 'LayerNorm' not in x.name and 'bias' not in x.name"


_default_filter = _DefaultFilter()


def _hand_over(where: str, optimizer: Optimizer) -> None:
    """Takes weight decay and loss scaling away from ``optimizer``: LARS applies both to the
    gradients it hands on (MindSpore clears the wrapped optimizer's decay flags and scale too)."""
    attrs = getattr(optimizer, "_attrs", None)
    if not isinstance(attrs, dict) or "per_param" not in attrs:
        raise TypeError(f"For '{where}', the 'optimizer' must be one of gpucell's optimizers with a fused "
                        f"update, but got {type(optimizer).__name__}.")
    reset = {"weight_decay": 0.0, "scale": 1.0}
    optimizer._attrs = {**attrs, "per_param": tuple({k: reset.get(k, v) for k, v in a.items()}
                                                    for a in attrs["per_param"])}
    optimizer.group_weight_decay = (0.0,) * optimizer.param_length
    optimizer.decay_flags = (False,) * optimizer.param_length
    optimizer.exec_weight_decay = False
    optimizer.reciprocal_scale = 1.0


class LARS(Optimizer):
    """Layer-wise Adaptive Rate Scaling around another optimizer (MindSpore's ``nn.LARS``).

    For each Parameter ``w`` that ``lars_filter`` keeps (by default: no ``LayerNorm`` or ``bias`` in
    its name), the gradient ``g`` (divided by the wrapped optimizer's ``loss_scale``) becomes
    ``coeff * (g + wd * w)`` with ``coeff = coefficient * ||w|| / (||g|| + wd * ||w|| + epsilon)``;
    with ``use_clip``, ``coeff = clip(coeff / lr, 0, 1)``, ``lr`` the wrapped optimizer's rate of
    this step. ``wd`` is the wrapped optimizer's weight decay, which LARS takes over (the wrapped
    optimizer then applies none; filtered-out Parameters get no decay at all, as in MindSpore). The
    new gradients go to the wrapped optimizer, which updates the Parameters and the step count.

    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> w = ms.Parameter(ms.Tensor([3.0, 4.0]), name="w")
    >>> opt = nn.LARS(nn.SGD([w], learning_rate=1.0), epsilon=0.0, coefficient=0.1)
    >>> _ = opt((ms.Tensor([0.0, 10.0]),))
    >>> w.asnumpy()  # coeff = 0.1 * 5 / 10: the step is 0.05 * g
    array([3. , 3.5], dtype=float32)
    """

    def __init__(self, optimizer, epsilon: float = 1e-05, coefficient: float = 0.001, use_clip: bool = False,
                 lars_filter=_default_filter):
        where = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"For '{where}', the 'optimizer' must be a gpucell.nn.Optimizer, but got "
                            f"{type(optimizer).__name__}.")
        super().__init__(0.0, optimizer.parameters)
        self.epsilon = _check_number(where, "epsilon", epsilon)
        self.coefficient = _check_number(where, "coefficient", coefficient)
        self.use_clip = check_bool(where, "use_clip", use_clip)
        if not callable(lars_filter):
            raise TypeError(f"For '{where}', the 'lars_filter' must be callable, but got "
                            f"{type(lars_filter).__name__}.")
        if self.use_clip and optimizer.is_group_lr and optimizer.dynamic_lr:
            raise ValueError(f"For '{where}', if the argument 'use_clip' is set to True, then the dynamic "
                             f"learning rate and group learning rate cannot both be true.")
        self.lars_flag = tuple(bool(lars_filter(p)) for p in self.parameters)
        wds = optimizer.group_weight_decay
        scale = optimizer.reciprocal_scale
        self.opt = optimizer
        # The wrapped optimizer's step count and rate are this optimizer's.
        self.learning_rate = Parameter(Tensor(np.float32(0.0), device=optimizer.global_step.device),
                                       name="fake_lr", requires_grad=False)
        self.global_step = optimizer.global_step
        self.__dict__["_global_step"] = optimizer.global_step
        self._lr_sources = optimizer._lr_sources
        self._lr_index = optimizer._lr_index
        self.dynamic_lr = optimizer.dynamic_lr
        self.is_group_lr = optimizer.is_group_lr
        self.weight_decay = optimizer.weight_decay
        self.loss_scale = optimizer.loss_scale
        self.reciprocal_scale = scale
        self.decay_flags = optimizer.decay_flags
        # Only the Parameters whose gradient changes go through the op (a filtered-out gradient
        # at scale 1 is handed on as it is).
        self._changed = tuple(i for i, flag in enumerate(self.lars_flag) if flag or scale != 1.0)
        per_param = tuple({"weight_decay": wds[i], "coefficient": self.coefficient, "epsilon": self.epsilon,
                           "use_clip": self.use_clip, "scale": scale, "lars": self.lars_flag[i]}
                          for i in self._changed)
        self._attrs = {"width": 3 if self.use_clip else 2, "per_param": per_param}
        _hand_over(where, optimizer)

    def get_lr(self):
        """The wrapped optimizer's learning rate for the next step."""
        return self.opt.get_lr()

    def construct(self, gradients):
        grads = list(self._check_grads(gradients))
        if self._changed:
            if self.use_clip:
                step = self._global_step
                lrs = [s if type(s) is Parameter else s(step) for s in self._lr_sources]
            inputs = []
            for i in self._changed:
                inputs += (self._param_list[i], grads[i])
                if self.use_clip:
                    inputs.append(lrs[self._lr_index[i]])
            for i, g in zip(self._changed, apply(LARS_UPDATE, *inputs, **self._attrs)):
                grads[i] = g
        return self.opt(tuple(grads))
