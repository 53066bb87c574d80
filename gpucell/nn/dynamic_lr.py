"""MindSpore's dynamic learning rates: lists with one rate per step, to pass as ``learning_rate``.

The optimizer keeps the list on the device and picks entry ``global_step`` each step.

>>> from gpucell import nn
>>> nn.exponential_decay_lr(0.1, 0.9, total_step=6, step_per_epoch=2, decay_epoch=1)
[0.1, 0.1, 0.09000000000000001, 0.09000000000000001, 0.08100000000000002, 0.08100000000000002]
"""

from __future__ import annotations

import math

from gpucell.nn.learning_rate_schedule import _bool, _float, _int

__all__ = ["piecewise_constant_lr", "exponential_decay_lr", "natural_exp_decay_lr", "inverse_decay_lr",
           "cosine_decay_lr", "polynomial_decay_lr", "warmup_lr"]


def _steps(where: str, total_step, step_per_epoch, decay_epoch, name: str = "decay_epoch"):
    return (_int(where, "total_step", total_step), _int(where, "step_per_epoch", step_per_epoch),
            _int(where, name, decay_epoch))


def _decay(where: str, learning_rate, decay_rate, total_step, step_per_epoch, decay_epoch, is_stair):
    """The checked arguments of the three rate-decay functions."""
    return (_float(where, "learning_rate", learning_rate), _float(where, "decay_rate", decay_rate),
            *_steps(where, total_step, step_per_epoch, decay_epoch), _bool(where, "is_stair", is_stair))


def _per_step(total: int, per_epoch: int, decay: int, stair: bool, rate_of) -> list[float]:
    """``rate_of(p)`` for each step, ``p = epoch / decay`` (floored when ``stair``)."""
    out = []
    for i in range(total):
        p = (i // per_epoch) / decay
        out.append(rate_of(math.floor(p) if stair else p))
    return out


def piecewise_constant_lr(milestone, learning_rates) -> list[float]:
    """``learning_rates[i]`` for the steps before ``milestone[i]`` (increasing ints).

    >>> piecewise_constant_lr([2, 5], [0.1, 0.05])
    [0.1, 0.1, 0.05, 0.05, 0.05]
    """
    where = "piecewise_constant_lr"
    if not isinstance(milestone, (list, tuple)) or not isinstance(learning_rates, (list, tuple)):
        raise TypeError(f"For '{where}', 'milestone' and 'learning_rates' must be lists, but got "
                        f"{type(milestone).__name__} and {type(learning_rates).__name__}.")
    if len(milestone) != len(learning_rates):
        raise ValueError(f"For '{where}', 'milestone' ({len(milestone)}) and 'learning_rates' "
                         f"({len(learning_rates)}) must have the same length.")
    out: list[float] = []
    last = 0
    for m, lr in zip(milestone, learning_rates):
        m = _int(where, "milestone", m)
        if m <= last:
            raise ValueError(f"For '{where}', 'milestone' must be strictly increasing, but got {milestone}.")
        out += [_float(where, "learning_rates", lr, positive=False)] * (m - last)
        last = m
    return out


def exponential_decay_lr(learning_rate, decay_rate, total_step, step_per_epoch, decay_epoch,
                         is_stair=False) -> list[float]:
    """``learning_rate * decay_rate ** (epoch / decay_epoch)`` per step (floored when ``is_stair``)."""
    lr, rate, total, per_epoch, decay, stair = _decay("exponential_decay_lr", learning_rate, decay_rate, total_step,
                                                      step_per_epoch, decay_epoch, is_stair)
    return _per_step(total, per_epoch, decay, stair, lambda p: lr * rate ** p)


def natural_exp_decay_lr(learning_rate, decay_rate, total_step, step_per_epoch, decay_epoch,
                         is_stair=False) -> list[float]:
    """``learning_rate * e ** (-decay_rate * epoch)`` per step; with ``is_stair`` the epoch is rounded
    down to a multiple of ``decay_epoch`` (MindSpore's formula)."""
    lr, rate, total, per_epoch, decay, stair = _decay("natural_exp_decay_lr", learning_rate, decay_rate, total_step,
                                                      step_per_epoch, decay_epoch, is_stair)
    out = []
    for i in range(total):
        epoch = i // per_epoch
        out.append(lr * math.e ** (-rate * (epoch // decay * decay if stair else epoch)))
    return out


def inverse_decay_lr(learning_rate, decay_rate, total_step, step_per_epoch, decay_epoch,
                     is_stair=False) -> list[float]:
    """``learning_rate / (1 + decay_rate * epoch / decay_epoch)`` per step (floored when ``is_stair``)."""
    lr, rate, total, per_epoch, decay, stair = _decay("inverse_decay_lr", learning_rate, decay_rate, total_step,
                                                      step_per_epoch, decay_epoch, is_stair)
    return _per_step(total, per_epoch, decay, stair, lambda p: lr / (1 + rate * p))


def cosine_decay_lr(min_lr, max_lr, total_step, step_per_epoch, decay_epoch) -> list[float]:
    """``min_lr + (max_lr - min_lr) * (1 + cos(pi * min(epoch, decay_epoch) / decay_epoch)) / 2``."""
    where = "cosine_decay_lr"
    low, high = _float(where, "min_lr", min_lr, positive=False), _float(where, "max_lr", max_lr)
    if low >= high:
        raise ValueError(f"For '{where}', the 'min_lr' must be less than 'max_lr', but got min_lr={low} "
                         f"and max_lr={high}.")
    total, per_epoch, decay = _steps(where, total_step, step_per_epoch, decay_epoch)
    delta = 0.5 * (high - low)
    return [low + delta * (1 + math.cos(math.pi * min(i // per_epoch, decay) / decay))
            for i in range(total)]


def polynomial_decay_lr(learning_rate, end_learning_rate, total_step, step_per_epoch, decay_epoch, power,
                        update_decay_epoch=False) -> list[float]:
    """``(learning_rate - end) * (1 - min(epoch, decay_epoch) / decay_epoch) ** power + end``; with
    ``update_decay_epoch`` the horizon grows to the next multiple of ``decay_epoch`` instead."""
    where = "polynomial_decay_lr"
    lr = _float(where, "learning_rate", learning_rate)
    end = _float(where, "end_learning_rate", end_learning_rate, positive=False)
    power = _float(where, "power", power)
    total, per_epoch, decay = _steps(where, total_step, step_per_epoch, decay_epoch)
    grow = _bool(where, "update_decay_epoch", update_decay_epoch)
    out = []
    for i in range(total):
        epoch = i // per_epoch
        horizon = decay * max(math.ceil(epoch / decay), 1) if grow else decay
        out.append((lr - end) * (1 - min(epoch, horizon) / horizon) ** power + end)
    return out


def warmup_lr(learning_rate, total_step, step_per_epoch, warmup_epoch) -> list[float]:
    """``learning_rate * min(epoch, warmup_epoch) / warmup_epoch`` per step (0 in the first epoch)."""
    where = "warmup_lr"
    lr = _float(where, "learning_rate", learning_rate)
    total, per_epoch, warmup = _steps(where, total_step, step_per_epoch, warmup_epoch, "warmup_epoch")
    return [lr * min(i // per_epoch, warmup) / warmup for i in range(total)]
