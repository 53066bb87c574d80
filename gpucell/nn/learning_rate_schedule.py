"""Learning-rate schedules: Cells that compute the learning rate from the step, on the device.

An optimizer given a schedule calls it with its ``global_step`` Parameter each step, so the rate
follows the step without a host read or a recompiled plan. Each built-in schedule is one op call.

>>> import gpucell as ms
>>> from gpucell import nn
>>> lr = nn.ExponentialDecayLR(0.1, 0.9, decay_steps=4)
>>> round(float(lr(ms.Tensor([8], ms.int32)).asnumpy()), 6)
0.081
"""

from __future__ import annotations

import numbers

from gpucell.nn.cell import Cell
from gpucell.ops._dispatch import apply
from gpucell.ops.optim import LR_AT, LR_SCHEDULE
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["LearningRateSchedule", "ExponentialDecayLR", "NaturalExpDecayLR", "InverseDecayLR",
           "CosineDecayLR", "PolynomialDecayLR", "WarmUpLR"]


def _float(where: str, arg: str, value, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"For '{where}', the '{arg}' must be a float, but got {value!r} with type "
                        f"'{type(value).__name__}'.")
    if (value <= 0) if positive else (value < 0):
        raise ValueError(f"For '{where}', the '{arg}' must be {'> 0' if positive else '>= 0'}, but got "
                         f"{value}.")
    return float(value)


def _int(where: str, arg: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"For '{where}', the '{arg}' must be an int, but got {value!r} with type "
                        f"'{type(value).__name__}'.")
    if value <= 0:
        raise ValueError(f"For '{where}', the '{arg}' must be > 0, but got {value}.")
    return int(value)


def _bool(where: str, arg: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"For '{where}', the '{arg}' must be a bool, but got {value!r} with type "
                        f"'{type(value).__name__}'.")
    return value


def _check_step(where: str, global_step) -> Tensor:
    if not isinstance(global_step, Tensor) or global_step.size != 1:
        raise TypeError(f"For '{where}', the 'global_step' must be a Tensor holding one step, but got "
                        f"{global_step!r:.80}.")
    return global_step


class LearningRateSchedule(Cell):
    """Base class: a Cell whose ``construct(global_step)`` returns the learning rate (a Tensor).

    Subclasses compute with ops, so the rate stays on the device.
    """

    def construct(self, global_step):
        raise NotImplementedError(f"For '{type(self).__name__}', a LearningRateSchedule must define "
                                  f"construct(self, global_step).")


class _Formula(LearningRateSchedule):
    """A built-in schedule: one LearningRateSchedule op with fixed attributes."""

    def __init__(self, kind: str, decay_steps: int, params: tuple, stair: bool = False,
                 clamp: bool = False, grow: bool = False):
        super().__init__()
        self._attrs = {"kind": kind, "decay_steps": decay_steps, "stair": stair, "clamp": clamp,
                       "grow": grow, "params": params}

    def construct(self, global_step):
        return apply(LR_SCHEDULE, _check_step(type(self).__name__, global_step), **self._attrs)


class _RateDecay(_Formula):
    """``(learning_rate, decay_rate, decay_steps, is_stair=False)``, with ``p = step / decay_steps``
    (floored if ``is_stair``)."""

    _kind = ""

    def __init__(self, learning_rate: float, decay_rate: float, decay_steps: int, is_stair: bool = False):
        where = type(self).__name__
        self.learning_rate = _float(where, "learning_rate", learning_rate)
        self.decay_rate = _float(where, "decay_rate", decay_rate)
        super().__init__(self._kind, _int(where, "decay_steps", decay_steps),
                         (self.learning_rate, self.decay_rate), stair=_bool(where, "is_stair", is_stair))


class ExponentialDecayLR(_RateDecay):
    """``learning_rate * decay_rate ** p`` with ``p = step / decay_steps`` (floored if ``is_stair``)."""

    _kind = "exponential"


class NaturalExpDecayLR(_RateDecay):
    """``learning_rate * exp(-decay_rate * p)`` with ``p = step / decay_steps`` (floored if ``is_stair``)."""

    _kind = "natural_exp"


class InverseDecayLR(_RateDecay):
    """``learning_rate / (1 + decay_rate * p)`` with ``p = step / decay_steps`` (floored if ``is_stair``)."""

    _kind = "inverse"


class CosineDecayLR(_Formula):
    """``min_lr + (max_lr - min_lr) * (1 + cos(pi * p)) / 2`` with ``p = min(step, decay_steps) / decay_steps``."""

    def __init__(self, min_lr: float, max_lr: float, decay_steps: int):
        where = type(self).__name__
        min_lr = _float(where, "min_lr", min_lr, positive=False)
        max_lr = _float(where, "max_lr", max_lr)
        if min_lr >= max_lr:
            raise ValueError(f"For '{where}', the 'min_lr' must be less than 'max_lr', but got min_lr="
                             f"{min_lr} and max_lr={max_lr}.")
        super().__init__("cosine", _int(where, "decay_steps", decay_steps), (min_lr, max_lr), clamp=True)


class PolynomialDecayLR(_Formula):
    """``(learning_rate - end_learning_rate) * (1 - p) ** power + end_learning_rate`` with
    ``p = min(step, decay_steps) / decay_steps``; with ``update_decay_steps`` the horizon grows to
    the next multiple of ``decay_steps`` instead of stopping."""

    def __init__(self, learning_rate: float, end_learning_rate: float, decay_steps: int, power: float,
                 update_decay_steps: bool = False):
        where = type(self).__name__
        super().__init__("polynomial", _int(where, "decay_steps", decay_steps),
                         (_float(where, "learning_rate", learning_rate),
                          _float(where, "end_learning_rate", end_learning_rate, positive=False),
                          _float(where, "power", power)),
                         clamp=True, grow=_bool(where, "update_decay_steps", update_decay_steps))


class WarmUpLR(_Formula):
    """``learning_rate * min(step, warmup_steps) / warmup_steps``."""

    def __init__(self, learning_rate: float, warmup_steps: int):
        where = type(self).__name__
        super().__init__("warmup", _int(where, "warmup_steps", warmup_steps),
                         (_float(where, "learning_rate", learning_rate),), clamp=True)


class _IteratorLearningRate(LearningRateSchedule):
    """A list of learning rates, one per step, held on the device; the last holds past the end."""

    def __init__(self, table: Tensor, name: str):
        super().__init__()
        self.learning_rate = Parameter(table, name=name, requires_grad=False)

    def construct(self, global_step):
        return apply(LR_AT, self.learning_rate, global_step)
